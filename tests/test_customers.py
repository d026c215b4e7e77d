"""Customers: pages and API, validation, several contacts, deletion refused while referenced."""

from metrolab.customers import services


def test_create_with_contacts_then_search(browser, make_user):
    browser.login(make_user("clerk"))
    r = browser.post(
        "/customers",
        data={
            "name": "峰峰集团 大淑村矿",
            "credit_code": "91130400MA0CXK3U8W",
            "category": "煤矿",
            "address": "邯郸市峰峰矿区",
            "phone": "0310-5123456",
            "contact_name": ["张三", "李四", ""],
            "contact_position": ["设备科长", "计量员", ""],
            "contact_phone": ["13800000001", "13800000002", ""],
            "contact_email": ["", "", ""],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail = browser.get(r.headers["location"])
    assert "张三" in detail.text and "李四" in detail.text and "设备科长" in detail.text
    assert "大淑村矿" in browser.get("/customers", params={"q": "大淑村"}).text
    assert "大淑村矿" not in browser.get("/customers", params={"q": "加油站"}).text
    assert "大淑村矿" in browser.get("/customers", params={"category": "煤矿"}).text
    # htmx search returns only the rows fragment
    fragment = browser.get("/customers", params={"q": "大淑村"}, headers={"hx-request": "true"})
    assert "<html" not in fragment.text and "大淑村矿" in fragment.text


def test_bad_input_is_named_and_kept(browser, make_user):
    browser.login(make_user("clerk"))
    r = browser.post(
        "/customers",
        data={
            "name": "",
            "credit_code": "12345",
            "address": "淄博市张店区",
            "contact_name": [""],
            "contact_phone": ["139"],
        },
    )
    assert r.status_code == 400
    assert "客户名称不能为空" in r.text and "统一社会信用代码应为 18 位" in r.text
    assert 'value="淄博市张店区"' in r.text and 'value="139"' in r.text


def test_credit_code_check_digit():
    assert services.credit_code_problem("91130400MA0CXK3U8W") is None
    assert services.credit_code_problem("91130400MA0CXK3U8N") == "统一社会信用代码校验位不正确"


def test_duplicate_name_refused_in_api(browser, make_user):
    browser.login(make_user("clerk"))
    assert (
        browser.post(
            "/api/v1/customers", json={"name": "中石化淄博第一加油站", "category": "加油站"}
        ).status_code
        == 201
    )
    r = browser.post("/api/v1/customers", json={"name": "中石化淄博第一加油站"})
    assert r.status_code == 400 and "已有同名客户" in r.json()["detail"]


def test_malformed_json_is_a_400_in_chinese(browser, make_user):
    browser.login(make_user("clerk"))
    r = browser.post(
        "/api/v1/customers", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["detail"])


def test_delete_refused_while_referenced_with_the_reason(browser, make_user):
    browser.login(make_user("clerk"))
    cid = browser.post("/api/v1/customers", json={"name": "被引用的煤矿"}).json()["id"]

    async def three_entrustments(customer_id: int) -> int:
        return 3 if customer_id == cid else 0

    services.REFERENCES.append(("委托单", three_entrustments))
    try:
        r = browser.delete(f"/api/v1/customers/{cid}")
        assert r.status_code == 409 and "委托单 3" in r.json()["detail"]
        page = browser.post(f"/customers/{cid}/delete")
        assert page.status_code == 409 and "委托单 3" in page.text
    finally:
        services.REFERENCES.pop()
    assert browser.delete(f"/api/v1/customers/{cid}").status_code == 200
    assert browser.get(f"/api/v1/customers/{cid}").status_code == 404


def test_verifier_can_view_but_not_change_customers(browser, make_user):
    browser.login(make_user("verifier"))
    assert browser.get("/customers").status_code == 200
    assert browser.post("/api/v1/customers", json={"name": "越权客户"}).status_code == 403


def test_the_api_twins_as_an_integrator_uses_them(new_browser, make_user):
    from api_client import audit_rows, integrator

    api = integrator(new_browser, make_user("clerk"))
    r = api.post(
        "/api/v1/customers",
        json={
            "name": "沧州示例化工",
            "credit_code": "91130400ma0cxk3u8w",
            "category": "化工企业",
            "contacts": [{"name": "王五", "phone": "13800000003"}],
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["credit_code"] == "91130400MA0CXK3U8W"
    assert [c["name"] for c in r.json()["contacts"]] == ["王五"]
    assert audit_rows("customer.created", cid)
    changed = api.put(f"/api/v1/customers/{cid}", json={"name": "沧州示例化工有限公司"})
    assert changed.status_code == 200 and changed.json()["contacts"] == []
    assert audit_rows("customer.updated", cid)[0]["details"]["name"] == "沧州示例化工有限公司"
    bad = api.post("/api/v1/customers", json={"name": "x", "credit_code": "12345"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "credit_code"
    assert "统一社会信用代码应为 18 位" in bad.json()["detail"]
    gone = api.delete(f"/api/v1/customers/{cid}")
    assert gone.status_code == 200 and audit_rows("customer.deleted", cid)


def test_ids_search_text_and_bodies_are_bounded(new_browser, make_user):
    from api_client import integrator

    api = integrator(new_browser, make_user("clerk"))
    big = 2147483648
    assert api.get(f"/api/v1/customers/{big}").status_code == 400
    put = api.put(f"/api/v1/customers/{big}", json={"name": "x"})
    assert put.status_code == 400 and put.json()["errors"][0]["field"] == "customer_id"
    assert api.delete(f"/api/v1/customers/{big}").status_code == 400
    assert api.put("/api/v1/customers/999999", json={"name": "x"}).status_code == 404
    nul = api.get("/api/v1/customers?q=%00")
    assert nul.status_code == 400 and nul.json()["errors"][0]["field"] == "q"
    assert api.get("/api/v1/customers?page_no=0").status_code == 400
    for body in (
        {"name": "客" * 201},
        {"name": "a\u0000b"},
        {"name": "x", "remarks": "r" * 20_001},
        {"name": "x", "unknown": 1},
        {"name": "x", "contacts": [{"name": "c"}] * 101},
        {"name": "x", "contacts": [{"name": ""}]},
    ):
        r = api.post("/api/v1/customers", json=body)
        assert r.status_code == 400, (body, r.text)
    assert api.get("/api/v1/customers").json()["total"] == 0
