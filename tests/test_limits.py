"""Resource limits on what users can make the server build: computed texts and lists (issue 12,
"Resource limits"), uploaded office files (zip bombs, giant cells), sandboxed template renders."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from metrolab.engine.expressions import MAX_LIST_SIZE, MAX_TEXT_LENGTH, ExpressionError, evaluate
from metrolab.engine.forms import compute, load_definition

TERMS = 99  # as many `s0 + s0 + …` as the nesting limit lets one expression hold


def _sum_of(name: str) -> str:
    return "+".join([name] * TERMS)


def _growing_texts() -> dict:
    """The reproduction: three computed texts, each 99 copies of the one before (262 MB)."""
    text = {"type": "field", "key": "s0", "control": "text", "example": "x" * 262}
    text["label"] = {"zh": "原文", "en": "Text"}
    computed = [
        {
            "type": "computed",
            "key": f"s{n}",
            "label": {"zh": f"第{n}级拼接", "en": f"Level {n}"},
            "expression": _sum_of(f"s{n - 1}"),
        }
        for n in (1, 2, 3)
    ]
    return {
        "format": "metrolab.form/1",
        "key": "limits_demo",
        "kind": "other",
        "title": {"zh": "限值演示", "en": "Limits demo"},
        "layout": [{"type": "section", "label": {"zh": "拼接"}, "children": [text, *computed]}],
    }


def test_a_text_built_past_its_limit_is_refused_without_being_built():
    s = "x" * 262
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        evaluate(_sum_of("s1"), {"s1": s * TERMS})
    assert caught.value.code == "limit" and "文本结果过长" in str(caught.value)
    assert time.monotonic() - started < 1
    assert len(evaluate(_sum_of("s"), {"s": "ab"})) == 2 * TERMS  # ordinary texts still join


def test_lists_are_bounded_too():
    big = ["a"] * (MAX_LIST_SIZE // 10)
    with pytest.raises(ExpressionError, match="列表结果过大"):
        evaluate("[" + ", ".join(["l"] * 20) + "]", {"l": big})
    assert evaluate("[a, b]", {"a": Decimal(1), "b": None}) == [Decimal(1), None]


def test_decimal_results_stay_bounded():
    with pytest.raises(ExpressionError, match="指数"):
        evaluate("x ** 1000", {"x": Decimal(10)})
    with pytest.raises(ExpressionError, match="超出范围"):
        evaluate("x ** 100 * x ** 100", {"x": Decimal("1e9")})


def test_computing_the_reproduction_names_the_field_and_stays_small():
    result = compute(load_definition(_growing_texts()), {"s0": "x" * 50})
    assert len(result.data["s1"]) == 50 * TERMS  # 4 950 characters: within the limit
    assert result.data.get("s2") is None and result.data.get("s3") is None  # blank, not 49 MB
    [problem] = [p for p in result.problems if p.path == "s2"]
    assert problem.code == "runtime" and problem.label_zh.endswith("第2级拼接")
    assert "文本结果过长" in problem.message_zh and str(MAX_TEXT_LENGTH) in problem.message_zh


def test_designer_preview_of_the_reproduction_answers_small_and_says_why(browser, make_user):
    b = browser.login(make_user("tech_manager"))
    started = time.monotonic()
    typed = [["s0", "x" * 262]]  # the preview computes from what is typed into it
    r = b.post(
        "/designer/preview", json={"definition": _growing_texts(), "lang": "zh", "values": typed}
    )
    assert r.status_code == 200 and time.monotonic() - started < 10
    assert len(r.content) < 200_000  # was 262 MB
    body = r.json()
    assert body["ok"] is True
    assert "文本结果过长" in body["html"]


# --- uploaded office files -------------------------------------------------------------------


def _xlsx(rows: list[list]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_giant_cell(size: int) -> bytes:
    """The reproduction: a ledger import whose 备注 is one cell of ``size`` characters."""
    import io
    import zipfile

    small = _xlsx([["器具类型", "出厂编号", "备注"], ["燃油加油机", "A-1", "PLACEHOLDER"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if b"PLACEHOLDER" in data:
                data = data.replace(b"PLACEHOLDER", b"x" * size)
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.fixture
def ledger_customer(db):
    from conftest import run
    from metrolab.customers.tables import Customer
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())
    row = Customer(name="限值测试加油站", category="加油站")
    run(row.save())
    return row.id


def test_an_xlsx_with_a_100_mb_cell_is_refused_before_parsing(ledger_customer, browser, make_user):
    bomb = _with_giant_cell(100 * 1024 * 1024)
    assert len(bomb) < 200 * 1024  # ~107 KB on the wire
    browser.login(make_user("clerk"))
    started = time.monotonic()
    r = browser.post(
        f"/ledger/customers/{ledger_customer}/import",
        files={"file": ("台账.xlsx", bomb, "application/octet-stream")},
    )
    assert r.status_code == 400 and time.monotonic() - started < 5
    assert len(r.content) < 200_000  # was a 105 MB page
    assert "疑似压缩炸弹" in r.text and "xxxxxxxxxx" not in r.text
    assert "文件“台账.xlsx”" in r.text  # the refusal names the file


def test_a_long_cell_below_the_zip_limits_is_refused_naming_its_place():
    from metrolab.engine.documents.uploads import UploadRefused, xlsx_rows
    from metrolab.ledger.importing import MAX_CELL_CHARS, parse

    long_cell = _with_giant_cell(MAX_CELL_CHARS + 1)
    with pytest.raises(UploadRefused) as caught:
        list(xlsx_rows(long_cell, "台账.xlsx", max_rows=10, max_cell_chars=MAX_CELL_CHARS))
    assert caught.value.detail == (
        f"文件“台账.xlsx”第 2 行 C 列的内容过长（{MAX_CELL_CHARS + 1} 个字符，上限 {MAX_CELL_CHARS}）"
    )
    preview = parse(long_cell, 1, {}, set())
    assert "内容过长" in preview.problem and not preview.rejected and not preview.good


def test_rows_and_columns_are_bounded():
    from metrolab.engine.documents.uploads import UploadRefused, xlsx_rows

    many = _xlsx([["器具类型", "出厂编号"]] + [["燃油加油机", f"A-{n}"] for n in range(12)])
    with pytest.raises(UploadRefused, match="最多导入 10 行"):
        list(xlsx_rows(many, "a.xlsx", max_rows=10))
    wide = _xlsx([["器具类型"] + [""] * 20 + ["远处"]])
    with pytest.raises(UploadRefused, match="超过 20 列"):
        list(xlsx_rows(wide, "a.xlsx", max_rows=10, max_columns=20))
    assert [n for n, _ in xlsx_rows(many, "a.xlsx", max_rows=12)] == list(range(1, 14))


def test_zip_bombs_are_refused_by_entry_count_size_and_ratio():
    import io
    import zipfile

    from metrolab.engine.documents.uploads import XLSX_LIMITS, UploadRefused, zip_directory

    def archive(files: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)
        return out.getvalue()

    many = archive({f"x/{n}.xml": b"<x/>" for n in range(XLSX_LIMITS.max_entries + 1)})
    with pytest.raises(UploadRefused, match="内部文件过多"):
        zip_directory(many, XLSX_LIMITS, "a.xlsx")
    with pytest.raises(UploadRefused, match="解压后过大") as caught:
        zip_directory(archive({"a": b"\0" * (25 * 1024 * 1024)}), XLSX_LIMITS, "a.xlsx")
    assert caught.value.status_code == 413 and "文件“a.xlsx”" in caught.value.detail
    with pytest.raises(UploadRefused, match="压缩比异常"):
        zip_directory(archive({"a": b"\0" * (2 * 1024 * 1024)}), XLSX_LIMITS, "a.xlsx")
    with pytest.raises(UploadRefused, match="不是有效的 Office"):
        zip_directory(b"PK\x03\x04 not really", XLSX_LIMITS)


def test_the_docx_template_upload_gets_the_same_guard():
    from metrolab.certificates.template_versions import check_upload

    bomb = _with_giant_cell(100 * 1024 * 1024)  # a zip bomb, whatever it claims to be
    [problem] = check_upload(bomb)
    assert "疑似压缩炸弹" in problem


# --- sandboxed template renders ----------------------------------------------------------------


def _template(text: str) -> bytes:
    import io

    from docx import Document

    doc = Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_template_preview_stopped_by_the_sandbox_answers_422_at_once(db, browser, make_user):
    from conftest import run
    from metrolab.certificates import template_versions as tv

    author = make_user("tech_manager")
    loops = _template(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    version = run(tv.upload(loops, "loops.docx", author, key="loops", name="循环", kind="检定证书"))
    browser.login(author)
    started = time.monotonic()
    r = browser.get(
        f"/certificate-templates/versions/{version['id']}/preview.pdf",
        headers={"accept": "application/json"},
    )
    assert r.status_code == 422 and time.monotonic() - started < 5  # was 500 after 20 s
    assert "模板循环次数超过上限" in r.text
