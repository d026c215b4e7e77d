"""Uploaded office files (.docx templates, .xlsx imports) are zip archives: judged before parsing.

A 107 KB .xlsx can hold a 100 MB cell (deflate packs repeated text ~1000×); parsed, it is echoed
back in a 105 MB page. So before any parser sees an upload, its zip directory is read (nothing is
extracted) and the file refused when it is too large, has too many entries, too much uncompressed
content or an entry compressed past a plausible ratio. Python's zipfile never inflates an entry
past the size its directory declares, so the directory is what the parsers will get. A workbook's
rows are then read with each cell's length, the rows and the columns bounded.

Refusals are :class:`UploadRefused` (a ``Refused``: a 400/413 answer with a 中文 message naming
the file).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from metrolab.kernel.errors import Refused

MB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """Defaults: a .docx certificate template."""

    max_bytes: int = 10 * MB  # the file as uploaded
    max_uncompressed: int = 100 * MB  # sum over the zip directory
    max_ratio: float = 100.0  # per entry, uncompressed / compressed
    ratio_min_size: int = MB  # entries smaller than this may compress better than the ratio
    max_entries: int = 2000


DOCX_LIMITS = ZipLimits()
# A ledger of 5 000 rows is ~3 MB of sheet XML; repeated rows compress well, hence a looser ratio.
XLSX_LIMITS = ZipLimits(5 * MB, 20 * MB, 200.0, MB, 1000)


class UploadRefused(Refused):
    """An upload refused before parsing; ``message_en`` and ``place`` for the template lint."""

    def __init__(
        self,
        message_zh: str,
        message_en: str = "",
        place: str = "",
        *,
        status_code: int = 400,
        code: str = "content",  # not_zip | too_large | zip_bomb | content
    ) -> None:
        super().__init__(message_zh, status_code=status_code)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.place = place


def _file(name: str) -> str:
    return f"文件“{name}”" if name else "上传的文件"


def zip_directory(data: bytes, limits: ZipLimits, name: str = "") -> list[zipfile.ZipInfo]:
    """The archive's entries, read from its directory alone; ``UploadRefused`` when the file is
    too large, not a zip, or a zip bomb by entry count, total size or compression ratio."""
    what = _file(name)
    if len(data) > limits.max_bytes:
        raise UploadRefused(
            f"{what}过大：{len(data) / MB:.1f} MB，上限 {limits.max_bytes / MB:.0f} MB",
            f"file too large: {len(data)} bytes, limit {limits.max_bytes}",
            status_code=413,
            code="too_large",
        )
    not_zip = UploadRefused(
        f"{what}不是有效的 Office 文档（.docx / .xlsx）",
        "not an Office document",
        "文件 / file",
        code="not_zip",
    )
    if not data.startswith(b"PK\x03\x04"):
        raise not_zip
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise not_zip from None
    if len(infos) > limits.max_entries:
        raise UploadRefused(
            f"{what}内部文件过多（{len(infos)} 个，上限 {limits.max_entries}）",
            f"too many parts in the zip ({len(infos)})",
            code="zip_bomb",
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed:
        raise UploadRefused(
            f"{what}解压后过大（{total / MB:.0f} MB，上限 {limits.max_uncompressed / MB:.0f} MB），"
            "疑似压缩炸弹",
            f"uncompressed size {total} bytes exceeds {limits.max_uncompressed}: zip bomb?",
            status_code=413,
            code="zip_bomb",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_min_size and ratio > limits.max_ratio:
            raise UploadRefused(
                f"{what}压缩比异常（{info.filename}：{ratio:.0f} 倍，上限 {limits.max_ratio:.0f} 倍），"
                "疑似压缩炸弹",
                f"compression ratio {ratio:.0f} of {info.filename} exceeds "
                f"{limits.max_ratio:.0f}: zip bomb?",
                info.filename,
                code="zip_bomb",
            )
    return infos


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def xlsx_rows(
    data: bytes,
    name: str = "",
    *,
    max_rows: int,
    max_columns: int = 100,
    max_cell_chars: int = 1000,
    limits: ZipLimits = XLSX_LIMITS,
) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, values)`` of the first sheet, the header row first; ``UploadRefused`` for a
    zip bomb, a cell longer than ``max_cell_chars``, more than ``max_rows`` rows after the header
    or a value beyond ``max_columns``. Reading stops at the first refusal: nothing giant is built."""
    from openpyxl import load_workbook

    what = _file(name)
    not_xlsx = f"{what}不是有效的 xlsx 文件，请使用下载的模板"
    try:
        zip_directory(data, limits, name)
    except UploadRefused as exc:
        if exc.code == "not_zip":
            raise UploadRefused(not_xlsx, "not an xlsx file", code="not_zip") from None
        raise
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise UploadRefused(not_xlsx, f"not a valid xlsx file: {exc!r}", code="not_zip") from None
    try:
        sheet = book.worksheets[0]
        declared = sheet.max_row if isinstance(sheet.max_row, int) else 0
        if declared > 2 * max_rows + 1:  # the sheet's own dimension: refused before reading it
            raise UploadRefused(f"{what}行数过多（{declared} 行），一次最多导入 {max_rows} 行")
        rows = sheet.iter_rows(values_only=True, max_row=2 * max_rows + 1)
        filled = 0
        for number, raw in enumerate(rows, start=1):
            values = list(raw or ())
            if any(v not in (None, "") for v in values[max_columns:]):
                raise UploadRefused(f"{what}第 {number} 行超过 {max_columns} 列")
            values = values[:max_columns]
            for index, value in enumerate(values):
                if isinstance(value, str) and len(value) > max_cell_chars:
                    raise UploadRefused(
                        f"{what}第 {number} 行 {_column(index)} 列的内容过长（{len(value)} 个字符，"
                        f"上限 {max_cell_chars}）"
                    )
            if number > 1 and any(v not in (None, "") for v in values):
                filled += 1
                if filled > max_rows:
                    raise UploadRefused(f"{what}一次最多导入 {max_rows} 行")
            yield number, values
    finally:
        book.close()
