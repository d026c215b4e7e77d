"""DOCX → PDF behind one interface, ``PdfConverter``.

* ``Docx2PdfConverter`` – Microsoft Word through docx2pdf (Windows / macOS with Word).
* ``LibreOfficePool`` – N warm unoserver processes, one document at a time each (Linux).
* ``SofficeOnceConverter`` – one ``soffice --convert-to pdf`` per call (diagnostics, baseline).

``get_converter()`` picks Word where it exists, else the pool. A converter is expensive to
start: make one per process and share it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Protocol

from metrolab.engine.documents.libreoffice import (
    LibreOfficePool,
    SofficeOnceConverter,
    find_soffice,
    find_unoserver,
)
from metrolab.engine.documents.problems import ConversionError, ConversionTimeout

__all__ = [
    "ConversionError",
    "ConversionTimeout",
    "diagnose",
    "Docx2PdfConverter",
    "LibreOfficePool",
    "PdfConverter",
    "SofficeOnceConverter",
    "find_soffice",
    "find_unoserver",
    "get_converter",
    "word_available",
]


class PdfConverter(Protocol):
    def convert(self, docx: bytes) -> bytes: ...

    def close(self) -> None: ...


class Docx2PdfConverter:
    """Microsoft Word through docx2pdf; only on Windows / macOS with Word installed."""

    def __init__(self) -> None:
        if not word_available():
            raise ConversionError("Microsoft Word is not available on this machine")

    def convert(self, docx: bytes) -> bytes:
        from docx2pdf import convert  # lazy: raises NotImplementedError on Linux

        with tempfile.TemporaryDirectory(prefix="metrolab-word-") as tmp:
            src, dst = Path(tmp) / "in.docx", Path(tmp) / "out.pdf"
            src.write_bytes(docx)
            convert(str(src), str(dst))
            return dst.read_bytes()

    def close(self) -> None:
        pass


def word_available() -> bool:
    present = False
    if sys.platform == "darwin":
        present = Path("/Applications/Microsoft Word.app").exists()
    elif sys.platform == "win32":
        try:
            import winreg

            winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, "Word.Application").Close()
            present = True
        except OSError:
            pass
    else:
        return False
    if not present:
        return False
    try:
        import docx2pdf  # noqa: F401
    except ImportError:
        return False
    return True


def get_converter(**pool_options: object) -> PdfConverter:
    """Word where present, else the warm LibreOffice pool."""
    if word_available():
        return Docx2PdfConverter()
    return LibreOfficePool(**pool_options)  # type: ignore[arg-type]


def diagnose(convert: bool = True) -> list[tuple[str, bool, str]]:
    """``(check, ok, detail)`` rows for a ``metrolab check``-style report of the PDF toolchain:
    converters, the fontconfig file, each face the shipped certificate templates use and what it
    resolves to (``fonts.check_templates``), and (``convert``) a test conversion.

    Uses only the one-shot converter: never touches a running pool's profile.
    """
    from metrolab.engine.documents.fonts import check_templates
    from metrolab.engine.documents.libreoffice import _tiny_docx, fontconfig_file

    rows: list[tuple[str, bool, str]] = []
    if word_available():
        rows.append(("Microsoft Word (docx2pdf)", True, "used for PDF"))
    for label, find in (("LibreOffice soffice", find_soffice), ("unoserver", find_unoserver)):
        try:
            rows.append((label, True, find()))
        except ConversionError as exc:
            rows.append((label, False, str(exc)))
    fonts = fontconfig_file()
    rows.append(
        ("fontconfig aliases", fonts is not None, str(fonts.resolve() if fonts else "not found"))
    )
    rows += [(f"font {c.face}", c.ok, c.detail) for c in check_templates()]
    if not convert:
        return rows
    try:
        pdf = SofficeOnceConverter(timeout=120).convert(_tiny_docx())
        rows.append(("test conversion", pdf.startswith(b"%PDF"), f"{len(pdf)} bytes"))
    except ConversionError as exc:
        rows.append(("test conversion", False, str(exc)))
    return rows
