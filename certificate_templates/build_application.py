"""Build ``demonstration_application.docx``: 加油站诚信计量示范单位申请书 (T/ZBMS 005—2022 Appendix A).

    .venv/bin/python certificate_templates/build_application.py

Layout with python-docx; Jinja tags (rendered by ``metrolab.engine.documents.render_docx``) are plain text
in the runs. Variables: ``app`` (the demonstration_application form's data, every key present, text),
``instruments`` (rows of the 在用计量器具配备情况一览表: seq, type_name, model, serial, management,
last_verified_on, next_due_on, last_certificate). Reproducible: fixed zip timestamps and core dates.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2025, 1, 1)


def font(run, east_asia: str = "宋体", size: float | None = None, bold: bool = False) -> None:
    run.font.name = "Times New Roman"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def para(doc_or_cell, text: str, size: float = 12, bold: bool = False, center: bool = False,
         east_asia: str = "宋体"):
    p = doc_or_cell.add_paragraph()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    font(p.add_run(text), east_asia, size, bold)
    return p


def cell_text(cell, text: str, bold: bool = False) -> None:
    cell.text = ""
    font(cell.paragraphs[0].add_run(text), size=10.5, bold=bold)


def build() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    # cover
    for _ in range(4):
        doc.add_paragraph()
    para(doc, "加油站诚信计量示范单位", 26, True, True, "黑体")
    para(doc, "申请书", 26, True, True, "黑体")
    for _ in range(6):
        doc.add_paragraph()
    para(doc, "申报单位：{{ app.applicant }}", 16, center=True)
    para(doc, "申报日期：{{ app.apply_date_zh }}", 16, center=True)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    # basic information and metrology management
    rows = [
        ("基本情况", "单位名称", "{{ app.unit_name }}", "统一社会信用代码", "{{ app.credit_code }}"),
        ("基本情况", "地址", "{{ app.address }}", "邮政编码", "{{ app.postcode }}"),
        ("基本情况", "法定代表人", "{{ app.legal_representative }}", "联系电话", "{{ app.legal_phone }}"),
        ("基本情况", "联系人", "{{ app.contact }}", "联系电话", "{{ app.contact_phone }}"),
        ("基本情况", "经营范围", "{{ app.business_scope }}", "总营业面积（m²）", "{{ app.area }}"),
        ("计量管理", "计量分管负责人", "{{ app.metrology_leader }}", "持证计量人员数", "{{ app.metrologists }}"),
        ("计量管理", "在用计量器具数", "{{ app.instruments }}", "其中强制检定", "{{ app.compulsory_instruments }}"),
        ("计量管理", "加油枪数", "{{ app.nozzles }}", "非强制检定", "{{ app.non_compulsory_instruments }}"),
    ]
    table = doc.add_table(rows=len(rows) + 2, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            cell_text(table.cell(i, j), text, bold=j in (0, 1, 3))
    summary = table.cell(len(rows), 1).merge(table.cell(len(rows), 4))
    cell_text(table.cell(len(rows), 0), "计量管理", True)
    cell_text(summary, "{{ app.management_summary }}")
    opinion = table.cell(len(rows) + 1, 1).merge(table.cell(len(rows) + 1, 4))
    cell_text(table.cell(len(rows) + 1, 0), "申报单位意见", True)
    cell_text(opinion, "{{ app.opinion }}")
    para(opinion, "（盖章）　　　　年　　月　　日", 10.5)
    top = table.cell(0, 0).merge(table.cell(4, 0))
    cell_text(top, "基本情况", True)
    bottom = table.cell(5, 0).merge(table.cell(len(rows) + 1, 0))
    cell_text(bottom, "计量管理", True)
    for r in table.rows:
        r.cells[0].width = Mm(14)
    # the equipment list (T/ZBMS 005 §6 g)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    para(doc, "在用计量器具配备情况一览表", 16, True, True, "黑体")
    heads = ["序号", "器具名称", "型号规格", "出厂编号", "管理方式", "检定日期", "有效期至", "证书编号"]
    keys = ["seq", "type_name", "model", "serial", "management", "last_verified_on", "next_due_on", "last_certificate"]
    lst = doc.add_table(rows=3, cols=len(heads))
    lst.style = "Table Grid"
    for cell, h in zip(lst.rows[0].cells, heads, strict=True):
        cell_text(cell, h, True)
    cell_text(lst.cell(1, 0), "{%tr for r in instruments %}")
    for cell, k in zip(lst.rows[2].cells, keys, strict=True):
        cell_text(cell, "{{ r." + k + " }}")
    loop_end = lst.add_row()
    cell_text(loop_end.cells[0], "{%tr endfor %}")
    # docxtpl wants the tag rows alone: drop the other cells' text (already empty)
    props = doc.core_properties
    props.created = props.modified = FIXED_TIME
    props.title, props.author = "加油站诚信计量示范单位申请书", "metrolab"
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


if __name__ == "__main__":
    path = HERE / "demonstration_application.docx"
    path.write_bytes(build())
    print(f"wrote {path}")
