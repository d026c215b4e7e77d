"""The public verification page in Chromium: no login, the status, and the PDF check form (CSRF)."""

import pytest

from conftest import run
from metrolab import storage
from test_certificates import issued

pytestmark = pytest.mark.browser


def test_public_verification_page_and_pdf_check(page, seeded, converter, tmp_path):  # noqa: F811
    cert = run(issued(serial="SN-WEB-9090"))
    page.goto(f"/verify/{cert['verify_token']}")
    assert page.locator("[role=status]").inner_text() == "有效"
    assert cert["pdf_sha256"] == page.locator("#pdf-sha256").inner_text()
    genuine = tmp_path / "certificate.pdf"
    genuine.write_bytes(storage.get(cert["pdf_sha256"]))
    page.set_input_files("input[name=file]", str(genuine))
    page.click("form[action$='/check'] button[type=submit]")
    assert page.locator("#check-result").inner_text().startswith("一致：")
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(genuine.read_bytes() + b"\n%altered")
    page.set_input_files("input[name=file]", str(altered))
    page.click("form[action$='/check'] button[type=submit]")
    assert page.locator("#check-result").inner_text().startswith("不一致：")
    page.goto(f"/verify/{cert['verify_token'][:-2]}xx")
    assert "证书不存在或二维码不是本机构签发的" in page.locator("#not-genuine").inner_text()
    page.goto("/verify")
    page.fill("input[name=number]", cert["number"])
    page.fill("input[name=serial]", "9090")
    page.click("main form button[type=submit]")
    assert page.locator("[role=status]").inner_text() == "有效"
