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
