"""Build the shipped 报价单 template (DB1304/T 505—2025 §5.3.2: 报价单的打印).

    .venv/bin/python certificate_templates/build_quotation.py

writes ``quotation.docx`` next to this script, with the helpers of ``build_templates.py`` (same
fonts, page and reproducible zip). Variables: see ``metrolab/quotations/contract.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_templates import (  # noqa: E402 - the sibling script's helpers
    HEI,
    HERE,
    _reproducible,
    base_document,
    borders,
    bottom_rule,
    cell_text,
    loop_rows,
    page_footer,
    para,
    repeat_header,
    row_height,
    run,
    widths,
)
from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: E402
from docx.shared import Mm, Pt  # noqa: E402

LEFT, RIGHT, CENTER = WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.CENTER


def _header_block(doc) -> None:  # noqa: ANN001
    para(doc, "{{ lab.name }}", 16, HEI, bold=True, align=CENTER, after=4)
    para(doc, "报 价 单", 22, HEI, bold=True, align=CENTER, spacing=4, after=6)
    p = para(doc, align=RIGHT, after=6)
    run(p, "报价单号：{{ quotation.number }}", 10.5)
    bottom_rule(p)


def _parties(doc) -> None:  # noqa: ANN001
    table = doc.add_table(rows=4, cols=4)
    borders(table, None)
    rows = [
        ("客户名称", "{{ customer.name }}", "报价日期", "{{ quotation.quoted_on.zh }}"),
        ("客户地址", "{{ customer.address or '—' }}", "有效期至", "{{ quotation.valid_until.zh }}"),
        ("联 系 人", "{{ customer.contact or '—' }}", "联系电话", "{{ customer.phone or '—' }}"),
        ("报价单位", "{{ lab.name }}", "单位电话", "{{ lab.phone }}"),
    ]
    for row, texts in zip(table.rows, rows, strict=True):
        row_height(row, 7)
        for i, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
            cell_text(cell, text, 10.5, HEI if i % 2 == 0 else "宋体", align=LEFT)
    widths(table, [20, 78, 20, 42])
    para(doc, "", after=4)


def _lines(doc) -> None:  # noqa: ANN001
    table = doc.add_table(rows=1, cols=7)
    borders(table, 4)
    heads = ("序号", "器具名称", "数量", "单价（元）", "优惠（%）", "金额（元）", "说明")
    for cell, text in zip(table.rows[0].cells, heads, strict=True):
        cell_text(cell, text, 10.5, HEI)
    repeat_header(table.rows[0])
    row_height(table.rows[0], 8)
    loop_rows(
        table,
        "{%tr for r in lines %}",
        [
            "{{ r.seq }}",
            "{{ r.name }}",
            "{{ r.quantity }}",
            "{{ r.unit_price }}",
            "{{ r.discount }}",
            "{{ r.total }}",
            "{{ r.remarks or '' }}",
        ],
        "{%tr endfor %}",
        "{%tr if not lines %}",
    )
    totals = [
        ("合计（元）", "{{ totals.gross }}"),
        ("优惠金额（元）", "{{ totals.discount }}"),
        ("报价总额（元）", "{{ totals.total }}"),
        ("报价总额（大写）", "人民币{{ totals.total_upper }}"),
    ]
    for label, value in totals:
        row = table.add_row()
        row_height(row, 7)
        head = row.cells[0].merge(row.cells[3])
        cell_text(head, label, 10.5, HEI, align=RIGHT)
        tail = row.cells[4].merge(row.cells[6])
        cell_text(tail, value, 10.5, bold=label.startswith("报价总额"), align=LEFT)
    widths(table, [12, 48, 14, 22, 18, 24, 22])


def _remarks(doc) -> None:  # noqa: ANN001
    para(doc, "说明：", 10.5, HEI, before=8, after=2)
    para(doc, "1. 本报价单自报价日期起至有效期至当日有效，逾期须重新报价。", 10.5, line=1.3)
    para(doc, "2. 检定依据现行有效的国家计量检定规程；器具数量以实际送检为准。", 10.5, line=1.3)
    para(doc, "{%p if quotation.remarks %}")
    para(doc, "3. {{ quotation.remarks }}", 10.5, line=1.3)
    para(doc, "{%p endif %}")


def _signatures(doc) -> None:  # noqa: ANN001
    para(doc, "", after=8)
    table = doc.add_table(rows=3, cols=3)
    borders(table, None)
    for cell, text in zip(table.rows[0].cells, ("编制", "审核", "批准"), strict=True):
        cell_text(cell, text, 10.5, HEI)
    for cell, role in zip(table.rows[1].cells, ("author", "reviewer", "approver"), strict=True):
        cell_text(
            cell,
            f"{{% if people.{role}.image %}}{{{{ people.{role}.image }}}}{{% else %}}"
            f"{{{{ people.{role}.name }}}}{{% endif %}}",
            12,
        )
        row_height(table.rows[1], 16)
    for cell, role in zip(table.rows[2].cells, ("author", "reviewer", "approver"), strict=True):
        cell_text(
            cell,
            f"{{{{ people.{role}.on.zh if people.{role}.on else '' }}}}",
            10.5,
        )
    widths(table, [53, 53, 54])
    para(doc, "（以下空白）", 10.5, align=CENTER, before=12)
    para(
        doc,
        "{{ lab.name }}  地址：{{ lab.address }}{% if lab.postcode %}  邮编：{{ lab.postcode }}{% endif %}",
        9,
        align=CENTER,
        before=12,
    )
    para(
        doc,
        "电话：{{ lab.phone }}{% if lab.fax %}  传真：{{ lab.fax }}{% endif %}"
        "{% if lab.website %}  网址：{{ lab.website }}{% endif %}",
        9,
        align=CENTER,
    )


def build() -> bytes:
    import io

    doc = base_document()
    doc.core_properties.title = "报价单模板"
    section = doc.sections[0]
    section.different_first_page_header_footer = False
    section.top_margin = Mm(20)
    page_footer(section.footer)
    doc.styles["Normal"].font.size = Pt(10.5)
    _header_block(doc)
    _parties(doc)
    _lines(doc)
    _remarks(doc)
    _signatures(doc)
    raw = io.BytesIO()
    doc.save(raw)
    return _reproducible(raw.getvalue())


def main() -> int:
    path = HERE / "quotation.docx"
    path.write_bytes(build())
    print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
