"""Workflows: stored definitions, diagram pages, and a real process (delay requests) driven through them —
atomic transitions with optimistic locking, recorded history, role and rule refusals, signatures."""

import threading

import pytest

from conftest import run
from metrolab.workflows.tables import DelayRequest, TransitionRecord, WorkflowVersion


@pytest.fixture(autouse=True)
def certificates(db):
    """The certificates these delay requests are for (a delay names a real one)."""
    from metrolab.certificates.tables import Certificate

    for number in ("JD2026-00017", "JD2026-00042", "JD-1"):
        run(Certificate(number=number, instrument_type="fuel_dispenser").save())


def _register(browser, subject="JD2026-00017"):
    r = browser.post(
        "/delays",
        data={
            "subject": subject,
            "due_date": "2026-12-01",
            "new_due_date": "2026-12-15",
            "reason": "标准器送检未归",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_shipped_workflows_are_stored_and_drawn(browser, make_user):
    keys = {r["key"] for r in run(WorkflowVersion.select(WorkflowVersion.key))}
    assert {"certificate", "entrustment", "delay_request"} <= keys
    browser.login(make_user("verifier"))
    page = browser.get("/workflows/certificate")
    assert page.status_code == 200 and "<svg" in page.text and "核验" in page.text


def test_delay_request_register_approve_and_history(browser, new_browser, make_user):
    verifier, manager = (
        make_user("verifier", full_name="周检定"),
        make_user("tech_manager", full_name="李明"),
    )
    browser.login(verifier)
    delay_id = _register(browser)
    # The requester may not approve (role), and the manager sees the task on the home page.
    refused = browser.post(f"/delays/{delay_id}/approve")
    assert refused.status_code == 403
    boss = new_browser().login(manager)
    assert 'data-task="delays_to_approve"><b>1</b>' in boss.get("/home").text
    assert boss.post(f"/delays/{delay_id}/reject").status_code == 422  # a rejection needs a reason
    assert boss.post(f"/delays/{delay_id}/approve").status_code == 400  # signed: 签名须再次输入密码
    assert (
        boss.post(
            f"/delays/{delay_id}/approve",
            data={"password": "secret-pass-1"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    row = run(DelayRequest.select().where(DelayRequest.id == delay_id).first())
    assert row["status"] == "approved" and row["lock_version"] == 1
    detail = boss.get(f"/delays/{delay_id}")
    assert "李明" in detail.text and "已批准" in detail.text
    # A final state has no more actions: approving again is a conflict with the state.
    assert boss.post(f"/delays/{delay_id}/approve").status_code == 409


def test_guard_and_rule_refusals_say_why(browser, new_browser, make_user):
    both = make_user("verifier", "tech_manager")
    browser.login(both)
    delay_id = _register(browser)
    r = browser.post(f"/api/v1/delays/{delay_id}/approve", json={})
    assert r.status_code == 403 and "审批人不能是申请人本人" in r.json()["detail"]


def test_stale_lock_version_is_refused_and_nothing_changes(browser, new_browser, make_user):
    browser.login(make_user("verifier"))
    delay_id = _register(browser)
    boss = new_browser().login(make_user("tech_manager"))
    r = boss.post(f"/api/v1/delays/{delay_id}/approve", json={"lock_version": 7})
    assert r.status_code == 409
    assert (
        run(DelayRequest.select(DelayRequest.status).where(DelayRequest.id == delay_id).first())[
            "status"
        ]
        == "registered"
    )
    assert run(TransitionRecord.count()) == 0


def test_two_people_acting_at_once_exactly_one_succeeds(browser, new_browser, make_user):
    browser.login(make_user("verifier"))
    delay_id = _register(browser)
    bosses = [new_browser().login(make_user("tech_manager")) for _ in range(2)]
    results = []

    def act(b, action, extra):  # noqa: ANN001
        results.append(
            b.post(
                f"/api/v1/delays/{delay_id}/{action}", json={"lock_version": 0, **extra}
            ).status_code
        )

    threads = [
        threading.Thread(target=act, args=(bosses[0], "approve", {"password": "secret-pass-1"})),
        threading.Thread(target=act, args=(bosses[1], "reject", {"reason": "理由不足"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409] or sorted(results) == [200, 409], results
    assert run(TransitionRecord.count()) == 1


def test_signature_requires_the_password(db):
    from conftest import UserFactory
    from metrolab.web.auth import CurrentUser
    from metrolab.web.errors import UserError
    from metrolab.workflows.signatures import canonical_sha256, sign

    user = UserFactory()("checker", full_name="吴核验")
    me = CurrentUser(
        id=user["id"],
        username=user["username"],
        full_name="吴核验",
        language="zh",
        department_id=None,
    )
    for password, status in (
        (None, 400),
        ("wrong-password-9", 403),
    ):  # 400: said on the page, not a 422 page
        try:
            run(sign(me, password, "核验", {"n": 1}))
        except UserError as exc:
            assert exc.status_code == status
        else:
            raise AssertionError("signature without the right password")
    sig = run(sign(me, user["password"], "核验", {"n": 1}))
    assert (
        sig["signer"] == "吴核验"
        and sig["meaning"] == "核验"
        and sig["sha256"] == canonical_sha256({"n": 1})
    )


# ── delay requests through the API (the twins of the /delays pages) ─────────────────────────


def _integrator(new_browser, user):  # noqa: ANN001, ANN202
    """A client with the person's API token (made on the profile page, as a person does)."""
    import re

    browser = new_browser().login(user)
    made = browser.post("/me/tokens", data={"name": "延时接口"})
    token = re.search(r'id="new-token">([^<]+)<', made.text).group(1)
    client = new_browser().client
    headers = {"Authorization": f"Bearer {token}"}

    class Script:
        def get(self, url, **kw):  # noqa: ANN001, ANN003, ANN202
            return client.get(url, headers=headers, **kw)

        def post(self, url, **kw):  # noqa: ANN001, ANN003, ANN202
            return client.post(url, headers=headers, **kw)

    return Script()


def test_delay_api_register_query_and_approve(new_browser, make_user):
    from metrolab.audit.tables import AuditEvent

    requester = _integrator(new_browser, make_user("verifier", full_name="周检定"))
    manager = _integrator(new_browser, make_user("tech_manager", full_name="李明"))
    body = {
        "subject": "JD2026-00042",
        "due_date": "2026-12-01",
        "new_due_date": "2026-12-20",
        "reason": "标准器送检未归",
    }
    r = requester.post("/api/v1/delays", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "registered" and created["new_due_date"] == "2026-12-20"
    assert created["actions"] == ["withdraw"]
    delay_id = created["id"]
    assert run(AuditEvent.exists().where(AuditEvent.action == "delay_request.registered"))
    listed = manager.get("/api/v1/delays", params={"q": "00042", "status": "registered"}).json()
    assert [d["id"] for d in listed] == [delay_id]
    assert manager.get("/api/v1/delays", params={"q": "其他"}).json() == []
    r = requester.post(f"/api/v1/delays/{delay_id}/approve", json={})
    assert r.status_code == 403  # the requester's roles do not approve
    r = manager.post(f"/api/v1/delays/{delay_id}/reject", json={})
    assert r.status_code in (400, 422) and "原因" in r.json()["detail"]
    r = manager.post(
        f"/api/v1/delays/{delay_id}/approve", json={"lock_version": 0, "password": "secret-pass-1"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["to"] == "approved"
    assert r.json()["history"][-1]["actor_name"] == "李明"
    assert manager.post(f"/api/v1/delays/{delay_id}/approve").status_code == 409


def test_delay_api_refuses_bad_values_naming_the_field(new_browser, make_user, browser):
    script = _integrator(new_browser, make_user("verifier"))
    good = {
        "subject": "JD-1",
        "due_date": "2026-12-01",
        "new_due_date": "2026-12-02",
        "reason": "x",
    }
    for change, field in (
        ({"due_date": "2026-13-40"}, "due_date"),
        ({"new_due_date": "99999-01-01"}, "new_due_date"),
        ({"subject": ""}, "subject"),
        ({"subject": "X" * 101}, "subject"),
        ({"reason": ""}, "reason"),
        ({"extra": 1}, "extra"),
    ):
        r = script.post("/api/v1/delays", json={**good, **change})
        assert r.status_code == 400, (change, r.text)
        assert field in r.text
    r = script.post("/api/v1/delays", json={**good, "new_due_date": "2026-11-30"})
    assert r.status_code == 400 and "申请完成日期必须晚于原应完成日期" in r.json()["detail"]
    assert run(DelayRequest.count()) == 0
    assert script.get("/api/v1/delays", params={"q": "\x00"}).status_code == 400
    for url in ("/api/v1/delays/2147483648", "/api/v1/delays/0", "/api/v1/delays/999999"):
        assert script.get(url).status_code in (400, 404), url
    assert script.post("/api/v1/delays/2147483648/approve", json={}).status_code in (400, 404)
    assert script.post("/api/v1/delays/999999/approve", json={}).status_code == 404
    # the page, too: a subject longer than the column and a NUL in the reason are told, not a 500
    page = browser.login(make_user("verifier"))
    r = page.post(
        "/delays",
        data={**good, "subject": "X" * 101, "reason": "a\x00b"},
    )
    assert r.status_code == 400 and "至多 100 个字符" in r.text
    assert page.get("/delays", params={"q": "\x00"}).status_code == 400
    assert page.get("/delays/2147483648").status_code == 404
