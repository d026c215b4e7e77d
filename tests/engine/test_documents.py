"""Certificate documents: render → QR → PDF through the warm LibreOffice pool.

The PDF tests need LibreOffice, poppler-utils and zbar-tools (scripts/install_system_deps.sh)
and ``.venv-uno`` (scripts/setup_unoserver.sh, run by ``make setup``). They share one pool
(two warm servers, ~7 s to start). ``METROLAB_SKIP_LIBREOFFICE=1`` skips them for a quick run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document

from metrolab.certificates.contract import (
    OPTIONAL_VARIABLES,
    PROVIDED_VARIABLES,
    SAMPLE,
    sample_context,
    sample_images,
)
from metrolab.engine.documents import fonts, merge_pdfs, pdf_sha256
from metrolab.engine.documents.lint import Limits, lint_template
from metrolab.engine.documents.pdf import (
    ConversionError,
    ConversionTimeout,
    Docx2PdfConverter,
    LibreOfficePool,
    SofficeOnceConverter,
    diagnose,
    find_unoserver,
    word_available,
)
from metrolab.engine.documents.problems import RenderLimit, RenderTimeout, TemplateProblem
from metrolab.engine.documents.qr import qr_png
from metrolab.engine.documents.render import render_docx
from metrolab.kernel.errors import Refused

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "certificate_templates"
CERTIFICATE = (TEMPLATES / "verification_certificate.docx").read_bytes()
NOTICE = (TEMPLATES / "result_notice.docx").read_bytes()

needs_libreoffice = pytest.mark.skipif(
    os.environ.get("METROLAB_SKIP_LIBREOFFICE") == "1" or shutil.which("soffice") is None,
    reason="LibreOffice not installed (or METROLAB_SKIP_LIBREOFFICE=1)",
)


def docx(*paragraphs: str) -> bytes:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tool(*cmd: str, data: bytes | None = None) -> str:
    return subprocess.run(
        cmd, input=data, capture_output=True, check=True, timeout=60
    ).stdout.decode()


@pytest.fixture(scope="module")
def pool():
    try:
        find_unoserver()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{exc} (make setup runs scripts/setup_unoserver.sh)")
    with LibreOfficePool(size=2, conversion_timeout=30) as p:
        yield p


@pytest.fixture(scope="module")
def certificate_pdf(pool, tmp_path_factory) -> Path:
    ctx = sample_context()
    pdf = pool.convert(render_docx(CERTIFICATE, ctx, sample_images(ctx)))
    path = tmp_path_factory.mktemp("pdf") / "certificate.pdf"
    path.write_bytes(pdf)
    return path


def blank_context(kind: str = "certificate") -> dict:
    """The sample as a form that records no pressure, a lab without fax, website or seal, a type
    without range or class, and an amendment (revision 1 replacing another number)."""
    ctx = sample_context(kind)
    ctx["environment"]["pressure"] = ""
    ctx["lab"].update(fax="", website="")
    ctx["instrument"].update(range="", accuracy="")
    ctx["certificate"].update(revision=1, supersedes_number="JD2025-000211")
    return ctx


@pytest.fixture(scope="module")
def blank_pdf(pool, tmp_path_factory) -> Path:
    ctx = blank_context()
    images = {k: v for k, v in sample_images(ctx).items() if k != "lab.seal"}
    pdf = pool.convert(render_docx(CERTIFICATE, ctx, images))
    path = tmp_path_factory.mktemp("pdf") / "blank.pdf"
    path.write_bytes(pdf)
    return path


@pytest.fixture(scope="module")
def notice_pdf(pool, tmp_path_factory) -> Path:
    ctx = sample_context("notice")
    pdf = pool.convert(render_docx(NOTICE, ctx, sample_images(ctx)))
    path = tmp_path_factory.mktemp("pdf") / "notice.pdf"
    path.write_bytes(pdf)
    return path


# --- the shipped templates, end to end -------------------------------------------------------


@needs_libreoffice
def test_certificate_pdf_shows_every_field_and_result(certificate_pdf):
    text = flat(tool("pdftotext", str(certificate_pdf), "-"))
    s = SAMPLE
    expected = [
        s["lab"]["name"],
        "检定证书",
        s["certificate"]["number"],
        s["customer"]["name"],
        s["instrument"]["name"],
        s["instrument"]["model"],
        s["instrument"]["serial"],
        s["instrument"]["manufacturer"],
        s["basis"]["code"],
        s["basis"]["name"],
        s["conclusion"],
        "2025年06月12日",
        "有效日期",
        "2026年06月11日",
        s["lab"]["authorization_no"],
        s["lab"]["authorization_note"],
        "传真：" + s["lab"]["fax"],
        "网址：" + s["lab"]["website"],
        "测量范围" + s["instrument"]["range"],
        "准确度等级" + s["instrument"]["accuracy"],
        "本证书出具的数据通过国家计量检定系统，可溯源至国家计量基准。",
        "温度：21.5℃",
        "相对湿度：48%RH",
        "大气压：101.2kPa",
        "批准人",
        "核验员",
        "检定员",
        "第1页共3页",
        "第3页共3页",
    ]
    for std in s["standard_devices"] + s["standard_instruments"]:
        expected += [std["name"], std["uncertainty"], std["valid_until"].isoformat()]
    for row in s["results"]:
        expected += [row["item"], str(row["measured"]), row["requirement"]]
    missing = [value for value in expected if flat(value) not in text]
    assert not missing, f"not in the PDF: {missing}"
    # the seal image takes the place of the words; a first issue replaces nothing
    assert "检定专用章" not in text and "本证书替代" not in text and "None" not in text


@needs_libreoffice
def test_blank_values_print_neither_none_nor_a_lonely_unit(blank_pdf):
    text = flat(tool("pdftotext", str(blank_pdf), "-"))
    assert "None" not in text and "null" not in text and "{{" not in text
    assert "大气压：—" in text and "kPa" not in text  # no value, no unit
    assert "温度：21.5℃" in text
    cover = flat(tool("pdftotext", "-f", "1", "-l", "1", str(blank_pdf), "-"))
    assert (
        "传真" not in cover
        and "网址" not in cover
        and "测量范围" not in cover
        and "准确度等级" not in cover
    )
    assert "（检定专用章）" in text  # no seal image: the place to stamp it
    assert "本证书替代JD2025-000211号证书" in text and "（第1次修订）" in text
    assert flat(SAMPLE["lab"]["authorization_no"]) in text


@needs_libreoffice
def test_pdf_title_is_the_documents_kind_and_number(certificate_pdf, notice_pdf):
    assert "Title:           检定证书 JD2025-000317" in tool("pdfinfo", str(certificate_pdf))
    assert "Title:           检定结果通知书 TZ2025-000042" in tool("pdfinfo", str(notice_pdf))


@needs_libreoffice
def test_pdf_embeds_the_cjk_faces(certificate_pdf):
    fonts = tool("pdffonts", str(certificate_pdf))
    rows = [line for line in fonts.splitlines() if "CJK" in line]
    # 宋体 → Noto Serif CJK, 黑体 → Noto Sans CJK (fontconfig aliases); all embedded.
    # LibreOffice 7.4 names a face of the .ttc after the collection's first (jp) font;
    # the glyphs are the SC ones.
    assert any("NotoSerifCJK" in r for r in rows), fonts
    assert any("NotoSansCJK" in r for r in rows), fonts
    assert all(r.split()[-5] == "yes" for r in rows), fonts  # the "emb" column
    # Times New Roman → its metric-compatible twin (fonts-liberation2 + the alias), embedded
    latin = [line for line in fonts.splitlines() if "LiberationSerif" in line]
    assert latin and all(r.split()[-5] == "yes" for r in latin), fonts
    assert "DejaVu" not in fonts, fonts


@needs_libreoffice
def test_qr_code_on_the_cover_decodes_to_the_verify_url(certificate_pdf, tmp_path):
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(certificate_pdf),
            str(tmp_path / "cover"),
        ],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("cover*.png")
    assert tool("zbarimg", "-q", "--raw", str(png)).strip() == SAMPLE["verify_url"]


@needs_libreoffice
def test_notice_has_no_validity_date_and_lists_failing_items(notice_pdf):
    text = flat(tool("pdftotext", str(notice_pdf), "-"))
    assert "检定结果通知书" in text
    assert "不合格" in text
    assert "有效日期" not in text and "2026年06月11日" not in text
    assert "不合格项目" in text
    for item in sample_context("notice")["failing_items"]:
        assert flat(item["item"]) in text and flat(item["measured"]) in text


@needs_libreoffice
def test_pdf_helpers(pool, certificate_pdf, notice_pdf):
    merged = merge_pdfs([certificate_pdf.read_bytes(), notice_pdf.read_bytes()])
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(merged)).pages) == 6
    assert re.fullmatch(r"[0-9a-f]{64}", pdf_sha256(merged))


def test_qr_png_decodes():
    url = "https://jl.example.cn/v/JD2025-000001.abc"
    assert tool("zbarimg", "-q", "--raw", "-", data=qr_png(url)).strip() == url


# --- rendering -------------------------------------------------------------------------------


def test_ampersand_and_angle_brackets_survive():
    ctx = sample_context()
    ctx["customer"]["name"] = "A&B 公司 <一车间>"
    out = render_docx(docx("送检单位：{{ customer.name }}"), ctx)
    assert Document(io.BytesIO(out)).paragraphs[0].text == "送检单位：A&B 公司 <一车间>"


def test_decimal_keeps_its_resolution_and_floats_are_refused():
    from decimal import Decimal

    ctx = sample_context()
    ctx["environment"]["temperature"] = Decimal("20.50")
    out = render_docx(docx("{{ environment.temperature }}"), ctx)
    assert Document(io.BytesIO(out)).paragraphs[0].text == "20.50"
    ctx["environment"]["temperature"] = 20.5
    with pytest.raises(TypeError):
        render_docx(docx("{{ environment.temperature }}"), ctx)


@pytest.mark.parametrize(
    "source",
    [
        "大气压：{{ environment.pressure }} kPa",
        "{{ environment.pressure|default('') }} kPa",  # default() without true lets None through
        "{{ lab.seal }}",
        "{{ valid_until.year }} 年",
        "{% for s in standard_devices %}{{ s.valid_until.iso }}{% endfor %}",
        "{% if lab.fax or lab.website %}传真：{{ lab.fax }}{% endif %}",
        "{% if not certificate.supersedes_number %}本证书替代 {{ certificate.supersedes_number }}{% endif %}",
    ],
)
def test_lint_refuses_a_bare_optional_tag(source):
    problems = lint_template(docx("封面", source), PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    (problem,) = problems
    assert problem.message_zh.startswith("模板标签 {{") and "可能为空" in problem.message_zh
    assert "{% if" in problem.message_zh and "default('—', true)" in problem.message_zh
    assert "正文第 2 段" in problem.place and source[:12] in problem.place


@pytest.mark.parametrize(
    "source",
    [
        "{% if environment.pressure %}大气压：{{ environment.pressure }} kPa{% endif %}",
        "大气压：{% if environment.pressure %}{{ environment.pressure }} kPa{% else %}—{% endif %}",
        "{{ environment.pressure|default('—', true) }}",
        "{{ environment.pressure or '—' }}",
        "{{ valid_until.zh if valid_until else '—' }}",
        "{% if not valid_until %}—{% else %}{{ valid_until.zh }}{% endif %}",
        "{% for s in standard_devices if s.valid_until %}{{ s.valid_until.iso }}{% endfor %}",
        "{% if lab.fax and lab.website %}{{ lab.fax }} {{ lab.website }}{% endif %}",
        "{% if lab.seal is none %}（检定专用章）{% else %}{{ lab.seal }}{% endif %}",
        "{{ lab.name }} {{ lab.authorization_no }}",  # required ones: "" until filled, never None
    ],
)
def test_lint_accepts_guarded_optional_tags(source):
    assert lint_template(docx(source), PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES) == []


def test_optional_variables_are_part_of_the_contract():
    assert OPTIONAL_VARIABLES <= PROVIDED_VARIABLES
    assert {
        "lab.fax",
        "lab.website",
        "lab.seal",
        "certificate.supersedes_number",
    } <= PROVIDED_VARIABLES


def test_shipped_templates_lint_clean_and_render():
    for template, kind in ((CERTIFICATE, "certificate"), (NOTICE, "notice")):
        assert lint_template(template, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES) == []
        ctx = sample_context(kind)
        out = render_docx(template, ctx, sample_images(ctx))
        body = "\n".join(p.text for p in Document(io.BytesIO(out)).paragraphs)
        assert "{{" not in body and "{%" not in body


def test_templates_are_reproducible_from_the_build_script():
    build = runpy.run_path(str(TEMPLATES / "build_templates.py"))["build"]
    assert build(False) == CERTIFICATE
    assert build(True) == NOTICE


def test_readme_lists_the_contract():
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    for key in SAMPLE:
        assert f"`{key}" in readme, key


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ x.__globals__ }}",
        "{{ lab.name.__globals__ }}",
        "{{ lab|attr('__class__') }}",
    ],
)
def test_sandbox_escapes_are_refused_by_lint_and_render(source):
    template = docx(source)
    problems = lint_template(template, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert any("受保护的属性" in p.message_zh for p in problems), problems
    with pytest.raises(TemplateProblem) as err:
        render_docx(template, sample_context())
    assert "__" in err.value.message_en


def test_sandbox_violation_at_runtime_is_a_template_problem():
    # an attribute name built at runtime gets past the static check; the sandbox stops it
    template = docx("{{ lab|attr('_' ~ '_class_' ~ '_') }}")
    with pytest.raises(TemplateProblem, match="unsafe|sandbox"):
        render_docx(template, sample_context())


def test_syntax_error_is_quoted_with_its_paragraph():
    template = docx("第一段", "检定结论：{{ conclusion }", "第三段")
    (problem,) = lint_template(template, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert "语法错误" in problem.message_zh
    assert "检定结论：{{ conclusion }" in problem.place
    with pytest.raises(TemplateProblem, match="语法错误"):
        render_docx(template, sample_context())


def test_unknown_variables_are_listed_in_chinese_first():
    template = docx(
        "{{ instrument.nmae }} {{ fax }}",
        "{% for r in results %}{{ r.itm }}{{ r.item }}{{ loop.index }}{% endfor %}",
        "{{ lab.name.upper() }} {% for k, v in lab.items() %}{{ v }}{% endfor %}",
    )
    (problem,) = lint_template(template, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert problem.message_zh.startswith("模板使用了证书数据中没有的变量")
    for name in ("instrument.nmae", "fax", "results[].itm"):
        assert name in problem.message_zh and name in problem.message_en
    assert "results[].item" not in problem.message_zh
    assert "lab.name" not in problem.message_zh
    # provided as a sample dict works too
    assert lint_template(docx("{{ a.b }}"), {"a": {"b": "x"}}) == []


def test_not_a_docx_is_refused():
    for data in (b"hello", b"PK\x03\x04broken", _zip({"a.txt": b"x"})):
        (problem,) = lint_template(data, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
        assert "不是 Word 文档" in problem.message_zh
        with pytest.raises(TemplateProblem):
            render_docx(data, sample_context())


def test_broken_document_inside_a_valid_zip_is_refused():
    broken = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"not xml"})
    (problem,) = lint_template(broken, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert "无法读取" in problem.message_zh
    with pytest.raises(TemplateProblem, match="无法读取"):
        render_docx(broken, sample_context())


def test_oversize_file_is_refused():
    template = docx("x")
    assert lint_template(template, PROVIDED_VARIABLES, Limits(max_bytes=len(template) - 1))
    big = template + b"\0" * (10 * 1024 * 1024)
    (problem,) = lint_template(big, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert "过大" in problem.message_zh


def test_zip_bomb_is_refused_from_the_directory():
    parts = {"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}
    bomb = _zip(parts | {"word/media/bomb.bin": b"\0" * (120 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    (problem,) = lint_template(bomb, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert "压缩炸弹" in problem.message_zh
    ratio = _zip(parts | {"word/media/a.bin": b"\0" * (20 * 1024 * 1024)})
    (problem,) = lint_template(ratio, PROVIDED_VARIABLES, optional=OPTIONAL_VARIABLES)
    assert "压缩比" in problem.message_zh
    with pytest.raises(TemplateProblem, match="压缩"):
        render_docx(bomb, sample_context())


def test_endless_template_times_out_and_the_worker_recovers():
    # the sandbox refuses a single huge range outright …
    with pytest.raises(TemplateProblem, match="MAX_RANGE"):
        render_docx(docx("{% for i in range(10**9) %}x{% endfor %}"), sample_context())
    # … and counts the iterations of nested loops: stopped at once, not at the time limit
    nested = docx(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(RenderLimit) as caught:
        render_docx(nested, sample_context())
    assert time.monotonic() - started < 3
    assert isinstance(caught.value, Refused) and caught.value.status_code == 422
    assert "循环次数超过上限" in caught.value.detail
    # what is slow some other way is killed at the time limit
    slow = docx("{% for i in range(99000) %}{{ ('x' * 100000)|reverse|list|length }}{% endfor %}")
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        render_docx(slow, sample_context(), timeout=1.5)
    assert time.monotonic() - started < 6
    out = render_docx(docx("{{ lab.name }}"), sample_context())
    assert Document(io.BytesIO(out)).paragraphs[0].text == SAMPLE["lab"]["name"]


def test_giant_output_is_stopped():
    with pytest.raises(RenderLimit, match="输出过大"):
        render_docx(
            docx("{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}"), sample_context()
        )
    with pytest.raises(RenderLimit, match="循环次数"):  # one budget for all the loops of a render
        render_docx(
            docx("{% for i in range(60000) %}{% endfor %}{% for i in range(60000) %}{% endfor %}"),
            sample_context(),
        )
    ok = docx("{% for i in range(60000) %}{% endfor %}{{ lab.name }}")
    for _ in range(2):  # the count starts again with each render
        assert Document(io.BytesIO(render_docx(ok, sample_context()))).paragraphs[0].text


def test_giant_strings_are_refused():
    with pytest.raises(TemplateProblem):
        render_docx(docx("{{ 'x' * 10**9 }}"), sample_context())


# --- the pool --------------------------------------------------------------------------------


@needs_libreoffice
def test_pool_survives_a_killed_server(pool, certificate_pdf):
    restarts = pool.restarts
    victim = pool.server_pids()[0]
    os.killpg(victim, signal.SIGKILL)
    document = docx("预热后 {{ lab.name }}")
    rendered = render_docx(document, sample_context())
    for _ in range(4):
        assert pool.convert(rendered).startswith(b"%PDF")
    pool.wait_idle(60)
    assert pool.restarts > restarts
    assert victim not in pool.server_pids()


@needs_libreoffice
def test_hanging_conversion_is_killed_at_the_timeout(pool):
    doc = Document()
    table = doc.add_table(rows=0, cols=4)
    for i in range(3000):  # ~100 pages: several seconds of LibreOffice work
        for cell in table.add_row().cells:
            cell.text = f"检定数据 {i}"
    slow = io.BytesIO()
    doc.save(slow)
    pool.wait_idle(60)
    restarts = pool.restarts
    pool.conversion_timeout = 0.1  # the client side waits this + 2 s
    started = time.monotonic()
    try:
        with pytest.raises(ConversionTimeout):
            pool.convert(slow.getvalue())
    finally:
        pool.conversion_timeout = 30
    assert time.monotonic() - started < 6
    assert pool.convert(render_docx(docx("{{ lab.name }}"), sample_context())).startswith(b"%PDF")
    pool.wait_idle(60)
    assert pool.restarts > restarts


def _group_members(groups: set[int]) -> dict[int, str]:
    """pid → command of every live process in these process groups (zombies excluded)."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) in groups:
            members[int(entry.name)] = command
    return members


def _holder(code: str) -> subprocess.Popen:
    """A stand-in for the server: a process that starts converters or renders, then waits."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "platform"))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # a group of its own: its render workers are in it
    )


def _kill_and_wait_for(holder: subprocess.Popen, groups: set[int], seconds: float = 5) -> dict:
    holder.kill()  # SIGKILL: no atexit, no cleanup of its own
    holder.wait(10)
    deadline = time.monotonic() + seconds
    while _group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _group_members(groups)
    for pid in left:  # leave no stray for the next test, then fail
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


POOL_HOLDER = """
import time
from metrolab.engine.documents.libreoffice import LibreOfficePool
pool = LibreOfficePool(size=2)
print(*pool.server_pids(), flush=True)
time.sleep(300)
"""

RENDER_HOLDER = """
import io, os, threading, time
from docx import Document
from metrolab.engine.documents import render
doc = Document()
doc.add_paragraph("{% for i in range(99000) %}{{ ('x' * 100000)|reverse|list|length }}{% endfor %}")
out = io.BytesIO()
doc.save(out)
workers = render._workers()
pids = [w.process.pid for w in list(workers._idle.queue)]
threading.Thread(target=render.render_docx, args=(out.getvalue(), {}), kwargs={"timeout": 300}).start()
time.sleep(3)  # the render under way (or its worker still starting: either must die)
print(os.getpgrp(), *pids, flush=True)
time.sleep(300)
"""


@needs_libreoffice
def test_libreoffice_dies_with_a_server_killed_by_sigkill():
    # the reproduction: kill -9 during a batch left 12 LibreOffice processes with parent 1
    holder = _holder(POOL_HOLDER)
    groups = {int(p) for p in holder.stdout.readline().split()}  # one group per server
    members = _group_members(groups)
    assert len(groups) == 2 and any("soffice.bin" in c for c in members.values()), members
    assert _kill_and_wait_for(holder, groups) == {}


def test_a_render_worker_dies_with_a_server_killed_mid_render():
    holder = _holder(RENDER_HOLDER)
    group, *workers = (int(p) for p in holder.stdout.readline().split())
    assert workers and set(workers) <= set(_group_members({group}))  # one of them is busy
    assert _kill_and_wait_for(holder, {group}) == {}


@needs_libreoffice
def test_pool_restarts_a_server_after_max_documents(pool):
    rendered = render_docx(docx("{{ certificate.number }}"), sample_context())
    pool.wait_idle(60)
    restarts, pids = pool.restarts, set(pool.server_pids())
    pool.max_documents = 1  # the server that converts the next document is then due
    try:
        assert pool.convert(rendered).startswith(b"%PDF")
        pool.wait_idle(60)
    finally:
        pool.max_documents = 200
    assert pool.restarts == restarts + 1
    assert len(set(pool.server_pids()) - pids) == 1  # one replaced, the other kept working
    assert pool.convert(rendered).startswith(b"%PDF")


@needs_libreoffice
def test_one_shot_soffice_converts_with_the_font_aliases(tmp_path):
    pdf = SofficeOnceConverter(timeout=120).convert(render_docx(CERTIFICATE, sample_context()))
    (tmp_path / "once.pdf").write_bytes(pdf)
    fonts = tool("pdffonts", str(tmp_path / "once.pdf"))
    assert "NotoSerifCJK" in fonts and "NotoSansCJK" in fonts, fonts


@needs_libreoffice
def test_diagnose_reports_a_working_toolchain():
    rows = diagnose()
    assert {name for name, _, _ in rows} >= {"unoserver", "font 宋体", "test conversion"}
    assert all(ok for _, ok, _ in rows), rows
    detail = {name: text for name, _, text in rows}
    assert detail["font Times New Roman"] == "→ Liberation Serif"
    assert (
        detail["font 宋体"] == "→ Noto Serif CJK SC" and detail["font 黑体"] == "→ Noto Sans CJK SC"
    )


def test_template_faces_are_read_from_the_docx_xml():
    faces = fonts.template_faces([TEMPLATES / "verification_certificate.docx"])
    assert {"Times New Roman", "宋体", "黑体"} <= set(faces)
    assert fonts.expected_family("Times New Roman") == "Liberation Serif"
    assert (
        fonts.expected_family("Calibri") == "Carlito"
        and fonts.expected_family("Cambria") == "Caladea"
    )
    assert fonts.expected_family("宋体") == "Noto Serif CJK SC"


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig not installed")
def test_a_machine_without_the_latin_twins_fails_the_font_check(tmp_path, monkeypatch):
    # What a fresh machine with only fonts-noto-cjk and DejaVu sees: Times New Roman falls back.
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd"><fontconfig>'
        "<dir>/usr/share/fonts/opentype/noto</dir><dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    monkeypatch.setenv("METROLAB_FONTCONFIG_FILE", str(conf))
    row = fonts.check_face("Times New Roman")
    assert (
        not row.ok and "应为 Liberation Serif" in row.detail and "fonts-liberation2" in row.detail
    )
    script = subprocess.run(
        [str(ROOT / "scripts" / "check_fonts.sh")], capture_output=True, text=True, timeout=120
    )
    assert script.returncode == 1 and '"Times New Roman" resolves to' in script.stderr
    monkeypatch.delenv("METROLAB_FONTCONFIG_FILE")
    assert fonts.check_face("Times New Roman").ok  # deploy/fontconfig/fonts.conf on this machine


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="Word may exist here")
def test_word_is_never_chosen_without_word():
    assert not word_available()
    with pytest.raises(ConversionError):
        Docx2PdfConverter()


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


@needs_libreoffice
def test_a_server_that_exits_at_start_is_started_again(tmp_path):
    """A free port is chosen by binding and releasing it, and another process may take it before
    unoserver binds it: the server then exits at once. The pool starts it again on new ports."""
    marker = tmp_path / "first-start"
    wrapper = tmp_path / "unoserver"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; exit 1; fi\n'  # as if its port was taken
        f'exec "{find_unoserver()}" "$@"\n'
    )
    wrapper.chmod(0o755)
    with LibreOfficePool(size=1, conversion_timeout=30, unoserver=str(wrapper)) as p:
        assert marker.exists()
        assert p.convert(render_docx(CERTIFICATE, sample_context(), {})).startswith(b"%PDF")
