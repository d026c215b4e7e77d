"""Exports of the ledger: xlsx (openpyxl), csv, and the 在用计量器具配备情况一览表 as docx (python-docx)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from metrolab.engine.documents.cells import safe_cell, safe_row
from metrolab.ledger.tables import SOURCES, STATUSES

# (header, key) of the instrument list; the import template uses the first columns of this.
INSTRUMENT_COLUMNS = [
    ("客户", "customer_name"),
    ("器具类型", "type_name"),
    ("器具名称", "name"),
    ("型号规格", "model"),
    ("出厂编号", "serial"),
    ("制造单位", "manufacturer"),
    ("安装位置", "location"),
    ("状态", "status_zh"),
    ("强制检定", "compulsory_zh"),
    ("枪数", "nozzles"),
    ("准确度等级/最大允许误差", "accuracy_mpe"),
    ("最近检定日期", "last_verified_on"),
    ("检定结论", "last_conclusion"),
    ("有效期至", "next_due_on"),
    ("证书编号", "last_certificate"),
    ("来源", "source_zh"),
]


def instrument_rows(
    rows: Sequence[dict[str, Any]], types: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    from metrolab.ledger.services import type_name

    out = []
    for r in rows:
        out.append(
            {
                **r,
                "type_name": type_name(types, r["instrument_type"]),
                "category": (types.get(r["instrument_type"]) or {}).get("category", ""),
                "status_zh": STATUSES.get(r["status"], r["status"]),
                "compulsory_zh": "强检" if r["compulsory"] else "非强检",
                "accuracy_mpe": accuracy_mpe(types.get(r["instrument_type"]) or {}),
                "source_zh": SOURCES.get(r["source"], r["source"]),
            }
        )
    return out


def accuracy_mpe(instrument_type: dict[str, Any]) -> str:
    """准确度等级 and/or 最大允许误差 of the type's catalogue (T/ZBMS 005 表1), once each."""
    parts = [str(instrument_type.get(k) or "").strip() for k in ("accuracy", "mpe")]
    parts = [p for n, p in enumerate(parts) if p and p not in parts[:n]]
    return "；".join(
        p if p.startswith(("U", "±", "首检")) or "级" in p else f"MPE {p}" for p in parts
    )


def _cell(value: Any) -> Any:
    """A value as exported: blank, 是/否, or the value neutralised (never a live formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return safe_cell(value)


def xlsx(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    title: str = "",
    sheet: str = "Sheet1",
) -> bytes:
    """One sheet: an optional title row, the header row, the rows; dates as Excel dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    if title:
        ws.append([safe_cell(title)])
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(1, len(columns)))
    ws.append(safe_row(h for h, _ in columns))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F0F4F8")
        cell.alignment = Alignment(horizontal="center")
    for r in rows:
        ws.append([_cell(r.get(k)) for _, k in columns])
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for i, (h, _) in enumerate(columns, start=1):
        width = max(
            [len(str(h)) * 2]
            + [len(str(_cell(r.get(k)))) + 2 for r in rows[:200] for k in [columns[i - 1][1]]]
        )
        ws.column_dimensions[ws.cell(row=header_row, column=i).column_letter].width = min(
            40, max(8, width)
        )
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the 中文 correctly."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(safe_row(h for h, _ in columns))
    for r in rows:
        w.writerow([_cell(r.get(k)) for _, k in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


EQUIPMENT_COLUMNS = [
    ("序号", "seq"),
    ("器具名称", "type_name"),
    ("型号规格", "model"),
    ("出厂编号", "serial"),
    ("安装位置", "location"),
    ("准确度等级/最大允许误差", "accuracy_mpe"),
    ("管理方式", "management"),
    ("检定日期", "last_verified_on"),
    ("有效期至", "next_due_on"),
    ("检定结论", "last_conclusion"),
    ("证书编号", "last_certificate"),
]


def equipment_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """在用计量器具配备情况一览表 (T/ZBMS 005 §6 g): in-use instruments, numbered."""
    used = [r for r in rows if r["status"] == "in_use"]
    return [
        {**r, "seq": n, "management": "强制检定" if r["compulsory"] else "非强制检定"}
        for n, r in enumerate(used, start=1)
    ]


def equipment_docx(customer_name: str, rows: Sequence[dict[str, Any]], today: date) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(18))
    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("在用计量器具配备情况一览表")
    run.bold, run.font.size = True, Pt(16)
    doc.add_paragraph(f"单位名称：{customer_name}　　　　填报日期：{today.isoformat()}")
    table = doc.add_table(rows=1, cols=len(EQUIPMENT_COLUMNS))
    table.style = "Table Grid"
    for cell, (header, _) in zip(table.rows[0].cells, EQUIPMENT_COLUMNS, strict=True):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for r in rows:
        cells = table.add_row().cells
        for cell, (_, key) in zip(cells, EQUIPMENT_COLUMNS, strict=True):
            value = r.get(key)
            cell.text = "" if value is None else str(value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
