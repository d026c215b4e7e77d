"""Signed certificates in Chromium: the certificate page says 签名有效 with the approver, and on the
public QR page anyone uploads the PDF to 核验证书文件 and reads that it is the issued, intact file."""

from pathlib import Path

import pytest

from conftest import run, ui_login
from metrolab import storage
from test_certificates import issued

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/signing-shots")


def test_the_signature_is_shown_and_the_file_checks_on_the_public_page(
    page, seeded, converter, make_user, tmp_path
):
    cert = run(issued(serial="SN-SIGN-WEB-7"))
    assert cert["pdf_sha256"], cert.get("issue_error")
    ui_login(page, make_user("clerk"))
    page.goto(f"/certificates/{cert['id']}")
    assert page.locator("#signature-status").inner_text() == "签名有效"
    assert page.locator("#signature-reason").inner_text() == "批准：王志刚"
    assert page.locator("#sm2-status").inner_text().startswith("验证通过")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "certificate-signature.png"), full_page=True)

    public = page.context.browser.new_context(base_url=page.base, locale="zh-CN")
    tab = public.new_page()  # a visitor with no session: the QR code's reader
    try:
        tab.goto(f"/verify/{cert['verify_token']}")
        assert tab.locator("#sm2-seal").inner_text().startswith("验证通过")
        pdf = tmp_path / f"{cert['number']}.pdf"
        pdf.write_bytes(storage.get(cert["pdf_sha256"]))
        tab.set_input_files("input[name=file]", str(pdf))
        tab.click("form[action$='/check'] button[type=submit]")
        assert tab.locator("#check-result").inner_text().startswith("一致：")
        assert tab.locator("#check-signature-status").inner_text() == "签名有效"
        assert tab.locator("#check-sm2").inner_text() == "验证通过"
        tab.screenshot(path=str(SHOTS / "public-check.png"), full_page=True)
        (SHOTS / "issued.pdf").write_bytes(pdf.read_bytes())  # for pdfsig / a reader
        junk = tmp_path / "photo.pdf"
        junk.write_bytes(b"\x89PNG\r\n\x1a\n not a certificate")
        tab.set_input_files("input[name=file]", str(junk))
        tab.click("form[action$='/check'] button[type=submit]")
        assert "该文件不是 PDF 文件" in tab.locator("#check-result").inner_text()
    finally:
        public.close()
