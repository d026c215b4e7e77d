"""申请延时 names a real certificate or entrustment (a nonexistent one is refused beside the field) and an
approved delay moves its due date: the entrustment shows the new date, the next request starts from it."""

from __future__ import annotations

from datetime import date

from conftest import run
from factories import as_user, entrustment_async


def _entrustment(clerk: dict, requested: date) -> dict:
    from metrolab.business.tables import Entrustment

    e = run(entrustment_async(as_user(clerk, "clerk"), ("SN-DUE-1",)))
    run(
        Entrustment.update({Entrustment.requested_date: requested}).where(Entrustment.id == e["id"])
    )
    return e


def test_delay_needs_a_real_subject_and_moves_the_due_date(browser, new_browser, make_user):
    from metrolab.workflows.tables import DelayRequest

    clerk, manager = make_user("clerk"), make_user("tech_manager")
    e = _entrustment(clerk, date(2026, 12, 10))
    browser.login(clerk)
    typed = {"due_date": "2026-01-01", "new_due_date": "2026-12-20", "reason": "标准器送检未归"}

    bad = browser.post("/delays", data={**typed, "subject": "JD2026-99999"})
    assert bad.status_code == 400 and "没有编号为“JD2026-99999”的证书或委托单" in bad.text
    assert "标准器送检未归" in bad.text  # typed values kept
    api = browser.post("/api/v1/delays", json={**typed, "subject": "WT-NOPE"})
    assert api.status_code == 400 and "WT-NOPE" in api.text
    assert run(DelayRequest.count()) == 0

    made = browser.post("/delays", data={**typed, "subject": e["number"]}, follow_redirects=False)
    assert made.status_code == 303, made.text
    row = run(DelayRequest.select().first())
    assert row["due_date"] == date(2026, 12, 10)  # the entrustment's, not what was typed
    boss = new_browser().login(manager)
    approve = boss.post(
        f"/delays/{row['id']}/approve", data={"password": "secret-pass-1"}, follow_redirects=False
    )
    assert approve.status_code == 303
    page = browser.get(f"/entrustments/{e['id']}").text
    assert "2026-12-20" in page and "原 2026-12-10" in page

    # the next request starts from the moved date: asking for a date before it is refused
    again = browser.post(
        "/delays", data={**typed, "subject": e["number"], "new_due_date": "2026-12-15"}
    )
    assert again.status_code == 400 and "申请完成日期必须晚于原应完成日期" in again.text
