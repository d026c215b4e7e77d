"""Refusals stay where they came from, in 中文, with what was typed kept: a wrong or empty signing
password beside the password field (no 403/422 page), a too-large upload beside the file input (no
half-English 413 page; the API answers JSON), and /favicon.ico answers without login."""

from __future__ import annotations

import pytest

from conftest import run, ui_login

pytestmark = pytest.mark.browser


def test_favicon_without_login(browser):
    r = browser.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in browser.get("/login").text


def test_too_large_upload_is_refused_in_chinese_naming_the_limit(browser, make_user):
    from metrolab.settings import get_settings

    browser.login(make_user("tech_manager"))
    limit = get_settings().upload_max_bytes
    big = {"file": ("big.json", b"0" * (limit + 2 * 1024 * 1024), "application/json")}
    r = browser.post("/api/v1/standards/import", files=big)
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert "文件过大" in detail and f"{limit / 1048576:g} MB" in detail and "Request" not in detail
    r = browser.post("/standards/import", files=big)  # a page: no half-English 413
    assert (
        r.status_code == 413
        and "Request Entity" not in r.text
        and f"{limit / 1048576:g} MB" in r.text
    )


def test_wrong_and_empty_signing_password_are_shown_beside_the_field(page, make_user):
    from factories import as_user, compiled_certificates, qualify_async
    from metrolab.certificates import template_versions as tv
    from metrolab.certificates import workflow as cw

    run(tv.seed_templates())
    clerk = make_user("clerk", full_name="业务员小王")
    verifier = make_user("verifier", full_name="检定员张晓明")
    run(qualify_async(verifier["id"]))
    cid = run(
        compiled_certificates(
            as_user(clerk, "clerk"), as_user(verifier, "verifier"), serials=("SN-SIGN-01",)
        )
    )[0]
    status = run(cw.get_certificate(cid))["status"]
    ui_login(page, verifier)
    page.goto(f"/business/certificates/{cid}")
    form = page.locator("form[id^=act-]", has=page.locator("input[type=password]")).first
    form.locator("input[type=password]").wait_for()
    form.locator("button[type=submit]").click()  # empty password: not sent, said beside the field
    form.locator(".ml-inline-refusal", has_text="请输入您的登录密码").wait_for()
    form.locator("input[type=password]").press_sequentially("not-my-password")
    form.locator("button[type=submit]").click()
    form.locator(".ml-inline-refusal", has_text="密码不正确").wait_for()
    assert page.url.endswith(f"/business/certificates/{cid}")
    assert "没有权限" not in page.locator("h1").inner_text()
    assert run(cw.get_certificate(cid))["status"] == status
    page.screenshot(path="/tmp/inline-refusal.png")


# ── every signing form: recall, delay approval, batch approval, number void ──────────────────


def _signatory_and_certificates(make_user, serials):  # noqa: ANN001, ANN202
    from factories import as_user, compiled_certificates, qualify_async
    from metrolab.certificates import template_versions as tv

    run(tv.seed_templates())
    clerk = make_user("clerk", full_name="业务员小王")
    verifier = make_user("verifier", full_name="检定员张晓明")
    signatory = make_user("signatory", full_name="批准人王志刚")
    run(qualify_async(verifier["id"]))
    ids = run(
        compiled_certificates(
            as_user(clerk, "clerk"), as_user(verifier, "verifier"), serials=serials
        )
    )
    return clerk, verifier, signatory, ids


def _wrong_then_right(page, form, expect_after):  # noqa: ANN001, ANN202
    """Empty: said beside the field, nothing sent; wrong: said there, the form kept; right: done."""
    password = form.locator("input[type=password]")
    form.locator("button[type=submit]").click()
    form.locator(".ml-inline-refusal", has_text="密码").wait_for()
    url = page.url
    password.press_sequentially("not-my-password")
    form.locator("button[type=submit]").click()
    form.locator(".ml-inline-refusal", has_text="密码不正确").wait_for()
    assert page.url == url and "没有权限" not in page.locator("h1").inner_text()
    assert password.input_value() == ""
    password.press_sequentially("secret-pass-1")
    expect_after()


def test_recall_with_a_wrong_password_is_refused_beside_the_field(page, make_user):
    from metrolab import storage
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.tables import Certificate

    _c, _v, signatory, (cid,) = _signatory_and_certificates(make_user, ("SN-RECALL-1",))
    run(
        Certificate.update(
            {
                Certificate.status: "issued",
                Certificate.number: "JD2026-00090",
                Certificate.pdf_sha256: storage.put(b"%PDF-1.4 x"),
            }
        ).where(Certificate.id == cid)
    )
    ui_login(page, signatory)
    page.goto(f"/certificates/{cid}")
    form = page.locator(f"form[action='/certificates/{cid}/recall']")
    form.locator("input[name=reason]").press_sequentially("客户退回")

    def right() -> None:
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert run(cw.get_certificate(cid))["status"] == "recalled"

    _wrong_then_right(page, form, right)
    assert run(cw.get_certificate(cid))["status"] == "recalled"


def test_delay_approval_with_a_wrong_password_is_refused_beside_the_field(page, make_user):
    from factories import as_user, entrustment_async
    from metrolab.workflows import services as wf
    from metrolab.workflows.tables import DelayRequest

    clerk = make_user("clerk")
    manager = make_user("tech_manager", full_name="李明")
    e = run(entrustment_async(as_user(clerk, "clerk", "delays.request"), ("SN-DELAY-1",)))
    delay = run(
        wf.create_delay(
            {
                "subject": e["number"],
                "due_date": "2026-12-10",
                "new_due_date": "2099-12-20",
                "reason": "标准器送检未归",
            },
            as_user(clerk, "clerk"),
        )
    )
    ui_login(page, manager)
    page.goto(f"/delays/{delay['id']}")
    form = page.locator(f"form[action='/delays/{delay['id']}/approve']")

    def right() -> None:
        with page.expect_navigation():
            form.locator("button[type=submit]").click()

    _wrong_then_right(page, form, right)
    row = run(DelayRequest.select().where(DelayRequest.id == delay["id"]).first())
    assert row["status"] == "approved"


def test_batch_approval_with_a_wrong_password_is_refused_beside_the_field(page, make_user):
    from factories import as_user
    from metrolab.certificates import workflow as cw

    _c, verifier, signatory, (cid,) = _signatory_and_certificates(make_user, ("SN-BATCH-1",))
    v = as_user(verifier, "verifier", name="检定员张晓明")
    checker = make_user("checker")
    run(cw.act(cid, "submit", v, password="secret-pass-1"))
    run(cw.act(cid, "pass_check", as_user(checker, "checker"), password="secret-pass-1"))
    ui_login(page, signatory)
    page.goto("/business/approvals")
    form = page.locator("#batch-form")

    def right() -> None:
        form.locator("#batch-submit").click()
        page.wait_for_function(
            "document.getElementById('batch-progress').value === 1", timeout=120_000
        )

    _wrong_then_right(page, form, right)
    assert run(cw.get_certificate(cid))["status"] != "approving"  # approved (issued or issuing)


def test_number_void_with_a_wrong_password_is_refused_beside_the_field(page, make_user):
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.tables import Certificate

    _c, _v, signatory, (cid,) = _signatory_and_certificates(make_user, ("SN-VOID-1",))
    run(Certificate.update({Certificate.number: "JD2026-00091"}).where(Certificate.id == cid))
    ui_login(page, signatory)
    page.goto("/certificates/numbers")
    form = page.locator("form[action='/certificates/numbers/void']")
    form.locator("input[name=number]").press_sequentially("JD2026-00091")
    form.locator("input[name=reason]").press_sequentially("编号错用")

    def right() -> None:
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.locator("#voided", has_text="JD2026-00091").wait_for()

    _wrong_then_right(page, form, right)
    assert run(cw.get_certificate(cid))["status"] == "voided"
    page.screenshot(path="/tmp/inline-refusal-void.png")
