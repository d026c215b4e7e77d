"""Times are stored in UTC and read in the lab's zone (Asia/Shanghai): a certificate approved at
07:30 in Beijing — 23:30 UTC the day before — is dated the Beijing day, and every page shows the
same clock time (the audit page used to add 8 h by hand while the others showed UTC)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from conftest import run

BEIJING_MORNING = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2026-03-02 07:30 in Beijing


def test_a_stored_time_is_the_lab_day_and_clock():
    from metrolab.certificates.context import _date
    from metrolab.kernel.clock import local, local_date

    assert local_date(BEIJING_MORNING) == date(2026, 3, 2)
    assert _date(BEIJING_MORNING) == date(2026, 3, 2)  # what a certificate prints
    assert local(BEIJING_MORNING).strftime("%Y-%m-%d %H:%M") == "2026-03-02 07:30"
    assert local(None) is None and local("") == ""


def test_templates_show_stored_times_in_the_lab_zone():
    from metrolab.engine.documents.render import to_plain
    from metrolab.web.templating import make_environment

    env = make_environment()
    shown = env.from_string("{{ (at|local).strftime('%Y-%m-%d %H:%M') }}").render(
        at=BEIJING_MORNING
    )
    assert shown == "2026-03-02 07:30"
    iso = env.from_string("{{ at|local_time }}").render(at="2026-03-01T23:30:05+00:00")
    assert iso == "2026-03-02 07:30:05"  # a signature's timestamp, as pyHanko reports it
    assert to_plain(BEIJING_MORNING)["iso"] == "2026-03-02"


def test_the_audit_page_shows_the_lab_clock(db, browser, new_browser, make_user):
    """What the clerk did is on the 审计日志 at the Beijing minute it was done."""
    from metrolab.audit.tables import AuditEvent

    browser.login(make_user("clerk"))
    r = browser.post("/customers", data={"name": "时钟测试客户"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    browser = new_browser().login(make_user("admin"))
    at = run(AuditEvent.select(AuditEvent.at).order_by(AuditEvent.id, ascending=False).first())[
        "at"
    ]
    beijing = at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert at.astimezone().utcoffset().total_seconds() == 8 * 3600
    page = browser.get("/audit").text
    assert re.search(re.escape(beijing) + r":\d\d", page), (beijing, page[-3000:])
