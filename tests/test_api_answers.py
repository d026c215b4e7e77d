"""What every JSON operation answers, whatever the feature: bad input in 中文 naming the field, 405
with Allow for a method the path does not have, and an OpenAPI document that declares the guard's,
the validator's and the router's answers (what schemathesis holds the app to)."""

from __future__ import annotations

import pytest

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture
def clerk(api_user):
    return api_user("clerk")


@pytest.fixture
def client(app):
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


def _problems(response) -> dict[str, str]:  # noqa: ANN001
    body = response.json()
    return {p["field"]: p["message"] for p in body.get("errors") or []}


def test_an_integer_above_the_column_is_refused_in_chinese_naming_the_field(client, clerk):
    r = client.get("/api/v1/customers/2147483648", headers=clerk["headers"])
    assert r.status_code == 400
    body = r.json()
    assert _problems(r) == {"customer_id": "字段 “customer_id”：须不大于 2147483647"}
    assert body["detail"] == "字段 “customer_id”：须不大于 2147483647"
    assert body["title"] == "请求有误"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"category": "煤矿"}, "name", "字段 “name”：必填，不能缺少"),
        ({"name": "x" * 201}, "name", "字段 “name”：长度须不超过 200 个字符"),
        ({"name": "甲\x00"}, "name", "字段 “name”：不得含有控制字符（如 NUL 字节）"),
        ({"name": 7}, "name", "字段 “name”：应为文本，收到的是整数"),
        ({"name": "甲", "colour": "红"}, "colour", "字段 “colour”：不认识的字段"),
        (
            {"name": "甲", "contacts": [{"name": 1}]},
            "contacts[0].name",
            "字段 “contacts[0].name”：应为文本，收到的是整数",
        ),
        ([1, 2], "", "请求体：应为对象，收到的是列表"),
    ],
)
def test_body_problems_are_said_in_chinese_field_by_field(client, clerk, body, field, message):
    r = client.post("/api/v1/customers", json=body, headers=clerk["headers"])
    assert r.status_code == 400, r.text
    assert _problems(r) == {field: message}
    assert "Expected" not in r.text and "Object" not in r.text


def test_query_problems_and_broken_json_are_said_in_chinese(client, clerk):
    r = client.get("/api/v1/customers", params={"page_no": "x"}, headers=clerk["headers"])
    assert _problems(r) == {"page_no": "字段 “page_no”：应为整数，收到的是文本"}
    r = client.get("/api/v1/customers", params={"page_no": 0}, headers=clerk["headers"])
    assert _problems(r) == {"page_no": "字段 “page_no”：须不小于 1"}
    r = client.post(
        "/api/v1/customers",
        content=b"{broken",
        headers={**clerk["headers"], "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["detail"] == "请求体不是有效的 JSON"


def test_english_clients_get_english_problems(client, api_user):
    from conftest import run
    from metrolab.accounts.tables import User

    user = api_user("clerk")
    run(User.update({User.language: "en"}).where(User.id == user["id"]))
    r = client.get("/api/v1/customers/2147483648", headers=user["headers"])
    assert _problems(r) == {"customer_id": "Field “customer_id”: must be at most 2147483647"}


PUBLIC_API = {"POST /api/v1/verify/{token}/check"}


def test_the_document_declares_the_guards_answers_and_the_bearer_token(client, clerk):
    doc = client.get("/schema/openapi.json", headers=clerk["headers"]).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert not any(path.startswith("/schema") for path in doc["paths"])
    protected = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in METHODS or not path.startswith("/api/"):
                continue
            where = f"{method.upper()} {path}"
            if where in PUBLIC_API:  # the QR page's file check: anyone holding the PDF may ask
                assert "security" not in operation, where
                continue
            protected += 1
            assert {"401", "403"} <= set(operation["responses"]), where
            assert operation.get("security") == [{"bearer": []}], where
            if "{" in path:
                assert {"400", "404"} <= set(operation["responses"]), where
            if "requestBody" in operation:
                assert {"400", "413"} <= set(operation["responses"]), where
    assert protected > 40


def test_a_method_the_path_does_not_have_answers_405_with_allow(client, app, clerk):
    """Every path of the document, every method it does not declare: 405 and the Allow header (the
    answer schemathesis expects), never 401/403/500 or the page's answer."""
    doc = client.get("/schema/openapi.json", headers=clerk["headers"]).json()
    checked = 0
    for path, item in doc["paths"].items():
        declared = {m for m in item if m in METHODS}
        url = path.replace("{", "").replace("}", "")
        url = "/".join("1" if part.endswith("_id") else part for part in url.split("/"))
        for method in sorted(METHODS - declared):
            r = client.request(method.upper(), url, headers=clerk["headers"])
            where = f"{method.upper()} {url}"
            assert r.status_code == 405, f"{where} → {r.status_code} {r.text[:200]}"
            allowed = {m.strip().lower() for m in r.headers["allow"].split(",")}
            assert declared <= allowed, where
            if url.startswith("/api/"):
                assert r.json()["title"] == "不支持的请求方法", where
            checked += 1
    assert checked > 50
