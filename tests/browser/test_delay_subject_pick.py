"""申请延时 picks its subject from what matches the search (like 委托单位 on the entrustment): typing
part of a number or the customer's name lists the certificates and entrustments; a click picks
one (its due date filled); a typed text that was never picked is refused beside the field."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import run, ui_login

pytestmark = pytest.mark.browser


def test_delay_subject_is_picked_from_the_search(page, make_user):
    from factories import as_user, entrustment_async
    from metrolab.business.tables import Entrustment
    from metrolab.workflows.tables import DelayRequest

    clerk = make_user("clerk", full_name="业务员小王")
    e = run(entrustment_async(as_user(clerk, "clerk"), ("SN-PICK-1",)))
    run(
        Entrustment.update({Entrustment.requested_date: date(2026, 12, 10)}).where(
            Entrustment.id == e["id"]
        )
    )
    ui_login(page, clerk)
    page.goto("/delays")
    search = page.locator("#subject-search")
    assert page.locator("input[name=subject]").get_attribute("type") == "hidden"

    # typed, never picked: refused beside the field, what was typed kept
    search.press_sequentially("WT-NOPE")
    page.locator("textarea[name=reason]").press_sequentially("标准器送检未归")
    page.locator("input[name=due_date]").fill("2026-12-01")
    page.locator("input[name=new_due_date]").fill("2026-12-20")
    page.locator("form[action='/delays'][method=post] button[type=submit]").click()
    page.locator("#subject-picker .ml-error", has_text="请查找并选择").wait_for()
    assert page.locator("#subject-search").input_value() == "WT-NOPE"
    assert run(DelayRequest.count()) == 0

    # picked by the customer's name
    search = page.locator("#subject-search")
    search.fill("")
    search.press_sequentially("大淑村")
    choice = page.locator("#subject-suggestions button", has_text=e["number"])
    choice.click()
    assert page.locator("input[name=subject]").input_value() == e["number"]
    assert page.locator("input[name=due_date]").input_value() == "2026-12-10"
    page.locator("input[name=new_due_date]").fill("2026-12-20")
    with page.expect_navigation():
        page.locator("form[action='/delays'][method=post] button[type=submit]").click()
    row = run(DelayRequest.select().first())
    assert row["subject"] == e["number"] and row["due_date"] == date(2026, 12, 10)
    page.goto("/delays")
    page.locator("#subject-search").press_sequentially(e["number"][-4:])
    page.locator("#subject-suggestions button").first.wait_for()
    page.screenshot(path="/tmp/delay-pick.png")
