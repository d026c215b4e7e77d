"""Public pages on a phone (issue 13 point 9): the QR check page is opened on phones, so every public page
fits a 375 px wide screen without horizontal scrolling (the PDF's SHA-256 is one long word)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from conftest import run
from metrolab.certificates import verification

pytestmark = [pytest.mark.browser]


@pytest.fixture
def token(db):
    from metrolab.certificates.tables import Certificate

    token = verification.new_token()
    run(
        Certificate.insert(
            Certificate(
                number="JD2026-000777",
                instrument_type="fuel_dispenser",
                kind="检定证书",
                context={"instrument": {"serial": "JY-2024-PHONE-0001"}},
                verified_on=date(2026, 3, 5),
                valid_until=date(2099, 3, 4),
                conclusion="合格",
                status="issued",
                verify_token=token,
                pdf_sha256="ab" * 32,
                issued_at=datetime.now(UTC),
            )
        )
    )
    return token


def test_public_pages_fit_a_375px_phone(page, token, tmp_path):
    page.set_viewport_size({"width": 375, "height": 800})
    for n, url in enumerate(
        [f"/verify/{token}", "/verify", f"/verify/{'x' * 60}", "/login", "/portal/" + "y" * 80]
    ):
        page.goto(url)
        shot = f"/tmp/public-phone-{n}.png"
        page.screenshot(path=shot, full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} scrolls sideways: {width} px ({shot})"
    page.goto(f"/verify/{token}")
    assert "ab" * 32 in page.locator("#pdf-sha256").inner_text()
    # the holder checks a PDF they received: the answer names the uploaded file's SHA-256 too
    pdf = tmp_path / "JD2026-000777.pdf"
    pdf.write_bytes(b"%PDF-1.4 not the issued one")
    page.set_input_files("input[name=file]", str(pdf))
    page.get_by_role("button", name="核对").click()
    page.wait_for_selector("#check-result")
    page.screenshot(path="/tmp/public-phone-check.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
