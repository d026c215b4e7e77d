"""Chromium downloads the DCC from the certificate page (signed in) and from the public QR page."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_certificate_renders import lab  # noqa: F401
from test_dcc import _errors, _methane, needs_pdf

pytestmark = [pytest.mark.browser, needs_pdf]


def test_the_dcc_downloads_from_the_certificate_page_and_the_public_page(
    page,
    lab,  # noqa: F811
    converter,
    make_user,
):
    from conftest import ui_login

    cert = _methane(lab)
    ui_login(page, make_user("verifier"))
    page.goto(f"/certificates/{cert['id']}")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载数字证书 (DCC XML)").click()
    assert download.value.suggested_filename == f"{cert['number']}.dcc.xml"
    assert _errors(Path(download.value.path()).read_bytes()) == []
    page.screenshot(path="/tmp/dcc/certificate-page.png", full_page=True)
    page.goto(f"/verify/{cert['verify_token']}")
    with page.expect_download() as download:
        page.locator("#dcc-link").click()
    assert _errors(Path(download.value.path()).read_bytes()) == []
    page.screenshot(path="/tmp/dcc/public-page.png", full_page=True)
