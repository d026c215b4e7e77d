"""One instrument from entrustment to release in Chromium, four people (clerk, verifier, checker,
approver): a return-with-reason loop, the customer's signature drawn on the canvas, and the
certificate's QR/verify page saying 有效.

The original record's readings are written by a helper (the records pages have their own browser
test); everything else goes through the pages."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed"),
]
PASSWORD = "secret-pass-1"


@pytest.fixture
def tabs(chromium, live_server, db):
    contexts = []

    def make():  # noqa: ANN202
        ctx = chromium.new_context(
            base_url=live_server, locale="zh-CN", viewport={"width": 1366, "height": 900}
        )
        contexts.append(ctx)
        tab = ctx.new_page()
        tab.set_default_timeout(15_000)
        return tab

    yield make
    for ctx in contexts:
        ctx.close()


def _act(tab, key: str, *, password: str | None = None, reason: str | None = None) -> None:  # noqa: ANN001
    form = tab.locator(f"#act-{key}")
    if password is not None:
        form.locator("input[name=password]").fill(password)
    if reason is not None:
        form.locator("input[name=reason]").fill(reason)
    if password is not None:  # a signing form is sent in the background, then the page follows
        with tab.expect_navigation():
            form.locator("button[type=submit]").click()
    else:
        form.locator("button[type=submit]").click()
    tab.wait_for_load_state()


def test_one_instrument_from_entrustment_to_release(tabs, make_user):
    from metrolab.business.tables import VerificationTask
    from metrolab.certificates import template_versions as tv
    from test_business import _fill_record, qualify

    run(tv.seed_templates())
    clerk, verifier = (
        make_user("clerk", full_name="业务员小王"),
        make_user("verifier", full_name="检定员张晓明"),
    )
    checker, approver = (
        make_user("checker", full_name="核验员李建华"),
        make_user("signatory", full_name="批准人王志刚"),
    )
    qualify(verifier)

    # 1. the clerk registers the entrustment on the published 委托受理单
    c = tabs()
    ui_login(c, clerk)
    c.goto("/entrustments/new")
    c.fill("input[name=customer]", "峰峰集团大淑村矿")
    c.check("#new-customer")
    c.fill("input[name=contact]", "张三")
    c.fill("input[name=phone]", "bad phone")
    c.fill("input[name='instruments.0.instrument_type']", "methane_detector")
    c.fill("input[name='instruments.0.serial']", "SN-UI-7788")
    c.fill("input[name='instruments.0.model']", "JCB4")
    c.click("#entrustment-save")
    assert c.locator(
        "#entrust-problems"
    ).is_visible()  # refused beside the field, nothing typed lost
    assert c.input_value("input[name='instruments.0.serial']") == "SN-UI-7788"
    c.fill("input[name=phone]", "0310-5551234")
    c.click("#entrustment-save")
    c.wait_for_url(re.compile(r"/entrustments/\d+$"))
    entrustment_url = c.url
    number = c.locator("h1").inner_text().split()[1]
    assert number.startswith("WT")
    c.click("#slip-link")
    assert c.locator("#slip-number").inner_text() == number and c.locator("#slip-qr").is_visible()

    # 2. the verifier receives, assigns to himself, opens the record, compiles and submits (检定)
    v = tabs()
    ui_login(v, verifier)
    v.goto(entrustment_url)
    _act(v, "receive")
    assert v.locator("#entrustment-status").inner_text() == "科室已接收"
    v.locator("#tasks form[action$='/assign'] button").click()
    v.locator("#tasks form[action$='/record'] button").click()
    v.wait_for_url(re.compile(r"/records/\d+/edit"))
    record_id = int(re.search(r"/records/(\d+)/edit", v.url).group(1))
    run(_fill_record(record_id))  # the readings (see the module docstring)
    v.goto(entrustment_url)
    v.locator("#tasks form[action$='/compile'] button").click()
    v.wait_for_url(re.compile(r"/business/certificates/\d+$"))
    cert_url = v.url
    _act(v, "submit", password=PASSWORD)
    assert v.locator("#certificate-status").inner_text() == "核验中"

    # 3. the checker returns it with a reason; the verifier resubmits; the checker passes it (核验)
    k = tabs()
    ui_login(k, checker)
    k.goto(cert_url)
    _act(k, "return_check", reason="环境条件未填写完整")
    assert k.locator("#certificate-status").inner_text() == "编制中"
    assert "环境条件未填写完整" in k.locator("#history").inner_text()
    v.goto(cert_url)
    _act(v, "submit", password=PASSWORD)
    k.goto(cert_url)
    _act(k, "pass_check", password=PASSWORD)
    assert k.locator("#certificate-status").inner_text() == "批准中"

    # 4. the approver approves (批准): numbered, QR, PDF
    a = tabs()
    ui_login(a, approver)
    a.goto(cert_url)
    a.set_default_timeout(90_000)  # the first PDF starts the server's converter
    _act(a, "approve", password=PASSWORD)
    assert a.locator("#certificate-status").inner_text() == "待打印"
    verify_href = a.locator("#verify-link").get_attribute("href")
    cert_number = a.locator("h1").inner_text().split()[1]  # "检定证书 JD2026-00001"

    # 5. the clerk prints it (待打印 → 已打印: a step of its own); the verifier stores the instrument
    # (完成入库); the clerk releases with the customer's signature
    c.goto("/certificates/print")
    row = c.get_by_role("row").filter(has_text=cert_number)
    with c.context.expect_page() as printed:
        row.get_by_role("button", name="打印").click()
    printed.value.close()
    c.goto("/certificates/print?print_status=已打印")
    expect(c.get_by_role("row").filter(has_text=cert_number)).to_be_visible()
    v.goto(entrustment_url)
    v.click("#link-complete")  # 完成入库: where the instrument and its record are put away
    v.locator("#location").fill("二楼仪表库 A-03")
    v.click("#store-submit")
    v.wait_for_url(entrustment_url)
    assert "已归档" in v.locator("#tasks").inner_text()
    c.goto(entrustment_url)
    c.click("#release-link")
    box = c.locator("#signature-pad").bounding_box()
    c.mouse.move(box["x"] + 30, box["y"] + 100)
    c.mouse.down()
    for i in range(1, 12):
        c.mouse.move(box["x"] + 30 + i * 30, box["y"] + 100 - (i % 3) * 25, steps=3)
    c.mouse.up()
    c.click("#release-submit")
    c.wait_for_url("**/business/releases/*/slip")  # the handover slip, to print
    assert "张三" in c.locator("#slip-collector").inner_text()
    assert c.locator("#slip-signature").evaluate("img => img.complete && img.naturalWidth > 0")
    c.click("#slip-back")
    c.wait_for_url(entrustment_url)
    assert c.locator("#entrustment-status").inner_text() == "已发放"
    assert "张三" in c.locator("#releases").inner_text()
    sig = c.locator("#releases img")
    assert sig.evaluate("img => img.complete && img.naturalWidth > 0")
    task = run(VerificationTask.select().first())
    assert task["status"] == "released"

    # 6. anyone scanning the QR code sees 有效
    p = tabs()
    p.goto(verify_href)
    assert "有效" in p.locator("body").inner_text()


def test_batch_approval_shows_progress_and_lists_the_failure(tabs, make_user):
    from metrolab.certificates import template_versions as tv
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.tables import Certificate
    from test_business import PASSWORD as PW
    from test_business import _to_certificate, qualify, who

    run(tv.seed_templates())
    clerk, verifier = make_user("clerk"), make_user("verifier", full_name="检定员甲")
    checker, approver = make_user("checker"), make_user("signatory", full_name="批准人乙")
    qualify(verifier)
    v, k = who(verifier, "verifier", name="检定员甲"), who(checker, "checker")
    ids = run(_to_certificate(who(clerk, "clerk"), v, serials=("SN-P-1", "SN-P-2", "SN-P-3")))
    for cid in ids:
        run(cw.act(cid, "submit", v, password=PW))
        run(cw.act(cid, "pass_check", k, password=PW))
    cert = run(cw.get_certificate(ids[1]))  # the approver verified this one himself
    run(
        Certificate.update(
            {Certificate.signers: {**cert["signers"], "verifier": approver["id"]}}
        ).where(Certificate.id == ids[1])
    )
    a = tabs()
    ui_login(a, approver)
    a.goto("/business/approvals")
    a.fill("#batch-form input[name=password]", PW)
    a.click("#batch-submit")
    a.wait_for_function("document.getElementById('batch-progress').value === 3", timeout=120_000)
    assert a.locator("#batch-count").inner_text().startswith("3 / 3")
    assert a.locator("#batch-live-done li").count() == 2
    failure = a.locator("#batch-live-failed li").inner_text()
    assert "SN-P-2" in failure and "approver_not_verifier" in failure
    rows = {r["id"]: r for r in run(Certificate.select().where(Certificate.id.is_in(ids)))}
    assert [bool(rows[i]["pdf_sha256"]) for i in ids] == [True, False, True]
