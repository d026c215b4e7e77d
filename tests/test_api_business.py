"""The business feature's JSON API, driven with personal API tokens as an integrator would (a customer
portal registering entrustments, the bench PC opening records, a signatory approving in a batch):
the same permissions, rules, signatures (the password in the body) and audit rows as the pages."""

from __future__ import annotations

import base64
import io
import shutil
from datetime import UTC, datetime

import pytest

from conftest import run
from factories import fill_record_async, qualify_async
from metrolab.audit.tables import AuditEvent
from metrolab.business import services
from metrolab.business.tables import Entrustment, Release, VerificationTask
from metrolab.certificates.tables import Certificate

PASSWORD = "secret-pass-1"
BIG = 2147483648
needs_pdf = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")


def _token(user_id: int) -> dict[str, str]:
    """What the profile page does: the person signs in and makes a token for themself."""
    from metrolab.accounts import services as accounts
    from metrolab.web.auth import sha256

    async def mint() -> str:
        session = await accounts.start_session(user_id, "127.0.0.1")
        actor = await accounts.user_for_session(sha256(session), datetime.now(UTC))
        return await accounts.create_api_token(actor, "集成测试")

    return {"Authorization": f"Bearer {run(mint())}"}


@pytest.fixture
def lab(seeded, make_user, browser):
    """People with tokens and a client that carries no browser session (an integrator's script)."""
    rows = {
        "clerk": make_user("clerk", full_name="业务员小王"),
        "verifier": make_user("verifier", full_name="检定员张晓明"),
        "other": make_user("verifier", full_name="检定员赵六"),
        "checker": make_user("checker", full_name="核验员李建华"),
        "approver": make_user("signatory", full_name="批准人王志刚"),
    }
    run(qualify_async(rows["verifier"]["id"]))
    client = browser.client
    return {
        "client": client,
        "rows": rows,
        **{f"{k}_h": _token(v["id"]) for k, v in rows.items()},
    }


def _values(serials=("SN-API-1",), **extra) -> dict:
    return {
        "customer": "峰峰集团大淑村矿",
        "contact": "张三",
        "phone": "0310-5551234",
        "service_mode": "送检",
        "instruments": [
            {"instrument_type": "methane_detector", "serial": s, "model": "JCB4", "quantity": 1}
            for s in serials
        ],
        **extra,
    }


def _entrust(lab, serials=("SN-API-1",)) -> dict:
    r = lab["client"].post(
        "/api/v1/entrustments",
        json={"values": _values(serials), "new_customer": True},
        headers=lab["clerk_h"],
    )
    assert r.status_code == 201, r.text
    return r.json()


def _compiled(lab, serials=("SN-API-1",)) -> tuple[dict, list[int]]:
    """By the API: registered → received → assigned → record opened (filled) → compiled."""
    c, vh = lab["client"], lab["verifier_h"]
    e = _entrust(lab, serials)
    assert (
        c.post(
            f"/api/v1/entrustments/{e['id']}/receive", json={"count": len(serials)}, headers=vh
        ).status_code
        == 200
    )
    certs = []
    for t in e["tasks"]:
        vid = lab["rows"]["verifier"]["id"]
        r = c.post(f"/api/v1/tasks/{t['id']}/assign", json={"verifier": vid}, headers=vh)
        assert r.status_code == 200 and r.json()["status"] == "assigned", r.text
        r = c.post(f"/api/v1/tasks/{t['id']}/record", json={}, headers=vh)
        assert r.status_code == 200 and r.json()["record"], r.text
        run(fill_record_async(r.json()["record"]))
        r = c.post(f"/api/v1/tasks/{t['id']}/compile", headers=vh)
        assert r.status_code == 200 and r.json()["certificate"], r.text
        certs.append(r.json()["certificate"])
    return e, certs


# ── 委托单 ────────────────────────────────────────────────────────────────────────────────────


def test_register_list_read_and_modify_an_entrustment(lab):
    c = lab["client"]
    e = _entrust(lab, ("SN-API-1", "SN-API-2"))
    assert e["number"].startswith("WT") and e["status"] == "registered"
    assert [t["serial"] for t in e["tasks"]] == ["SN-API-1", "SN-API-2"]
    assert e["status_label"] == "已受理" and e["customer_name"] == "峰峰集团大淑村矿"
    listed = c.get("/api/v1/entrustments?q=WT", headers=lab["clerk_h"]).json()
    assert listed["total"] == 1 and listed["items"][0]["number"] == e["number"]
    got = c.get(f"/api/v1/entrustments/{e['id']}", headers=lab["verifier_h"]).json()
    assert got["tasks"][1]["serial"] == "SN-API-2"
    audit = run(AuditEvent.select().where(AuditEvent.action == "entrustment.created"))
    assert audit[0]["target_id"] == str(e["id"])

    # The same rules as the page: a reason, the lock, field problems named.
    body = {"values": _values(("SN-API-1", "SN-API-2", "SN-API-3")), "reason": ""}
    r = c.put(f"/api/v1/entrustments/{e['id']}", json=body, headers=lab["clerk_h"])
    assert r.status_code == 400 and "修改委托单必须填写原因" in r.json()["detail"]
    assert any(p["field"] == "_reason" for p in r.json()["errors"])
    body["reason"] = "客户补送一台"
    r = c.put(f"/api/v1/entrustments/{e['id']}", json=body, headers=lab["clerk_h"])
    assert r.status_code == 200, r.text
    assert [t["serial"] for t in r.json()["tasks"]] == ["SN-API-1", "SN-API-2", "SN-API-3"]
    assert r.json()["history"][-1]["reason"] == "客户补送一台"
    # A verifier may not register or modify (business.entrust): refused like the page.
    r = c.post("/api/v1/entrustments", json={"values": _values()}, headers=lab["verifier_h"])
    assert r.status_code == 403


def test_typed_values_are_checked_and_bounded_with_the_field_named(lab):
    c, h = lab["client"], lab["clerk_h"]
    bad = _values()
    bad["instruments"][0]["instrument_type"] = "不存在的器具"
    bad["contact"] = "张\x00三"
    bad["instruments"][0]["quantity"] = "+99999999999"
    r = c.post("/api/v1/entrustments", json={"values": bad}, headers=h)
    assert r.status_code == 400, r.text
    fields = {p["field"]: p["message"] for p in r.json()["errors"]}
    assert "没有名为“不存在的器具”的器具类型" in fields["instruments.0.instrument_type"]
    assert "控制字符" in fields["contact"] and "联系人" in fields["contact"]
    assert "不得大于" in fields["instruments.0.quantity"]
    long_name = _values(customer="矿" * 201)
    r = c.post("/api/v1/entrustments", json={"values": long_name, "new_customer": True}, headers=h)
    assert r.status_code == 400 and "至多 200 字" in r.json()["errors"][0]["message"]
    r = c.post("/api/v1/entrustments", json={"values": {"x": "y" * 300_000}}, headers=h)
    assert r.status_code == 413 and "过大" in r.json()["detail"]
    r = c.post("/api/v1/entrustments", json={"values": _values(), "form_version": BIG}, headers=h)
    assert r.status_code == 400
    r = c.post(
        "/api/v1/entrustments", json={"values": _values(), "form_version": 999999}, headers=h
    )
    assert r.status_code == 404 and "委托受理单表单版本" in r.json()["detail"]
    assert run(Entrustment.count()) == 0


def test_receive_refuses_more_than_the_entrustment_holds_and_actions_are_validated(lab):
    c, vh = lab["client"], lab["verifier_h"]
    e = _entrust(lab, ("SN-R-1", "SN-R-2"))
    r = c.post(f"/api/v1/entrustments/{e['id']}/receive", json={"count": 3}, headers=vh)
    assert r.status_code == 400 and "超过委托单的器具数量 2 台" in r.json()["detail"]
    r = c.post(f"/api/v1/entrustments/{e['id']}/receive", json={"count": 0}, headers=vh)
    assert r.status_code == 400
    r = c.post(f"/api/v1/entrustments/{e['id']}/receive", json={"count": 2}, headers=vh)
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert r.json()["received_count"] == 2
    # The clerk may not receive (the workflow's roles), and the action's name is checked.
    r = c.post(f"/api/v1/entrustments/{e['id']}/actions/frobnicate", json={}, headers=vh)
    assert r.status_code == 404 and "没有“frobnicate”这个动作" in r.json()["detail"]
    r = c.post(f"/api/v1/entrustments/{e['id']}/actions/receive", json={}, headers=vh)
    assert r.status_code == 404
    r = c.post(f"/api/v1/entrustments/{e['id']}/actions/cancel", json={}, headers=lab["clerk_h"])
    assert r.status_code in (400, 422) and "原因" in r.json()["detail"]
    r = c.post(
        f"/api/v1/entrustments/{e['id']}/actions/cancel",
        json={"reason": "客户取回"},
        headers=lab["clerk_h"],
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_only_the_assignee_opens_and_compiles_and_release_of_instruments(lab):
    c = lab["client"]
    e, (cid,) = _compiled(lab)
    task = e["tasks"][0]
    # Another verifier: neither the record nor the certificate of this task (403, reason in 中文).
    r = c.post(f"/api/v1/tasks/{task['id']}/compile", headers=lab["other_h"])
    assert r.status_code == 403 and "只有本人或业务室编制人员可以编制证书" in r.json()["detail"]
    r = c.post(f"/api/v1/tasks/{task['id']}/record", json={}, headers=lab["other_h"])
    assert r.status_code == 403
    r = c.post(
        f"/api/v1/tasks/{task['id']}/assign", json={"verifier": BIG}, headers=lab["verifier_h"]
    )
    assert r.status_code == 400
    listed = c.get("/api/v1/tasks/search?mine=true", headers=lab["verifier_h"]).json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    assert listed["items"][0]["certificate"] == cid and listed["total"] == 1
    none = c.get("/api/v1/tasks/search?mine=true", headers=lab["other_h"]).json()
    assert (none["items"], none["total"], none["pages"], none["page"]) == ([], 0, 1, 1)
    assert run(AuditEvent.count().where(AuditEvent.action == "task.compiled")) == 1

    # 仅仪表 release with the customer's signature (the certificate comes later).
    png = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (20, 10), "white").save(png, format="PNG")
    body = {
        "mode": "instrument_only",
        "tasks": [task["id"]],
        "collector": "李四",
        "method": "自取",
        "signature": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
    }
    r = c.post(f"/api/v1/entrustments/{e['id']}/release", json=body, headers=lab["clerk_h"])
    assert r.status_code == 200, r.text
    assert r.json()["releases"][0]["collector"] == "李四" and "signature_sha256" not in r.text
    assert run(VerificationTask.select(VerificationTask.status))[0]["status"] == "released"
    assert run(Release.count()) == 1
    body["collector"] = "王\x00五"
    r = c.post(f"/api/v1/entrustments/{e['id']}/release", json=body, headers=lab["clerk_h"])
    assert r.status_code == 400


# ── certificate steps, approvals ─────────────────────────────────────────────────────────────


def test_certificate_steps_need_the_password_and_only_the_workflows_actions(lab):
    c = lab["client"]
    _e, (cid,) = _compiled(lab)
    wf = c.get(f"/api/v1/certificates/{cid}/workflow", headers=lab["verifier_h"]).json()
    assert wf["status"] == "compiling" and wf["status_label"]
    submit = next(a for a in wf["actions"] if a["action"] == "submit")
    assert submit["allowed"] and submit["signature"] == "检定"
    seen = c.get(f"/api/v1/certificates/{cid}/workflow", headers=lab["checker_h"]).json()
    assert not next(a for a in seen["actions"] if a["action"] == "submit")["allowed"]

    url = f"/api/v1/certificates/{cid}/actions"
    for unknown in ("frobnicate", "release", "print", "content_changed"):
        r = c.post(f"{url}/{unknown}", json={}, headers=lab["verifier_h"])
        assert r.status_code == 404 and "这个动作" in r.json()["detail"], unknown
    r = c.post(f"{url}/submit", json={}, headers=lab["verifier_h"])
    assert r.status_code == 400 and "密码" in r.json()["detail"]
    r = c.post(f"{url}/submit", json={"password": "wrong"}, headers=lab["verifier_h"])
    assert r.status_code == 403 and "密码不正确" in r.json()["detail"]
    failed = run(AuditEvent.count().where(AuditEvent.action == "signature.failed"))
    assert failed == 1
    r = c.post(f"{url}/submit", json={"password": PASSWORD}, headers=lab["verifier_h"])
    assert r.status_code == 200 and r.json()["status"] == "checking", r.text
    assert r.json()["history"][-1]["signature"]["meaning"] == "检定"
    # The checker returns it with a reason; the verifier resubmits; the checker passes it.
    r = c.post(f"{url}/return_check", json={"reason": ""}, headers=lab["checker_h"])
    assert r.status_code in (400, 422) and "原因" in r.json()["detail"]
    r = c.post(f"{url}/return_check", json={"reason": "示值误差有误"}, headers=lab["checker_h"])
    assert r.status_code == 200 and r.json()["status"] == "compiling"
    assert c.post(
        f"{url}/submit", json={"password": PASSWORD}, headers=lab["verifier_h"]
    ).is_success
    r = c.post(f"{url}/pass_check", json={"password": PASSWORD}, headers=lab["checker_h"])
    assert r.status_code == 200 and r.json()["status"] == "approving"
    # The verifier holds no signatory role: refused by the workflow, not approved.
    r = c.post(f"{url}/approve", json={"password": PASSWORD}, headers=lab["verifier_h"])
    assert r.status_code == 403
    queue = c.get("/api/v1/approvals", headers=lab["approver_h"]).json()
    assert [q["id"] for q in queue] == [cid]
    assert c.get("/api/v1/approvals", headers=lab["verifier_h"]).status_code == 403
    r = c.post(f"/api/v1/certificates/{cid}/reissue", headers=lab["approver_h"])
    assert r.status_code == 409 and "不需要重新出具" in r.json()["detail"]


def test_batch_approval_by_api_refuses_nothing_ticked_and_a_wrong_password(lab):
    c, h = lab["client"], lab["approver_h"]
    r = c.post("/api/v1/approvals", json={"ids": [], "password": PASSWORD}, headers=h)
    assert r.status_code == 400 and r.json()["detail"] == "请至少勾选一份证书"
    r = c.post("/api/v1/approvals", json={"ids": [BIG], "password": PASSWORD}, headers=h)
    assert r.status_code == 400
    r = c.post("/api/v1/approvals", json={"ids": [1], "password": "wrong"}, headers=h)
    assert r.status_code == 403 and "密码不正确" in r.json()["detail"]
    r = c.post("/api/v1/approvals/one", json={"id": 1, "password": "wrong"}, headers=h)
    assert r.status_code == 403 and "密码不正确" in r.json()["detail"]
    r = c.post("/api/v1/approvals/one", json={"id": 999999, "password": PASSWORD}, headers=h)
    assert r.status_code == 200 and r.json()["ok"] is False and "不存在" in r.json()["message"]


def _to_approving(lab, serials) -> list[int]:
    c = lab["client"]
    _e, ids = _compiled(lab, serials)
    for cid in ids:
        url = f"/api/v1/certificates/{cid}/actions"
        assert c.post(
            f"{url}/submit", json={"password": PASSWORD}, headers=lab["verifier_h"]
        ).is_success
        assert c.post(
            f"{url}/pass_check", json={"password": PASSWORD}, headers=lab["checker_h"]
        ).is_success
    return ids


@needs_pdf
def test_batch_and_one_approval_issue_and_the_preview_is_a_pdf(lab, converter):
    c, h = lab["client"], lab["approver_h"]
    first, second, third = _to_approving(lab, ("SN-B-1", "SN-B-2", "SN-B-3"))
    r = c.get(f"/api/v1/certificates/{first}/preview.pdf", headers=lab["verifier_h"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/pdf")
    assert r.content.startswith(b"%PDF")
    r = c.post("/api/v1/approvals", json={"ids": [first, second], "password": PASSWORD}, headers=h)
    assert r.status_code == 200, r.text
    done = r.json()["done"]
    assert sorted(d["id"] for d in done) == [first, second] and not r.json()["failed"]
    assert all(d["number"] for d in done)
    r = c.post("/api/v1/approvals/one", json={"id": third, "password": PASSWORD}, headers=h)
    assert r.status_code == 200 and r.json()["ok"] and r.json()["number"]
    rows = run(Certificate.select(Certificate.status, Certificate.pdf_sha256))
    assert all(row["status"] == "issued" and row["pdf_sha256"] for row in rows)
    wf = c.get(f"/api/v1/certificates/{third}/workflow", headers=h).json()
    approval = wf["history"][-1]
    assert approval["action"] == "approve" and approval["actor"] == lab["rows"]["approver"]["id"]
    assert approval["signature"]["meaning"]
    assert run(AuditEvent.count().where(AuditEvent.action == "certificate.batch_approved")) == 1


# ── bounded inputs: an id the database cannot hold is a 400/404, never a 500 ─────────────────


def test_big_ids_and_unknown_objects_are_answered_not_500(lab):
    c, h = lab["client"], lab["clerk_h"]
    for method, url, body in [
        ("GET", f"/api/v1/entrustments/{BIG}", None),
        ("PUT", f"/api/v1/entrustments/{BIG}", {"values": _values(), "reason": "x"}),
        ("POST", f"/api/v1/entrustments/{BIG}/receive", {"count": 1}),
        ("POST", f"/api/v1/entrustments/{BIG}/actions/cancel", {"reason": "x"}),
        ("POST", f"/api/v1/entrustments/{BIG}/release", {}),
        ("GET", f"/api/v1/tasks/{BIG}", None),
        ("POST", f"/api/v1/tasks/{BIG}/assign", {"verifier": 1}),
        ("POST", f"/api/v1/tasks/{BIG}/record", {}),
        ("POST", f"/api/v1/tasks/{BIG}/compile", None),
        ("GET", f"/api/v1/certificates/{BIG}/workflow", None),
        ("POST", f"/api/v1/certificates/{BIG}/actions/submit", {}),
        ("POST", f"/api/v1/certificates/{BIG}/reissue", None),
        ("GET", f"/api/v1/certificates/{BIG}/preview.pdf", None),
        ("GET", "/api/v1/entrustments?page_no=99999999", None),
        ("GET", "/api/v1/entrustments?q=%00", None),
        ("GET", "/api/v1/tasks/search?q=%00", None),
        ("GET", "/api/v1/entrustments?status=%00", None),
        ("GET", "/api/v1/tasks/search?page_no=100001", None),
    ]:
        r = c.request(method, url, json=body, headers=h)
        assert r.status_code in (400, 403, 404), (method, url, r.status_code, r.text)
        assert "detail" in r.json()
    for method, url, body in [
        ("GET", "/api/v1/entrustments/999999", None),
        ("GET", "/api/v1/tasks/999999", None),
        ("GET", "/api/v1/certificates/999999/workflow", None),
        ("POST", "/api/v1/certificates/999999/actions/submit", {}),
    ]:
        r = c.request(method, url, json=body, headers=lab["verifier_h"])
        assert r.status_code == 404, (url, r.text)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["detail"])


def test_the_services_are_the_pages_ones(lab):
    """The API adds no rule of its own: the entrustment the API made is the one the page shows."""
    e = _entrust(lab)
    assert run(services.get_entrustment(e["id"]))["number"] == e["number"]
