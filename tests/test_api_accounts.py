"""The accounts API as an integrator uses it with a personal token: staff, qualifications, roles,
departments, my password, signature and tokens — same rules and audit rows as the pages."""

from __future__ import annotations

import io

from api_client import audit_rows, chinese, integrator
from conftest import run


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (400, 120), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


def test_staff_create_change_disable_through_the_api(new_browser, make_user):
    admin = make_user("admin")
    api = integrator(new_browser, admin)
    dept = api.post("/api/v1/departments", json={"name": "流量科", "code": "LL"})
    assert dept.status_code == 201 and dept.json()["name"] == "流量科"
    assert audit_rows("department.created", dept.json()["id"])
    again = api.post("/api/v1/departments", json={"name": "流量科", "code": "LL2"})
    assert again.status_code == 409 and "已存在" in again.json()["detail"]
    assert "流量科" in [d["name"] for d in api.get("/api/v1/departments").json()]

    r = api.post(
        "/api/v1/users",
        json={
            "username": "zhang.san",
            "full_name": "张三",
            "password": "Strong-pass-2026",
            "department": dept.json()["id"],
            "roles": ["verifier"],
        },
    )
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert r.json()["department_name"] == "流量科" and audit_rows("user.created", uid)
    bad = api.post(
        "/api/v1/users",
        json={"username": "li", "full_name": "李", "password": "x", "roles": ["no_such_role"]},
    )
    assert bad.status_code == 400 and {"password", "roles"} <= {
        e["field"] for e in bad.json()["errors"]
    }

    changed = api.put(
        f"/api/v1/users/{uid}",
        json={"full_name": "张三丰", "phone": "0533-1234567", "roles": ["verifier", "checker"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["full_name"] == "张三丰"
    assert sorted(changed.json()["roles"]) == ["checker", "verifier"]
    assert audit_rows("user.updated", uid)[0]["details"]["roles"] == ["verifier", "checker"]

    off = api.put(f"/api/v1/users/{uid}/active", json={"active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert audit_rows("user.disabled", uid)
    me = api.put(f"/api/v1/users/{admin['id']}/active", json={"active": False})
    assert me.status_code == 409 and "不能停用自己" in me.json()["detail"]


def test_qualification_grant_keeps_the_rules_of_the_page(new_browser, make_user):
    api = integrator(new_browser, make_user("admin"))
    verifier = make_user("verifier")
    url = f"/api/v1/users/{verifier['id']}/qualifications"
    r = api.post(
        url,
        json={
            "certificate_no": "冀-001",
            "instrument_types": ["fuel_dispenser"],
            "valid_until": "2030-12-01",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["instrument_types"] == ["fuel_dispenser"]
    assert audit_rows("qualification.added", verifier["id"])
    assert [q["certificate_no"] for q in api.get(url).json()] == ["冀-001"]
    unknown = api.post(
        url,
        json={
            "certificate_no": "冀-002",
            "instrument_types": ["no_such_type"],
            "valid_until": "2030-12-01",
        },
    )
    assert (
        unknown.status_code == 400
        and "器具类型代码不存在：no_such_type" in unknown.json()["detail"]
    )
    backwards = api.post(
        url,
        json={
            "certificate_no": "冀-003",
            "instrument_types": ["fuel_dispenser"],
            "valid_from": "2031-01-01",
            "valid_until": "2030-12-01",
        },
    )
    assert backwards.status_code == 400 and "有效期起不能晚于有效期至" in backwards.json()["detail"]
    bad_date = api.post(
        url,
        json={
            "certificate_no": "x",
            "instrument_types": ["fuel_dispenser"],
            "valid_until": "2030-13-01",
        },
    )
    assert bad_date.status_code == 400
    assert len(api.get(url).json()) == 1
    # Only staff.manage grants: a verifier's own token cannot.
    own = integrator(new_browser, verifier)
    refused = own.post(
        url,
        json={
            "certificate_no": "自己",
            "instrument_types": ["fuel_dispenser"],
            "valid_until": "2030-12-01",
        },
    )
    assert refused.status_code == 403


def test_roles_and_permissions_are_queried_and_set(new_browser, make_user):
    api = integrator(new_browser, make_user("admin"))
    roles = {r["key"]: r for r in api.get("/api/v1/roles").json()}
    assert "customers.view" in roles["clerk"]["permissions"]
    codes = {p["code"] for p in api.get("/api/v1/permissions").json()}
    assert "staff.manage" in codes
    r = api.put("/api/v1/roles/clerk", json={"permissions": ["customers.view"]})
    assert r.status_code == 200 and r.json()["permissions"] == ["customers.view"]
    assert audit_rows("role.updated", "clerk")
    bad = api.put("/api/v1/roles/clerk", json={"permissions": ["no.such"]})
    assert bad.status_code == 400 and "权限代码不存在" in bad.json()["detail"]
    assert api.put("/api/v1/roles/nobody", json={"permissions": []}).status_code == 404


def test_my_password_change_needs_the_current_one_and_ends_my_tokens(new_browser, make_user):
    user = make_user("clerk")
    api = integrator(new_browser, user)
    wrong = api.post(
        "/api/v1/me/password",
        json={"current_password": "not-it", "new_password": "Another-pass-2026"},
    )
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.json()["detail"]
    weak = api.post(
        "/api/v1/me/password", json={"current_password": user["password"], "new_password": "1"}
    )
    assert weak.status_code == 400 and chinese(weak.json()["detail"])
    ok = api.post(
        "/api/v1/me/password",
        json={"current_password": user["password"], "new_password": "Another-pass-2026"},
    )
    assert ok.status_code == 200 and ok.json()["changed"] is True
    assert audit_rows("user.password_changed", user["id"])
    assert api.get("/api/v1/me").status_code == 401  # every token of the user is revoked
    new_browser().login({**user, "password": "Another-pass-2026"})


def test_my_tokens_are_listed_and_revoked_but_never_minted_by_a_token(new_browser, make_user):
    from metrolab.accounts.tables import ApiToken

    user, other = make_user("clerk"), make_user("clerk")
    api, theirs = integrator(new_browser, user), integrator(new_browser, other)
    mine = api.get("/api/v1/me/tokens").json()
    assert [t["name"] for t in mine] == ["集成测试"] and "token_sha256" not in mine[0]
    their_id = run(ApiToken.select(ApiToken.id).where(ApiToken.user == other["id"]).first())["id"]
    assert api.post(f"/api/v1/me/tokens/{their_id}/revoke").status_code == 404
    assert theirs.get("/api/v1/me").status_code == 200
    assert api.post("/me/tokens", data={"name": "再来一个"}).status_code in (401, 403)
    r = api.post(f"/api/v1/me/tokens/{mine[0]['id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked"] is True
    assert api.get("/api/v1/me").status_code == 401


def test_signatures_for_myself_and_by_the_administrator(new_browser, make_user):
    from metrolab.accounts.tables import User

    verifier, other = make_user("verifier"), make_user("verifier")
    api = integrator(new_browser, verifier)
    r = api.put("/api/v1/me/signature", content=_png(), headers={"content-type": "image/png"})
    assert r.status_code == 200 and r.json()["user_id"] == verifier["id"]
    stored = run(User.select(User.signature_sha256).where(User.id == verifier["id"]).first())
    assert stored["signature_sha256"] == r.json()["signature_sha256"]
    refused = api.put(
        f"/api/v1/users/{other['id']}/signature",
        content=_png(),
        headers={"content-type": "image/png"},
    )
    assert refused.status_code == 403 and "只有管理员" in refused.json()["detail"]
    assert api.delete("/api/v1/me/signature").status_code == 204
    stored = run(User.select(User.signature_sha256).where(User.id == verifier["id"]).first())
    assert stored["signature_sha256"] == ""
    admin = integrator(new_browser, make_user("admin"))
    set_other = admin.put(
        f"/api/v1/users/{other['id']}/signature",
        content=_png(),
        headers={"content-type": "image/png"},
    )
    assert set_other.status_code == 200


def test_big_ids_and_bad_text_are_answered_not_500(new_browser, make_user):
    api = integrator(new_browser, make_user("admin"))
    for uid in (2147483648, 2**63, 10**30):
        r = api.get(f"/api/v1/users/{uid}")
        assert r.status_code == 404 and r.json()["detail"] == "工作人员不存在"
        assert api.get(f"/api/v1/users/{uid}/qualifications").status_code == 404
        assert api.put(f"/api/v1/users/{uid}/active", json={"active": True}).status_code == 404
    assert api.post("/api/v1/me/tokens/2147483648/revoke").status_code == 400
    assert api.get("/api/v1/users?q=%00").status_code == 400
    assert api.get("/api/v1/users?department=2147483648").status_code == 400
    long_name = api.post("/api/v1/departments", json={"name": "科" * 201, "code": "X"})
    assert long_name.status_code == 400
