"""机构信息 (lab settings): the admin page and its API, the seal upload, the number pattern used by
numbering, the certificate that prints them, and `metrolab check` while they are blank."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from datetime import date

import pytest
from PIL import Image

from conftest import cli, run, ui_login
from metrolab.certificates import numbers
from metrolab.certificates.contract import stand_in_seal_png
from metrolab.lab import services
from metrolab.lab.numbering import format_number, pattern_problem

FILLED = {
    "name": "邯郸市矿用仪表计量检定中心",
    "authorization_note": "本机构经河北省市场监督管理局授权，依法开展矿用仪表计量检定工作。",
    "authorization_no": "(冀)法计(2024)04017号",
    "address": "河北省邯郸市丛台区联纺东路 188 号",
    "postcode": "056002",
    "phone": "0310-8826517",
    "fax": "0310-8826518",
    "website": "www.hdjl.example.cn",
    "number_pattern": "HD{year}-{seq:06d}",
}
SEAL = stand_in_seal_png(FILLED["name"])


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 20, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def admin(browser, make_user):
    return browser.login(make_user("admin"))


# ── page and API ─────────────────────────────────────────────────────────────────────────────────


def test_admin_fills_the_settings_on_the_page_and_reads_them_back(admin):
    blank = admin.get("/lab/settings")
    assert blank.status_code == 200 and "机构信息" in blank.text
    assert (
        "尚未填写" in blank.text and "计量检定机构授权证书号" in blank.text
    )  # legally required, still blank
    r = admin.post(
        "/lab/settings",
        data=FILLED,
        files={"seal": ("seal.png", SEAL, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/lab/settings?saved=1"
    page = admin.get("/lab/settings?saved=1").text
    assert "已保存" in page and "尚未填写" not in page
    for value in FILLED.values():
        assert f'value="{value}"' in page or f">{value}</textarea>" in page, value
    assert 'src="/api/v1/lab/settings/seal"' in page and f"HD{date.today().year}-000017" in page

    api = admin.get("/api/v1/lab/settings").json()
    assert {k: api[k] for k in FILLED} == FILLED and api["missing_required"] == []
    seal = admin.get("/api/v1/lab/settings/seal")
    assert seal.status_code == 200 and seal.headers["content-type"] == "image/png"
    assert seal.content.startswith(b"\x89PNG") and api["seal_sha256"]
    assert run(services.lab_settings()) == {
        k: v for k, v in FILLED.items() if k != "number_pattern"
    }
    assert run(services.seal_png()) == seal.content
    assert run(services.number_pattern()) == "HD{year}-{seq:06d}"

    # removing the seal (and keeping the rest)
    admin.post("/lab/settings", data={**FILLED, "remove_seal": "1"})
    assert (
        run(services.seal_png()) is None
        and admin.get("/api/v1/lab/settings/seal").status_code == 404
    )
    assert run(services.lab_settings())["authorization_no"] == FILLED["authorization_no"]


def test_api_round_trip_changes_only_the_fields_given(admin):
    r = admin.put("/api/v1/lab/settings", json={**FILLED, "seal": base64.b64encode(SEAL).decode()})
    assert r.status_code == 200, r.text
    assert r.json()["number_example"] == f"HD{date.today().year}-000017"
    r = admin.put("/api/v1/lab/settings", json={"phone": "  0310-8826599 ", "website": ""})
    assert r.status_code == 200, r.text
    got = admin.get("/api/v1/lab/settings").json()
    assert (
        got["phone"] == "0310-8826599"
        and got["website"] == ""
        and got["address"] == FILLED["address"]
    )
    assert got["seal_sha256"]  # not given: kept
    assert admin.put("/api/v1/lab/settings", json={"seal": None}).status_code == 200
    assert admin.get("/api/v1/lab/settings").json()["seal_sha256"] == ""
    # the settings are never None: a fresh row gives strings, the name from METROLAB_LAB_NAME
    admin.put("/api/v1/lab/settings", json={k: "" for k in FILLED if k != "name"})
    settings = run(services.lab_settings())
    assert all(isinstance(v, str) for v in settings.values()) and settings["fax"] == ""
    assert run(services.number_pattern()) == numbers.DEFAULT_PATTERN


def test_only_the_admin_may_see_or_change_the_settings(browser, new_browser, make_user):
    clerk = browser.login(make_user("clerk", "verifier", "signatory"))
    for method, url in (
        ("GET", "/lab/settings"),
        ("POST", "/lab/settings"),
        ("GET", "/api/v1/lab/settings"),
        ("PUT", "/api/v1/lab/settings"),
        ("GET", "/api/v1/lab/settings/seal"),
    ):
        kwargs = (
            {"json": {"name": "篡改"}}
            if method == "PUT"
            else {"data": {"name": "篡改"}}
            if method == "POST"
            else {}
        )
        r = clerk.request(method, url, follow_redirects=False, **kwargs)
        assert r.status_code == 403, (method, url, r.status_code)
    anonymous = new_browser()
    assert anonymous.get("/api/v1/lab/settings").status_code == 401
    assert run(services.lab_settings())["name"] != "篡改"
    admin = new_browser().login(make_user("admin"))
    assert "/lab/settings" in admin.get("/home").text  # 系统 → 机构信息 in the navigation
    assert "/lab/settings" not in clerk.get("/home").text


# ── refusals: 中文, beside the field, typed values kept, nothing saved ─────────────────────────────


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("number_pattern", "JD{yyyy}-{seq:05d}", "不认识「{yyyy}」"),
        ("number_pattern", "JD{year}-0001", "必须包含且只包含一个流水号占位符 {seq}"),
        ("number_pattern", "JD-{seq:05d}", "必须包含年份 {year}"),
        ("number_pattern", "JD{year}-{seq.__class__}", "不认识"),
        ("number_pattern", "JD {year}/{seq}", "不能包含空格或 /"),
        ("postcode", "05600", "邮编应为 6 位数字"),
        ("phone", "0310<script>", "电话只能包含数字"),
        ("name", "", "单位名称不能为空"),
        ("address", "地" * 201, "地址不能超过 200 个字符"),
        ("authorization_note", "授" * 301, "检定机构授权说明不能超过 300 个字符"),
    ],
)
def test_bad_values_are_refused_beside_the_field_and_kept(admin, field, value, message):
    typed = {**FILLED, field: value}
    r = admin.post("/lab/settings", data=typed)
    assert r.status_code == 400 and message in r.text.replace("&#34;", '"').replace("&#39;", "'")
    assert "请修改标红的项目" in r.text and 'class="ml-field has-error"' in r.text
    assert (
        FILLED["authorization_no"] in r.text
        and f"{typed['authorization_note']}</textarea>" in r.text
    )  # kept
    api = admin.put("/api/v1/lab/settings", json={field: value})
    assert api.status_code == 400 and message in api.json()["detail"]
    assert api.json()["errors"][0]["field"] == field
    assert run(services.lab_settings())["authorization_no"] == ""  # nothing was saved


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 1), "不能超过 2 MB"),
        (b"GIF89a not what it says", "须为 PNG 或 JPEG"),
        (b"%PDF-1.7 a document", "须为 PNG 或 JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 40, "无法识别的图片文件"),
        (png(20, 20), "尺寸不合适（20×20 像素）"),
        (png(1200, 200), "尺寸不合适（1200×200 像素）"),
    ],
)
def test_a_seal_that_is_not_a_sane_image_is_refused(admin, content, message):
    r = admin.post("/lab/settings", data=FILLED, files={"seal": ("seal.png", content, "image/png")})
    assert r.status_code == 400 and message in r.text
    assert f'value="{FILLED["address"]}"' in r.text  # the typed values are kept
    api = admin.put("/api/v1/lab/settings", json={"seal": base64.b64encode(content).decode()})
    assert api.status_code == 400 and message in api.json()["detail"]
    assert run(services.seal_png()) is None and run(services.lab_settings())["address"] == ""


def test_api_refuses_unknown_fields_and_non_strings(admin):
    r = admin.put("/api/v1/lab/settings", json={"nmae": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "nmae"
    r = admin.put("/api/v1/lab/settings", json={"phone": 3108826517})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "phone"
    assert "应为文本" in r.json()["detail"]
    r = admin.put("/api/v1/lab/settings", json={"address": "a\u0000b"})  # NUL: 400, not a 500
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "address"
    r = admin.put("/api/v1/lab/settings", json={"seal": "not base64!"})
    assert r.status_code == 400 and "base64" in r.json()["detail"]


def test_a_jpeg_seal_is_stored_as_png(admin):
    out = io.BytesIO()
    Image.open(io.BytesIO(SEAL)).convert("RGB").save(out, "JPEG")
    r = admin.post(
        "/lab/settings",
        data=FILLED,
        files={"seal": ("seal.jpg", out.getvalue(), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert Image.open(io.BytesIO(run(services.seal_png()))).format == "PNG"


# ── numbering ────────────────────────────────────────────────────────────────────────────────────


def test_number_patterns():
    assert pattern_problem("") is None and pattern_problem("JD{year}-{seq:05d}") is None
    assert pattern_problem("冀检{year}第{seq:04d}号") is None
    assert format_number("冀检{year}第{seq:04d}号", 2026, 17) == "冀检2026第0017号"
    assert format_number("JD{year}-{seq}", 2026, 17) == "JD2026-17"
    assert "花括号不成对" in pattern_problem("JD{year-{seq}")
    assert "不能超过 40 个字符" in pattern_problem("J" * 41 + "{year}{seq}")


def test_allocation_uses_the_labs_pattern_and_stays_gapless(admin):
    assert run(numbers.allocate_number(2033)) == "JD2033-00001"  # the default while blank
    assert (
        admin.put(
            "/api/v1/lab/settings", json={"number_pattern": "冀检{year}第{seq:04d}号"}
        ).status_code
        == 200
    )
    assert run(numbers.allocate_number(2033)) == "冀检2033第0002号"
    assert run(numbers.allocate_number(2033)) == "冀检2033第0003号"
    assert run(numbers.allocate_number(2034)) == "冀检2034第0001号"  # per year
    # a new pattern that would give an earlier number again skips it rather than duplicating it
    admin.put("/api/v1/lab/settings", json={"number_pattern": "X{year}1{seq}"})
    assert run(numbers.allocate_number(2035)) == "X203511"  # seq 1
    admin.put("/api/v1/lab/settings", json={"number_pattern": "X{year}{seq}"})
    got = [
        run(numbers.allocate_number(2035)) for _ in range(10)
    ]  # seq 2 … 10, then 11 = X203511 again
    assert (
        got[0] == "X20352" and got[-1] == "X203512" and "X203511" not in got and len(set(got)) == 10
    )


# ── the certificate and `metrolab check` ─────────────────────────────────────────────────────────


def _context(lab: dict) -> dict:
    from metrolab.certificates.context import build_context

    record = {
        "data": {},
        "conclusion": "合格",
        "verified_on": date(2026, 3, 12),
        "serial": "SN-7315",
        "model": "JCB4",
        "manufacturer": "邯郸市恒安矿用仪器有限公司",
        "instrument_name": "便携式甲烷检测报警仪",
        "environment": {"temperature": "21.5", "humidity": "48"},
    }  # no pressure recorded
    itype = {
        "name": {"zh": "便携式甲烷检测报警仪"},
        "regulation": {"code": "JJG 678", "edition": "2007", "name": "催化燃烧式甲烷测定器"},
        "cycle_months": 12,
        "items": [],
    }
    return build_context(
        record,
        customer={"name": "大淑村矿", "address": ""},
        instrument_type=itype,
        people={"verifier": "张晓明"},
        standards=[],
        lab=lab,
        number="HD2026-000017",
        revision=1,
        verify_url="https://jl.example.cn/verify/x",
    )


def test_context_gives_strings_never_none_for_missing_text():
    ctx = _context({})
    assert ctx["environment"]["pressure"] == "" and ctx["certificate"]["supersedes_number"] == ""
    assert (
        ctx["lab"]["fax"] == ""
        and ctx["lab"]["authorization_no"] == ""
        and ctx["lab"]["seal"] is None
    )
    assert ctx["lab"]["name"] == os.environ.get("METROLAB_LAB_NAME", "示例计量检定所")
    assert _context({"fax": None, "phone": 88})["lab"]["phone"] == "88"


@pytest.mark.skipif(
    shutil.which("soffice") is None or os.environ.get("METROLAB_SKIP_LIBREOFFICE") == "1",
    reason="LibreOffice not installed",
)
def test_certificate_prints_the_settings_and_never_none(admin, tmp_path):
    from metrolab.engine.documents.libreoffice import SofficeOnceConverter
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx
    from metrolab.paths import data_folder

    admin.put("/api/v1/lab/settings", json={**FILLED, "seal": base64.b64encode(SEAL).decode()})
    ctx = _context(run(services.lab_settings()))
    template = (data_folder("certificate_templates") / "verification_certificate.docx").read_bytes()
    images = {"qr_code": qr_png(ctx["verify_url"]), "lab.seal": run(services.seal_png())}
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(SofficeOnceConverter(timeout=120).convert(render_docx(template, ctx, images)))
    text = re.sub(
        r"\s+",
        "",
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout,
    )
    assert "None" not in text and "null" not in text and "{{" not in text
    for value in (
        "(冀)法计(2024)04017号",
        FILLED["authorization_note"],
        "传真：0310-8826518",
        "网址：www.hdjl.example.cn",
        "邮编：056002",
        "大气压：—",
        "HD2026-000017",
    ):
        assert re.sub(r"\s+", "", value) in text, value
    assert (
        "kPa" not in text and "（检定专用章）" not in text
    )  # no pressure → no unit; the seal image instead
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "检定证书 HD2026-000017" in info


def test_metrolab_check_warns_while_required_settings_are_blank(admin):
    result = cli("check", "--no-convert")
    out = result.output
    assert (
        "[!] 机构信息: 证书须载明的 计量检定机构授权证书号、检定机构授权说明、地址、邮编、电话 尚未填写"
        in out
    )
    assert "[✓] font Times New Roman: → Liberation Serif" in out
    assert (
        "[✓] font 宋体: → Noto Serif CJK SC" in out and "[✓] font 黑体: → Noto Sans CJK SC" in out
    )
    assert result.exit_code == 0, out  # a warning, not a failure
    admin.put("/api/v1/lab/settings", json=FILLED)
    out = cli("check", "--no-convert").output
    assert f"[✓] 机构信息: {FILLED['name']}" in out and "尚未填写" not in out


# ── in Chromium ──────────────────────────────────────────────────────────────────────────────────


@pytest.mark.browser
def test_admin_uploads_the_seal_and_types_the_settings_in_chromium(page, make_user, tmp_path):
    ui_login(page, make_user("admin"))
    page.goto("/lab/settings")
    for name in ("authorization_no", "address", "postcode", "phone", "fax"):
        page.locator(f"input[name={name}]").press_sequentially(FILLED[name])
    page.locator("textarea[name=authorization_note]").press_sequentially(
        FILLED["authorization_note"]
    )
    page.locator("input[name=number_pattern]").press_sequentially("JD{year}-{seq}")
    (tmp_path / "seal.png").write_bytes(SEAL)
    page.set_input_files("input[name=seal]", str(tmp_path / "seal.png"))
    page.click("form[action='/lab/settings'] button[type=submit]")
    page.wait_for_url("**/lab/settings?saved=1")
    assert page.input_value("input[name=authorization_no]") == FILLED["authorization_no"]
    assert page.input_value("textarea[name=authorization_note]") == FILLED["authorization_note"]
    assert page.input_value("input[name=number_pattern]") == "JD{year}-{seq}"
    assert page.locator("img[alt=检定专用章]").evaluate("img => img.naturalWidth") == 480
    assert run(services.lab_settings())["fax"] == FILLED["fax"]
