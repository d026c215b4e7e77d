"""The home page 我的检定任务 costs three queries at most, however many counters a person sees:
the session with its user and roles in one, every counter in one (issue 15)."""

from __future__ import annotations

import json

from metrolab.paths import data_folder
from metrolab.piccolo_conf import DB


def test_the_home_page_asks_the_database_at_most_three_times(browser, make_user, monkeypatch):
    roles = [
        r["key"] for r in json.loads((data_folder("seed_data") / "roles.json").read_text())["roles"]
    ]
    browser.login(make_user(*roles))  # every role: every counter on the page
    asked: list[str] = []
    engine = type(DB)
    original = engine.run_querystring

    async def counting(self, querystring, in_pool=True):  # type: ignore[no-untyped-def]
        asked.append(str(querystring)[:120])
        return await original(self, querystring, in_pool=in_pool)

    monkeypatch.setattr(engine, "run_querystring", counting)
    home = browser.get("/home")
    assert home.status_code == 200 and "待批准" in home.text and "待审核证书模板" in home.text
    assert len(asked) <= 3, "\n".join(asked)


def test_the_counts_are_fresh_on_every_visit_though_the_statement_is_kept(browser, make_user):
    """The counters' statement is made once per person and day; what it counts is asked anew."""
    from datetime import date, timedelta

    from conftest import run
    from metrolab.accounts.tables import Qualification

    user = make_user("verifier")
    browser.login(user)

    def expiring() -> int:
        tasks = browser.get("/api/v1/tasks").json()
        return next(t["count"] for t in tasks if t["key"] == "my_qualifications_expiring")

    assert expiring() == 0
    soon = date.today() + timedelta(days=10)
    run(
        Qualification.insert(Qualification(user=user["id"], certificate_no="Q-1", valid_until=soon))
    )
    assert expiring() == 1
    run(Qualification.delete().where(Qualification.user == user["id"]))
    assert expiring() == 0
    assert "我的资质 60 天内到期" in browser.get("/home").text


def test_a_counter_past_the_cap_says_so(browser, make_user, monkeypatch):
    """Like the lists, a counter stops counting past the cap: "1+" on the page, and the API says
    the count is capped rather than giving a number that is not the count."""
    from datetime import date, timedelta

    from conftest import run
    from metrolab.accounts.tables import Qualification
    from metrolab.kernel import paging
    from metrolab.web import navigation

    user = make_user("verifier")
    browser.login(user)
    navigation._PLANS.clear()
    soon = date.today() + timedelta(days=10)
    run(
        Qualification.insert(
            *(
                Qualification(user=user["id"], certificate_no=f"Q-{i}", valid_until=soon)
                for i in (1, 2)
            )
        )
    )
    monkeypatch.setattr(paging, "BADGE_CAP", 1)
    task = next(
        t for t in browser.get("/api/v1/tasks").json() if t["key"] == "my_qualifications_expiring"
    )
    assert (task["count"], task["count_capped"]) == (1, True)
    home = browser.get("/home").text
    assert "<b>1+</b>我的资质 60 天内到期" in home
    monkeypatch.setattr(paging, "BADGE_CAP", 2)
    navigation._PLANS.clear()  # the cap is part of the kept statement
    task = next(
        t for t in browser.get("/api/v1/tasks").json() if t["key"] == "my_qualifications_expiring"
    )
    assert (task["count"], task["count_capped"]) == (2, False)


def test_the_counters_statement_names_its_values_on_postgresql(browser, make_user):
    """With ``$1`` a kept statement's generic plan took a verifier with no drafts for an average
    one and read every record (129 ms at 1 M); each person's statement has its values written in."""
    import pytest

    from metrolab.web import navigation

    if DB.engine_type != "postgres":
        pytest.skip("SQLite plans each statement as it runs")
    user = make_user("verifier")
    browser.login(user)
    assert browser.get("/home").status_code == 200
    (plan,) = [p for key, p in navigation._PLANS.items() if key[0] == user["id"]]
    sql, values = plan.statement.compile_string("postgres")
    assert values == [] and f'"original_record"."verifier" = {user["id"]}' in sql
    assert "'draft'" in sql
