"""Forms and the designer through /api/v1 with a personal API token: import, export, the lifecycle
with its signature and audit rows, the designer's checks; bounded inputs answer 400/404, never 500."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run
from metrolab.audit.tables import AuditEvent

ROOT = Path(__file__).resolve().parents[1]
BIG = 2147483648


@pytest.fixture
def everything(db):
    from metrolab.seed import seed_all

    run(seed_all())


@pytest.fixture
def api_user(make_user, new_browser):
    """``api_user(*roles)`` → the user with the ``headers`` of a token made on their profile page."""

    def make(*roles: str) -> dict:
        user = make_user(*roles)
        page = new_browser().login(user).post("/me/tokens", data={"name": "集成"})
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
        return {**user, "headers": {"Authorization": f"Bearer {token}"}}

    return make


@pytest.fixture
def client(new_browser):
    return new_browser().client


def audited(action: str) -> int:
    return run(AuditEvent.count().where(AuditEvent.action == action))


def _definition(key: str = "api_demo") -> dict:
    raw = json.loads((ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8"))
    raw["key"] = key
    return raw


def test_import_export_and_the_signed_lifecycle(everything, client, api_user):
    author = api_user("tech_manager")
    reviewer = api_user("template_reviewer")
    a, rv = author["headers"], reviewer["headers"]
    r = client.post("/api/v1/forms", content=json.dumps(_definition()), headers=a)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["status"] == "draft" and audited("form.imported") == 1
    exported = client.get(f"/api/v1/forms/versions/{v1['id']}/export", headers=a)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert json.loads(exported.content)["key"] == "api_demo"
    r = client.put(
        f"/api/v1/forms/versions/{v1['id']}",
        json={"definition": _definition(), "revision": v1["revision"]},
        headers=a,
    )
    assert r.status_code == 200 and r.json()["revision"] == v1["revision"] + 1
    assert audited("form.saved") == 1
    r = client.put(f"/api/v1/forms/versions/{v1['id']}", json={"definition": []}, headers=a)
    assert r.status_code == 400
    assert (
        client.post(
            f"/api/v1/forms/versions/{v1['id']}/submit", headers=a, json={"note": "变更"}
        ).json()["status"]
        == "in_review"
    )
    # a signing action takes the password: none → 400, a wrong one → 403, nothing published
    url = f"/api/v1/forms/versions/{v1['id']}/approve"
    assert client.post(url, json={}, headers=rv).status_code == 400
    wrong = client.post(url, json={"password": "wrong-password-1"}, headers=rv)
    assert wrong.status_code == 403 and "密码" in wrong.json()["detail"]
    assert client.get(f"/api/v1/forms/versions/{v1['id']}", headers=a).json()["status"] == (
        "in_review"
    )
    r = client.post(url, json={"password": reviewer["password"]}, headers=rv)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert audited("form.approved") == 1
    draft = client.post("/api/v1/forms/api_demo/drafts", headers=a)
    assert draft.status_code == 201 and draft.json()["number"] == 2
    assert audited("form.draft_created") == 1
    r = client.post(f"/api/v1/forms/versions/{v1['id']}/retire", headers=a)
    assert r.status_code == 200 and r.json()["status"] == "retired"
    # the designer role cannot approve; a clerk cannot import
    assert client.post(url, json={"password": author["password"]}, headers=a).status_code == 403
    clerk = api_user("clerk")["headers"]
    assert client.post("/api/v1/forms", content=b"{}", headers=clerk).status_code == 403


def test_bounded_inputs(everything, client, api_user):
    h = api_user("tech_manager", "template_reviewer")["headers"]
    for method, url in (
        ("GET", f"/api/v1/forms/versions/{BIG}"),
        ("GET", f"/api/v1/forms/versions/{BIG}/export"),
        ("POST", f"/api/v1/forms/versions/{BIG}/submit"),
        ("POST", f"/api/v1/forms/versions/{BIG}/retire"),
        ("GET", f"/forms/versions/{BIG}/designer"),
        ("GET", "/api/v1/forms/versions/999999"),
    ):
        assert client.request(method, url, headers=h).status_code in (400, 404), url
    r = client.post(f"/api/v1/forms/versions/{BIG}/return", json={"reason": "x"}, headers=h)
    assert r.status_code in (400, 404)
    assert client.post("/api/v1/forms/no_such_form/drafts", headers=h).status_code == 404
    assert client.post("/api/v1/forms/bad%00key/drafts", headers=h).status_code in (400, 404)
    r = client.post("/api/v1/forms", content=b"x" * (3 * 1024 * 1024), headers=h)
    assert r.status_code == 413
    r = client.post("/api/v1/forms", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["detail"]


def test_the_designer_api(everything, client, api_user):
    h = api_user("tech_manager")["headers"]
    r = client.post(
        "/api/v1/designer/check-expression",
        json={"expression": "V_J + V_X", "known_names": ["V_J"]},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["code"] == "unknown_name"
    r = client.post(
        "/api/v1/designer/check-expression", json={"expression": "x" * 10_000}, headers=h
    )
    assert r.status_code == 400
    r = client.post(
        "/api/v1/designer/preview", json={"definition": _definition(), "lang": "zh"}, headers=h
    )
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["html"]
    assert (
        client.post("/api/v1/designer/preview", json={"definition": []}, headers=h).status_code
        == 400
    )
    text = json.dumps(_definition("entrustment"))
    r = client.post("/api/v1/designer/validate?key=entrustment", json={"text": text}, headers=h)
    assert r.status_code == 200 and "ok" in r.json()
    r = client.post("/api/v1/designer/validate", json={"text": "{not json"}, headers=h)
    assert r.status_code == 200 and r.json()["ok"] is False
    r = client.post("/api/v1/designer/open/entrustment", headers=h)
    assert r.status_code == 201 and r.json()["designer_url"].endswith("/designer")
    assert r.json()["status"] == "draft" and audited("form.draft_opened_in_designer") == 1
    assert client.post("/api/v1/designer/open/nope", headers=h).status_code == 404
    clerk = api_user("clerk")["headers"]
    assert client.post("/api/v1/designer/open/entrustment", headers=clerk).status_code == 403
