"""Certificate documents: sandboxed .docx rendering, template lint, QR codes and PDF.

Generic: it renders whatever plain data it is given; it does not know the database.
``render_docx`` → ``qr_png`` → ``PdfConverter.convert``; see ``contract`` for the
certificate context a template can use.
"""

from __future__ import annotations

import hashlib
import io


def pdf_sha256(pdf: bytes) -> str:
    """Hex SHA-256 of an issued PDF (shown on the public verification page)."""
    return hashlib.sha256(pdf).hexdigest()


def merge_pdfs(pdfs: list[bytes]) -> bytes:
    """One PDF from many, in order, for printing a batch at once."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
