"""QR codes for the certificate cover (the public verification URL)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(url: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """PNG of ``url`` with error correction M and the standard 4-module quiet zone.

    Printed at ~25 mm a module is ≥ 0.5 mm, which decodes from a 150-dpi render.
    """
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(url)
    qr.make(fit=True)
    img = qr.make_image()  # a 1-bit image: black on white, half the encoding time of RGB
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def qr_svg(url: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """The same code as SVG (paths, no raster): prints sharp at any size."""
    from qrcode.image.svg import SvgPathImage

    qr = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M,
        box_size=box_size,
        border=border,
        image_factory=SvgPathImage,
    )
    qr.add_data(url)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image().save(out)
    return out.getvalue()
