"""The statistics table as csv and xlsx; every cell through ``safe_cell`` (a group's name — a
customer's, a verifier's — is data a user typed, never a formula for the reader's spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from metrolab.engine.documents.cells import safe_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_text(header: Sequence[Any], body: Sequence[Sequence[Any]]) -> str:
    """With a BOM, so that Excel on Windows opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(header))
    writer.writerows(safe_row(line) for line in body)
    return "\ufeff" + buffer.getvalue()


def xlsx_bytes(sheet_title: str, header: Sequence[Any], body: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append(safe_row(header))
    for line in body:
        sheet.append(safe_row(line))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
