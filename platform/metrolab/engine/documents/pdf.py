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
    if sys.platform == "darwin":
        present = Path("/Applications/Microsoft Word.app").exists()
    elif sys.platform == "win32":
        try:
            import winreg

            winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, "Word.Application").Close()
            present = True
        except OSError:
            present = False
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
