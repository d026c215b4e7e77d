"""The audit log page (查看审计日志) and its JSON twins: events made through real services appear with
their 中文 labels and links, filters narrow, the export opens, only the permission reads it."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from api_client import integrator
from metrolab.kernel import listing


def _clerk_makes_a_customer(new_browser, make_user) -> tuple[dict, int]:
    clerk = make_user("clerk", full_name="审计测试员")
    api = integrator(new_browser, clerk)  # logs the clerk in (user.login) to make the token
    r = api.post("/api/v1/customers", json={"name": "=审计示例化工"})
    assert r.status_code == 201, r.text
    return clerk, r.json()["id"]


def test_page_shows_labels_links_and_details(browser, new_browser, make_user):
    clerk, cid = _clerk_makes_a_customer(new_browser, make_user)
    new_browser().post("/login", data={"username": clerk["username"], "password": "wrong-pass-9"})
    browser.login(make_user("admin"))
    page = browser.get("/audit")
    assert page.status_code == 200
    text = page.text.split('id="audit-events"')[1]  # the table, not the filter's options
    assert "新建客户" in text and "登录失败" in text and "登录" in text
    assert "customer.created" not in text and "user.login" not in text
    assert f'href="/customers/{cid}"' in text
    assert "name: =审计示例化工" in text
    assert 'href="/audit"' in browser.get("/").text  # the nav entry under 系统


@pytest.mark.parametrize("through", ["the newest events", "the indexes"])
def test_filters_narrow_page_and_api(
    browser, new_browser, make_user, api_user, monkeypatch, through
):
    clerk, cid = _clerk_makes_a_customer(new_browser, make_user)
    if through == "the indexes":  # as if millions of newer events came first (kernel.listing)
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
    other = make_user("clerk", full_name="另一位")
    new_browser().login(other)
    admin = api_user("admin")
    get = lambda **q: browser.client.get("/api/v1/audit/events", params=q, headers=admin["headers"])  # noqa: E731

    mine = get(actor="审计测试员").json()["events"]  # by full name
    assert {e["actor_name"] for e in mine} == {clerk["username"]}
    assert {e["action"] for e in mine} >= {"user.login", "customer.created"}
    by_username = get(actor=clerk["username"][:6]).json()["events"]
    assert by_username and all(
        e["actor_name"].startswith(clerk["username"][:6]) for e in by_username
    )

    created = get(action="customer.created").json()["events"]
    assert [(e["target_id"], e["action_label"]) for e in created] == [(str(cid), "新建客户")]
    assert created[0]["link"] == f"/customers/{cid}"
    assert (
        get(target_type="customer", target_id=str(cid)).json()["events"][0]["id"]
        == created[0]["id"]
    )
    assert get(target_type="customer", target_id="999999").json()["events"] == []

    today = date.today()
    assert get(start=str(today - timedelta(days=1)), action="customer.created").json()["events"]
    assert get(end=str(today - timedelta(days=2))).json()["events"] == []
    assert get(start=str(today), end=str(today - timedelta(days=1))).status_code == 400

    browser.login(make_user("admin"))
    page = browser.get("/audit", params={"actor": "另一位"}).text.split('id="audit-events"')[1]
    assert "登录" in page and "新建客户" not in page
    events = get().json()["events"]
    assert [e["id"] for e in events] == sorted(
        (e["id"] for e in events), reverse=True
    )  # newest first


@pytest.mark.parametrize("windows", [None, (1, 2)])
def test_paging_is_bounded(browser, make_user, api_user, monkeypatch, windows):
    """下一页 is offered exactly while older events remain — walking the newest events or, with
    the windows narrowed (as at millions of events), through the indexes."""
    from conftest import run
    from metrolab.audit.log import record
    from metrolab.audit.services import PAGE_SIZE

    async def many() -> None:
        for i in range(PAGE_SIZE + 3):
            await record("lab.settings_saved", target_type="lab_settings", details={"n": i})

    run(many())
    if windows:
        monkeypatch.setattr(listing, "PAGE_WINDOW", windows[0])
        monkeypatch.setattr(listing, "COUNT_WINDOW", windows[1])
        today = str(date.today())  # the days are searched (kernel.listing's Found)
        dated = browser.client.get(
            "/api/v1/audit/events",
            params={"action": "lab.settings_saved", "start": today, "page_no": 2},
            headers=api_user("admin")["headers"],
        ).json()
        assert len(dated["events"]) == 3 and not dated["has_next"]
    admin = api_user("admin")
    first = browser.client.get(
        "/api/v1/audit/events", params={"action": "lab.settings_saved"}, headers=admin["headers"]
    ).json()
    assert len(first["events"]) == PAGE_SIZE and first["has_next"]
    second = browser.client.get(
        "/api/v1/audit/events",
        params={"action": "lab.settings_saved", "page_no": 2},
        headers=admin["headers"],
    ).json()
    assert len(second["events"]) == 3 and not second["has_next"]
    assert second["events"][-1]["details"] == "n: 0"
    browser.login(make_user("admin"))
    page = browser.get("/audit", params={"action": "lab.settings_saved"}).text
    assert 'rel="next"' in page and "保存机构信息" in page


def test_export_has_the_filtered_rows_and_cells_stay_data(
    browser, new_browser, make_user, api_user
):
    _clerk, cid = _clerk_makes_a_customer(new_browser, make_user)
    browser.login(make_user("admin"))
    for r in (
        browser.get("/audit/export.xlsx", params={"action": "customer.created"}),
        browser.client.get(
            "/api/v1/audit/events/export.xlsx",
            params={"action": "customer.created"},
            headers=api_user("admin")["headers"],
        ),
    ):
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:3] == ("时间", "操作人", "动作")
        assert [(row[2], row[3], row[4]) for row in rows[1:]] == [("新建客户", "客户", str(cid))]
        assert rows[1][5] == "name: =审计示例化工"  # the formula-looking name is not a formula
        assert sheet.cell(row=2, column=6).data_type == "s"


def test_only_the_permission_reads_the_log(browser, make_user, api_user):
    browser.login(make_user("clerk"))
    assert browser.get("/audit").status_code == 403
    assert browser.get("/audit/export.xlsx").status_code == 403
    clerk = api_user("clerk")
    assert browser.client.get("/api/v1/audit/events", headers=clerk["headers"]).status_code == 403
    assert (
        browser.client.get("/api/v1/audit/events/export.xlsx", headers=clerk["headers"]).status_code
        == 403
    )
    assert 'href="/audit"' not in browser.get("/").text


def test_bad_params_are_400(browser, make_user, api_user):
    admin = api_user("admin")
    for params in (
        {"page_no": 0},
        {"page_no": 2147483648},
        {"actor": "a\x00b"},
        {"target_id": "x" * 300},
        {"action": "no spaces"},
        {"start": "2026-13-40"},
    ):
        r = browser.client.get("/api/v1/audit/events", params=params, headers=admin["headers"])
        assert r.status_code == 400, (params, r.text)
    browser.login(make_user("admin"))
    assert browser.get("/audit", params={"page_no": 0}).status_code == 400
    assert browser.get("/audit", params={"actor": "a\x00b"}).status_code == 400
    bad_day = browser.get("/audit", params={"start": "明天"})
    assert bad_day.status_code == 400 and "起始日期" in bad_day.text


def test_labels_cover_codes_and_fall_back_readably():
    from metrolab.audit import labels

    assert labels.action_label("user.login") == "登录"
    assert (
        labels.action_label("certificate.approve", {"certificate.approve": "批准"}) == "证书 · 批准"
    )
    assert labels.action_label("ledger.contract_added") == "台账 · 登记 contract"
    assert "." not in labels.action_label("mystery.thing_done")
    assert labels.link("certificate", "12") == "/certificates/12"
    assert labels.link("certificate", "abc") == ""
    assert labels.link("unknown_type", "1") == ""
