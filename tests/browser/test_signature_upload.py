"""A signatory's signature image, uploaded in Chromium from the staff page, printed on a certificate.

The certificate is rendered directly from the shipped template (issuing is being reworked elsewhere):
the same `people.<role>.image` path the issuing code fills from the signer's stored image.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT, run, ui_login

pytestmark = pytest.mark.browser

CERTIFICATE = (ROOT / "certificate_templates" / "verification_certificate.docx").read_bytes()
SIGNATURE_SIZE = (360, 120)


@pytest.fixture(scope="module")
def pool():
    """One warm LibreOffice (as in tests/engine/test_documents.py, one server: the machine is small)."""
    from metrolab.engine.documents.pdf import LibreOfficePool, find_unoserver

    if os.environ.get("METROLAB_SKIP_LIBREOFFICE") == "1" or shutil.which("soffice") is None:
        pytest.skip("LibreOffice not installed (or METROLAB_SKIP_LIBREOFFICE=1)")
    find_unoserver()
    with LibreOfficePool(size=1, conversion_timeout=60) as p:
        yield p


def _signature_png(size: tuple[int, int] = SIGNATURE_SIZE) -> bytes:
    """Dark ink strokes on a transparent background, like a scanned and cleaned signature."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.line(
        [(15, h - 25), (w // 3, 20), (w // 2, h - 30), (w - 20, 25)],
        fill=(10, 30, 110, 255),
        width=6,
    )
    draw.arc([(w // 2, 10), (w - 30, h - 10)], 200, 340, fill=(10, 30, 110, 255), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _image_rows(pdf: bytes, tmp_path, name: str) -> list[tuple[str, int, int]]:  # noqa: ANN001
    """(type, width, height) of every image `pdfimages -list` finds in the PDF."""
    path = tmp_path / name
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    rows = []
    for line in listing[2:]:  # two header lines
        cols = line.split()
        rows.append((cols[2], int(cols[3]), int(cols[4])))
    return rows


def test_signatory_signature_uploaded_in_the_browser_prints_on_the_certificate(
    page, make_user, pool, tmp_path
):
    from metrolab import storage
    from metrolab.accounts.tables import User
    from metrolab.certificates.contract import sample_context
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx

    admin = make_user("admin")
    signatory = make_user("signatory", full_name="王批准")
    ui_login(page, admin)
    page.goto(f"/staff/{signatory['id']}")
    card = page.locator("#signature")
    assert card.locator("#signature-none").inner_text() == "未上传"

    # An SVG renamed .png: refused on the page itself, the message beside the field.
    fake = tmp_path / "签名.png"
    fake.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    card.locator("input[type=file][name=signature]").set_input_files(str(fake))
    card.locator("button[type=submit]").click()
    assert (
        "签名图片：文件内容不是 PNG 或 JPEG 图片"
        in page.locator("#signature .ml-error").inner_text()
    )
    assert page.locator("h1").inner_text().startswith("王批准")

    # The real one.
    real = tmp_path / "wang-signature.png"
    real.write_bytes(_signature_png())
    page.locator("#signature input[type=file][name=signature]").set_input_files(str(real))
    page.locator("#signature button[type=submit]").click()
    page.wait_for_url(f"**/staff/{signatory['id']}#signature")
    preview = page.locator("#signature-preview")
    preview.wait_for()
    # Chromium fetched and decoded it: the preview is the uploaded picture, not a broken image.
    assert preview.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]") == [
        True,
        *SIGNATURE_SIZE,
    ]
    assert page.locator("#signature button[type=submit]").first.inner_text() == "更换"

    digest = run(User.select(User.signature_sha256).where(User.id == signatory["id"]).first())[
        "signature_sha256"
    ]
    png = storage.get(digest)
    stored = Image.open(io.BytesIO(png))
    assert stored.size == SIGNATURE_SIZE and stored.mode == "RGBA"  # transparency kept

    # Certificates with and without the approver's signature image.
    ctx = sample_context()
    ctx["people"]["approver"]["name"] = "王批准"
    plain = {"qr_code": qr_png(ctx["verify_url"])}
    unsigned = pool.convert(render_docx(CERTIFICATE, ctx, plain))
    signed = pool.convert(render_docx(CERTIFICATE, ctx, {**plain, "people.approver.image": png}))
    before, after = (
        _image_rows(unsigned, tmp_path, "unsigned.pdf"),
        _image_rows(signed, tmp_path, "signed.pdf"),
    )
    images = lambda rows: [r for r in rows if r[0] == "image"]  # noqa: E731
    assert len(images(after)) == len(images(before)) + 1
    assert ("image", *SIGNATURE_SIZE) in after and ("image", *SIGNATURE_SIZE) not in before
    assert ("smask", *SIGNATURE_SIZE) in after  # printed with its transparent background

    # Replace, then remove: the page follows.
    page.locator("#signature input[type=file][name=signature]").set_input_files(
        {"name": "new.png", "mimeType": "image/png", "buffer": _signature_png((480, 160))}
    )
    page.locator("#signature button[type=submit]").first.click()
    page.wait_for_function("document.querySelector('#signature-preview')?.naturalWidth === 480")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#signature button.danger").click()
    page.locator("#signature-none").wait_for()
    assert (
        run(User.select(User.signature_sha256).where(User.id == signatory["id"]).first())[
            "signature_sha256"
        ]
        == ""
    )
