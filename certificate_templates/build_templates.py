"""Build the shipped certificate templates (DB1304/T 505-2025 Appendix A).

    .venv/bin/python certificate_templates/build_templates.py

writes ``verification_certificate.docx`` (检定证书) and ``result_notice.docx``
(检定结果通知书) next to this script. The layout is made with python-docx; the
Jinja tags (docxtpl) are plain text in the runs. Output is reproducible: the
zip entries get a fixed timestamp and the core properties fixed dates.
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
SONG, HEI = "宋体", "黑体"
LATIN = "Times New Roman"
FIXED_TIME = datetime(2025, 1, 1, 0, 0, 0)

# sizes: 初号 42, 小初 36, 一号 26, 二号 22, 小二 18, 三号 16, 四号 14, 小四 12, 五号 10.5
TEXT_WIDTH_MM = 160.0  # A4 210 mm − 25 mm − 25 mm


# --- low-level helpers ------------------------------------------------------------------


def set_fonts(run_or_style, east_asia: str, latin: str = LATIN) -> None:
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr, value in (
        ("w:ascii", latin),
        ("w:hAnsi", latin),
        ("w:eastAsia", east_asia),
        ("w:cs", latin),
    ):
        fonts.set(qn(attr), value)


def run(
    paragraph,
    text: str,
    size: float | None = None,
    font: str = SONG,
    bold: bool = False,
    spacing: float | None = None,
):
    r = paragraph.add_run(text)
    set_fonts(r, font)
    if size:
        r.font.size = Pt(size)
    r.bold = bold or None
    if spacing is not None:  # character spacing in points (检 定 证 书)
        el = OxmlElement("w:spacing")
        el.set(qn("w:val"), str(int(spacing * 20)))
        r._r.get_or_add_rPr().append(el)
    return r


def para(
    container,
    text: str = "",
    size: float | None = None,
    font: str = SONG,
    bold: bool = False,
    align=None,
    before: float = 0,
    after: float = 0,
    spacing: float | None = None,
    line: float | None = None,
):
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if line:
        fmt.line_spacing = line
    if align is not None:
        p.alignment = align
    if text:
        run(p, text, size, font, bold, spacing)
    return p


def cell_text(
    cell,
    text: str,
    size: float = 10.5,
    font: str = SONG,
    bold: bool = False,
    align=WD_ALIGN_PARAGRAPH.CENTER,
):
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(0)
    if text:
        run(p, text, size, font, bold)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    return p


def add_field(paragraph, instruction: str, size: float, font: str = SONG) -> None:
    """A Word field (PAGE, NUMPAGES): begin / instrText / separate / result / end."""

    def char(kind: str) -> None:
        r = run(paragraph, "", size, font)
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        r._r.append(el)

    char("begin")
    r = run(paragraph, "", size, font)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    r._r.append(instr)
    char("separate")
    run(paragraph, "1", size, font)
    char("end")


def borders(table, size: int | None = 4, inside: bool = True) -> None:
    """Single-line borders (size in eighths of a point); None removes them."""
    tbl_pr = table._tbl.tblPr
    old = tbl_pr.find(qn("w:tblBorders"))
    if old is not None:
        tbl_pr.remove(old)
    el = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        b = OxmlElement(f"w:{edge}")
        on = size is not None and (inside or not edge.startswith("inside"))
        b.set(qn("w:val"), "single" if on else "nil")
        if on:
            b.set(qn("w:sz"), str(size))
            b.set(qn("w:color"), "000000")
        el.append(b)
    tbl_pr.append(el)


def cell_bottom_line(cell, size: int = 4) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    el = OxmlElement("w:tcBorders")
    b = OxmlElement("w:bottom")
    b.set(qn("w:val"), "single")
    b.set(qn("w:sz"), str(size))
    b.set(qn("w:color"), "000000")
    el.append(b)
    tc_pr.append(el)


def widths(table, mm: list[float]) -> None:
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, w in enumerate(mm):
        table.columns[i].width = Mm(w)
        for cell in table.columns[i].cells:
            cell.width = Mm(w)


def row_height(row, mm: float) -> None:
    row.height = Mm(mm)


def repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def loop_rows(table, head: str, body: list[str], tail: str, empty: str, size: float = 10.5) -> None:
    """``{%tr for %}`` rows: a tag row, the repeated row, the closing row; '—' when empty."""
    n = len(body)
    for cells in (
        [head] + [""] * (n - 1),
        body,
        [tail] + [""] * (n - 1),
        [empty] + [""] * (n - 1),
        ["—"] * n,
        ["{%tr endif %}"] + [""] * (n - 1),
    ):
        row = table.add_row()
        if cells is body or cells[0] == "—":
            row_height(row, 7)  # at least 7 mm: a printed table needs air
        for cell, text in zip(row.cells, cells, strict=True):
            cell_text(cell, text, size)


# --- the document -----------------------------------------------------------------------


def base_document() -> Document:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12)
    set_fonts(normal, SONG)
    normal.paragraph_format.space_after = Pt(0)
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = defaults.find(qn("w:rPr"))
    rpr.find(qn("w:lang")).set(qn("w:eastAsia"), "zh-CN")
    fonts = rpr.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr, value in (
        ("w:ascii", LATIN),
        ("w:hAnsi", LATIN),
        ("w:eastAsia", SONG),
        ("w:cs", LATIN),
    ):
        fonts.set(qn(attr), value)
    pdefault = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:pPrDefault"))
    spacing = pdefault.find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")
    props = doc.core_properties
    props.author = props.last_modified_by = "metrolab"
    props.title = "检定证书模板"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    props.comments = "Built by certificate_templates/build_templates.py"
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.left_margin = section.right_margin = Mm(25)
    section.header_distance, section.footer_distance = Mm(12), Mm(10)
    section.different_first_page_header_footer = True
    return doc


def page_footer(container) -> None:
    p = para(container, align=WD_ALIGN_PARAGRAPH.CENTER)
    run(p, "第 ", 10.5)
    add_field(p, "PAGE", 10.5)
    run(p, " 页  共 ", 10.5)
    add_field(p, "NUMPAGES", 10.5)
    run(p, " 页", 10.5)


def headers_and_footers(doc: Document) -> None:
    section = doc.sections[0]
    # pages 2…: certificate number at the top right, a rule below
    header = section.header
    p = header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run(p, "证书编号：{{ certificate.number }}", 10.5)
    bottom_rule(p)
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    section.footer._element.remove(p._p)
    page_footer(section.footer)

    # the cover: lab contact on the left, QR code bottom right, then the page number
    footer = section.first_page_footer
    footer._element.remove(footer.paragraphs[0]._p)
    table = footer.add_table(rows=1, cols=2, width=Mm(TEXT_WIDTH_MM))
    borders(table, None)
    widths(table, [TEXT_WIDTH_MM - 32, 32])
    left, right = table.rows[0].cells
    left.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    lines = [
        "检定机构：{{ lab.name }}",
        "地址：{{ lab.address }}    邮编：{{ lab.postcode }}",
        "电话：{{ lab.phone }}{% if lab.fax %}    传真：{{ lab.fax }}{% endif %}",
        "{%p if lab.website %}",
        "网址：{{ lab.website }}",
        "{%p endif %}",
        "本证书真伪及状态可扫描右侧二维码查询。",
    ]
    for i, text in enumerate(lines):
        p = left.paragraphs[0] if i == 0 else left.add_paragraph()
        run(p, text, 9)
    q = right.paragraphs[0]
    q.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run(q, "{% if qr_code %}{{ qr_code }}{% endif %}", 9)
    page_footer(footer)
    # an empty first-page header, so the cover has no certificate-number line
    section.first_page_header.paragraphs[0].text = ""


def bottom_rule(paragraph) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    el = OxmlElement("w:pBdr")
    b = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        b.set(qn(k), v)
    el.append(b)
    p_pr.append(el)


def cover(doc: Document, notice: bool) -> None:
    para(doc, "{{ lab.name }}", 18, HEI, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=12)
    para(
        doc,
        "{{ certificate.kind }}",
        36,
        HEI,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        spacing=14,
        after=4,
    )
    english = "NOTIFICATION OF VERIFICATION RESULT" if notice else "VERIFICATION CERTIFICATE"
    para(doc, english, 12, SONG, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    p = para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, after=14)
    run(p, "证书编号：", 14)
    run(p, "{{ certificate.number }}", 14)
    run(p, " 号", 14)
    run(p, "{% if certificate.revision %}（第 {{ certificate.revision }} 次修订）{% endif %}", 12)
    # an amendment names the certificate it replaces (ISO/IEC 17025 §7.8.8.2)
    para(doc, "{%p if certificate.supersedes_number %}")
    para(doc, "本证书替代 {{ certificate.supersedes_number }} 号证书", 12,
         align=WD_ALIGN_PARAGRAPH.CENTER, after=10)
    para(doc, "{%p endif %}")

    fields = [
        ("送检单位", "{{ customer.name }}"),
        ("计量器具名称", "{{ instrument.name }}"),
        ("型号/规格", "{{ instrument.model }}"),
        ("测量范围", "{{ instrument.range }}", "instrument.range"),
        ("准确度等级", "{{ instrument.accuracy }}", "instrument.accuracy"),
        ("出厂编号", "{{ instrument.serial }}"),
        ("制造单位", "{{ instrument.manufacturer }}"),
        ("检定依据", "{{ basis.code }}《{{ basis.name }}》"),
        ("检定结论", "{{ conclusion }}"),
    ]
    table = doc.add_table(rows=0, cols=3)
    borders(table, None)
    for label, value, *optional in fields:
        if optional:  # a row only when the type states it (JJG 52: a gauge's range and class)
            cell_text(table.add_row().cells[0], f"{{%tr if {optional[0]} %}}", 14)
        row = table.add_row()
        row_height(row, 10)
        cell_text(row.cells[0], label, 14, align=WD_ALIGN_PARAGRAPH.DISTRIBUTE)
        cell_text(row.cells[2], value, 14, bold=label == "检定结论")
        cell_bottom_line(row.cells[2])
        row.cells[0].vertical_alignment = row.cells[2].vertical_alignment = (
            WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
        )
        if optional:
            cell_text(table.add_row().cells[0], "{%tr endif %}", 14)
    widths(table, [34, 6, 115])

    para(doc, after=8)
    signatures = doc.add_table(rows=3, cols=3)
    borders(signatures, None)
    seal = signatures.cell(0, 0).merge(signatures.cell(2, 0))
    # the seal image where the lab has one; else the place to stamp it (Appendix A)
    cell_text(seal, "{% if lab.seal %}{{ lab.seal }}{% else %}（检定专用章）{% endif %}", 12)
    for i, (label, role) in enumerate(
        (("批准人", "approver"), ("核验员", "checker"), ("检定员", "verifier"))
    ):
        row = signatures.rows[i]
        row_height(row, 12.5)
        cell_text(row.cells[1], label, 14, align=WD_ALIGN_PARAGRAPH.DISTRIBUTE)
        person = f"people.{role}"
        cell_text(
            row.cells[2],
            f"{{% if {person}.image %}}{{{{ {person}.image }}}}"
            f"{{% else %}}{{{{ {person}.name }}}}{{% endif %}}",
            14,
        )
        cell_bottom_line(row.cells[2])
        row.cells[1].vertical_alignment = row.cells[2].vertical_alignment = (
            WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
        )
    widths(signatures, [55, 26, 50])

    para(doc, after=8)
    dates = doc.add_table(rows=0, cols=3)
    borders(dates, None)
    rows = [
        (
            "检定日期",
            "{{ verified_on.year }} 年 {{ verified_on.month }} 月 {{ verified_on.day }} 日",
        )
    ]
    if not notice:
        rows.append(
            (
                "有效日期",
                "{% if valid_until %}{{ valid_until.year }} 年 {{ valid_until.month }} 月 "
                "{{ valid_until.day }} 日{% else %}—{% endif %}",
            )
        )
    for label, value in rows:
        row = dates.add_row()
        row_height(row, 9)
        cell_text(row.cells[0], label, 14, align=WD_ALIGN_PARAGRAPH.DISTRIBUTE)
        cell_text(row.cells[2], value, 14)
    widths(dates, [34, 6, 115])


def page_break(doc: Document) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def standards_table(doc: Document, items: str, number_label: str) -> None:
    head = ["名称", "测量范围", "不确定度/准确度等级/\n最大允许误差", number_label, "有效期至"]
    table = doc.add_table(rows=1, cols=5)
    borders(table, 4)
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell_text(cell, "", bold=True)
        for i, line in enumerate(text.split("\n")):
            p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run(p, line, 9, HEI)
    repeat_header(table.rows[0])
    loop_rows(
        table,
        f"{{%tr for s in {items} %}}",
        [
            "{{ s.name }}",
            "{{ s.range }}",
            "{{ s.uncertainty }}",
            "{{ s.certificate_no }}",
            "{{ s.valid_until.iso if s.valid_until else '—' }}",
        ],
        "{%tr endfor %}",
        f"{{%tr if not {items} %}}",
        size=9,
    )
    widths(table, [33, 27, 38, 38, 24])


def second_page(doc: Document) -> None:
    label = {"size": 12, "font": HEI}
    p = para(doc, after=6)
    run(p, "证书编号：", **label)
    run(p, "{{ certificate.number }}", 12)
    p = para(doc, after=2, line=1.3)
    run(p, "检定机构授权说明：", **label)
    run(p, "{{ lab.authorization_note }}", 12)
    p = para(doc, after=2, line=1.3)
    run(p, "计量检定机构授权证书号：", **label)
    run(p, "{{ lab.authorization_no }}", 12)
    para(
        doc, "本证书出具的数据通过国家计量检定系统，可溯源至国家计量基准。", 12, after=10, line=1.3
    )

    para(doc, "检定环境条件：", **label, after=4)
    env = doc.add_table(rows=1, cols=3)
    borders(env, 4)
    for cell, text in zip(
        env.rows[0].cells,
        # a condition the record does not state prints “—”, without its unit
        tuple(
            f"{label}：{{% if environment.{key} %}}{{{{ environment.{key} }}}} {unit}{{% else %}}—{{% endif %}}"
            for label, key, unit in (
                ("温度", "temperature", "℃"),
                ("相对湿度", "humidity", "%RH"),
                ("大气压", "pressure", "kPa"),
            )
        ),
        strict=True,
    ):
        cell_text(cell, text, 10.5)
    row_height(env.rows[0], 8)
    widths(env, [53, 54, 53])

    para(doc, "检定使用的计量标准装置：", **label, before=12, after=4)
    standards_table(doc, "standard_devices", "计量标准证书号")
    para(doc, "检定使用的主要计量标准器：", **label, before=12, after=4)
    standards_table(doc, "standard_instruments", "证书编号")


def results_page(doc: Document, notice: bool) -> None:
    para(doc, "检定结果", 16, HEI, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, spacing=6, after=10)
    table = doc.add_table(rows=1, cols=5)
    borders(table, 4)
    for cell, text in zip(
        table.rows[0].cells, ("序号", "检定项目", "技术要求", "实测值", "检定结论"), strict=True
    ):
        cell_text(cell, text, 10.5, HEI)
    repeat_header(table.rows[0])
    row_height(table.rows[0], 8)
    loop_rows(
        table,
        "{%tr for r in results %}",
        [
            "{{ r.seq }}",
            "{{ r.item }}",
            "{{ r.requirement }}",
            "{{ r.measured }}{% if r.uncertainty_text %}\n{{ r.uncertainty_text }}{% endif %}",
            "{{ r.conclusion }}",
        ],
        "{%tr endfor %}",
        "{%tr if not results %}",
    )
    widths(table, [12, 36, 42, 46, 24])  # 实测值 wide enough for "U = … (k = …)"
    # the type's decision rule, where it has uncertainty budgets (issue 16: 判定规则：…)
    para(doc, "{%p if decision_rule %}")
    para(doc, "{{ decision_rule }}", 10.5, before=6, line=1.2)
    para(doc, "{%p endif %}")

    if notice:
        para(doc, "不合格项目：", 12, HEI, before=12, after=4)
        failing = doc.add_table(rows=1, cols=3)
        borders(failing, 4)
        for cell, text in zip(
            failing.rows[0].cells, ("检定项目", "技术要求", "实测值"), strict=True
        ):
            cell_text(cell, text, 10.5, HEI)
        loop_rows(
            failing,
            "{%tr for f in failing_items %}",
            ["{{ f.item }}", "{{ f.requirement }}", "{{ f.measured }}"],
            "{%tr endfor %}",
            "{%tr if not failing_items %}",
        )
        widths(failing, [60, 50, 50])
        para(
            doc,
            "经检定，该计量器具不符合 {{ basis.code }} 的要求，不得使用。",
            12,
            before=8,
            line=1.3,
        )

    para(doc, "{%p if remarks %}")
    para(doc, "注：", 10.5, HEI, before=8)
    para(doc, "{%p for m in remarks %}")
    para(doc, "{{ loop.index }}. {{ m }}", 10.5, line=1.2)
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    para(doc, "（以下空白）", 10.5, align=WD_ALIGN_PARAGRAPH.CENTER, before=12)


def build(notice: bool) -> bytes:
    doc = base_document()
    # render_docx replaces the title with the document's kind and number (检定证书 JD2026-00017)
    doc.core_properties.title = "检定结果通知书模板" if notice else "检定证书模板"
    headers_and_footers(doc)
    cover(doc, notice)
    page_break(doc)
    second_page(doc)
    page_break(doc)
    results_page(doc, notice)
    assert doc.sections[0].start_type == WD_SECTION.NEW_PAGE
    raw = io.BytesIO()
    doc.save(raw)
    return _reproducible(raw.getvalue())


def _reproducible(data: bytes) -> bytes:
    """Same input, same bytes: fixed zip timestamps and entry order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def main() -> int:
    for name, notice in (("verification_certificate.docx", False), ("result_notice.docx", True)):
        path = HERE / name
        path.write_bytes(build(notice))
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
