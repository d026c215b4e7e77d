"""The certificate page (DB1304/T 505 §7.1): tabs 送检单位信息 / 检定结果信息 / 检定结果页 / 证书查看 /
流转与操作 on a real compiled certificate; the compiler's own statements (备注, 送检单位地址, 检定地点)
are edited there while 编制中 and printed on the preview and the issued PDF; everything the record holds
is read-only with the way back to the record. Real database (SQLite or PostgreSQL), real PDF toolchain."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import run
from factories import PASSWORD, as_user, compiled_certificates, qualify_async
from metrolab import storage
from metrolab.certificates import workflow as cw
from metrolab.engine.documents.render import to_plain

needs_pdf = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice / poppler-utils not installed",
)
HUGE = 10**20


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    return re.sub(r"\s+", "", out)


@pytest.fixture(scope="module")
def converter():
    from metrolab.certificates import services as certs
    from metrolab.engine.documents.pdf import get_converter

    try:
        conv = get_converter(size=1)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PDF converter: {exc}")
    certs.use_converter(conv)
    yield conv
    certs.use_converter(None)
    conv.close()


@pytest.fixture
def lab(db, make_user):
    from metrolab.certificates import template_versions as tv

    run(tv.seed_templates())
    rows = {
        "clerk": make_user("clerk", full_name="业务员小王"),
        "verifier": make_user("verifier", full_name="检定员张晓明"),
        "checker": make_user("checker", full_name="核验员李建华"),
        "approver": make_user("signatory", full_name="批准人王志刚"),
    }
    run(qualify_async(rows["verifier"]["id"]))
    people = {
        "clerk": as_user(rows["clerk"], "clerk"),
        "verifier": as_user(rows["verifier"], "verifier"),
        "checker": as_user(rows["checker"], "checker"),
        "approver": as_user(rows["approver"], "signatory"),
    }
    cid = run(compiled_certificates(people["clerk"], people["verifier"], serials=("SN-TAB-0417",)))[
        0
    ]
    return {"rows": rows, "people": people, "id": cid}


def _content(cid: int) -> dict:
    return to_plain(run(cw.derive_content(run(cw.get_certificate(cid)))))


def _record_id(cid: int) -> int:
    return run(cw.get_certificate(cid))["record"]


def test_each_tab_shows_the_records_values_read_only_with_the_way_back(lab, browser):
    cid, ctx = lab["id"], _content(lab["id"])
    browser.login(lab["rows"]["verifier"])
    inst = ctx["instrument"]
    assert inst["serial"] == "SN-TAB-0417" and ctx["conclusion"] == "合格"

    overview = browser.get(f"/certificates/{cid}")
    assert overview.status_code == 200
    for tab in ("送检单位信息", "检定结果信息", "检定结果页", "证书查看", "流转与操作"):
        assert tab in overview.text
    assert "编制中" in overview.text and "compiling" not in overview.text

    cover = browser.get(f"/certificates/{cid}/cover").text
    for value in (
        ctx["customer"]["name"],
        inst["name"],
        inst["model"],
        inst["serial"],
        ctx["basis"]["code"],
        ctx["verified_on"]["zh"],
        ctx["valid_until"]["zh"],
    ):
        assert value and value in cover, value
    assert f'href="/records/{_record_id(cid)}/edit"' in cover and "修改原始记录" in cover
    assert 'name="customer_address"' in cover and 'name="place"' in cover
    assert (
        'name="serial"' not in cover and 'name="conclusion"' not in cover
    )  # record values: read-only

    standards = browser.get(f"/certificates/{cid}/standards").text
    used = ctx["standard_devices"] + ctx["standard_instruments"]
    assert len(used) == 2
    for s in used:
        assert s["name"] in standards and s["certificate_no"] in standards
        assert s["valid_until"]["iso"] in standards
    for key, unit in (("temperature", "℃"), ("humidity", "%RH")):
        if ctx["environment"][key]:
            assert f"{ctx['environment'][key]} {unit}" in standards

    results = browser.get(f"/certificates/{cid}/results").text
    assert ctx["results"]
    for r in ctx["results"]:
        assert (
            r["item"] in results and str(r["measured"]) in results and r["requirement"] in results
        )
    assert 'name="remarks"' in results and 'name="measured"' not in results

    view = browser.get(f"/certificates/{cid}/view").text
    assert (
        f'<iframe class="ml-cert-pdf" id="certificate-pdf" src="/business/certificates/{cid}/preview.pdf"'
        in view
    )

    workflow = browser.get(f"/business/certificates/{cid}").text
    assert 'id="certificate-tabs"' in workflow and 'id="act-submit"' in workflow


def test_saving_a_tab_keeps_the_other_tabs_edits_and_an_error_keeps_what_was_typed(lab, browser):
    cid = lab["id"]
    browser.login(lab["rows"]["verifier"])
    r = browser.post(
        f"/certificates/{cid}/compiler-edits",
        data={
            "tab": "cover",
            "customer_address": "邯郸市峰峰矿区大淑村 8 号",
            "place": "大淑村矿井下 -450 m 水平",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/certificates/{cid}/cover?saved=1"
    r = browser.post(
        f"/certificates/{cid}/compiler-edits",
        data={"tab": "results", "remarks": "第一行\n\n第二行  "},
    )
    assert r.status_code == 200 and "已保存" in r.text
    edits = run(cw.get_certificate(cid))["compiler_edits"]
    assert edits == {
        "customer_address": "邯郸市峰峰矿区大淑村 8 号",
        "place": "大淑村矿井下 -450 m 水平",
        "remarks": "第一行\n\n第二行",
    }
    ctx = _content(cid)
    assert ctx["customer"]["address"] == "邯郸市峰峰矿区大淑村 8 号"
    assert ctx["remarks"][-3:] == ["检定地点：大淑村矿井下 -450 m 水平", "第一行", "第二行"]
    assert "检定地点：大淑村矿井下 -450 m 水平" in browser.get(f"/certificates/{cid}/results").text

    long_address = "很长的地址" * 41  # 205 characters
    r = browser.post(
        f"/certificates/{cid}/compiler-edits",
        data={"tab": "cover", "customer_address": long_address, "place": "新的地点"},
    )
    assert r.status_code == 400
    assert (
        "“送检单位地址”最多 200 个字" in r.text and long_address in r.text and "新的地点" in r.text
    )
    assert (
        run(cw.get_certificate(cid))["compiler_edits"]["place"] == "大淑村矿井下 -450 m 水平"
    )  # nothing saved
    r = browser.post(
        f"/certificates/{cid}/compiler-edits",
        data={"tab": "results", "remarks": "\n".join("行" * 11)},
    )
    assert r.status_code == 400 and "“备注”最多 10 行" in r.text


def test_a_measured_value_the_conclusion_or_a_date_cannot_be_edited_on_the_certificate(
    lab, browser
):
    cid = lab["id"]
    before = _content(cid)
    browser.login(lab["rows"]["verifier"])
    # the page's form takes its own fields only: anything else posted is not an edit
    browser.post(
        f"/certificates/{cid}/compiler-edits",
        data={"tab": "results", "remarks": "备注", "conclusion": "不合格", "measured": "9.99"},
    )
    assert run(cw.get_certificate(cid))["compiler_edits"] == {"remarks": "备注"}
    for key, label in (
        ("conclusion", "检定结论"),
        ("results", "检定结果"),
        ("verified_on", "检定日期"),
        ("measured", "实测值"),
        ("environment", "环境条件"),
    ):
        r = browser.put(
            f"/api/v1/certificates/{cid}/compiler-edits", json={key: "不合格", "remarks": "x"}
        )
        assert r.status_code == 400, r.text
        assert f"“{label}”来自原始记录，不能在证书上修改" in r.json()["detail"]
        assert any(e["field"] == key for e in r.json()["errors"])
    r = browser.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"no_such_field": "x"})
    assert r.status_code == 400 and "证书上没有可编辑的项目“no_such_field”" in r.json()["detail"]
    r = browser.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": 12})
    assert r.status_code == 400 and "“备注”应为文字" in r.json()["detail"]
    r = browser.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"place": "一行\n两行"})
    assert r.status_code == 400 and "“检定地点”只能是一行文字" in r.json()["detail"]
    after = _content(cid)
    assert after["results"] == before["results"] and after["conclusion"] == before["conclusion"]
    assert (
        after["verified_on"] == before["verified_on"]
        and after["valid_until"] == before["valid_until"]
    )


def test_edits_refused_outside_compiling_and_for_anyone_but_its_compiler(lab, browser, new_browser):
    cid, people = lab["id"], lab["people"]
    checker = new_browser().login(lab["rows"]["checker"])
    r = checker.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": "核验员写的"})
    assert r.status_code == 403  # no compile permission at all
    other = new_browser()
    other.login({**lab["rows"]["clerk"]})
    # the clerk may compile, but this certificate was compiled by the verifier: not the clerk's to edit
    r = other.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": "业务员写的"})
    assert r.status_code == 409 and "只有本证书的编制人或检定员" in r.json()["detail"]

    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    browser.login(lab["rows"]["verifier"])
    typed = "提交后才想到的备注"
    r = browser.post(
        f"/certificates/{cid}/compiler-edits", data={"tab": "results", "remarks": typed}
    )
    assert r.status_code == 409
    assert (
        "只有编制中的证书可以编辑" in r.text and "核验中" in r.text and typed in r.text
    )  # kept, not lost
    r = browser.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": typed})
    assert r.status_code == 409 and "只有编制中的证书可以编辑" in r.json()["detail"]
    assert run(cw.get_certificate(cid))["compiler_edits"] == {}
    # the record is locked now: the tabs say so and point to where it is reopened
    cover = browser.get(f"/certificates/{cid}/cover").text
    assert "不能直接修改" in cover and f'href="/business/certificates/{cid}"' in cover
    assert f"/records/{_record_id(cid)}/edit" not in cover and "disabled" in cover
    # a return brings it back to 编制中: editable again, and the history shows the actions' labels
    run(cw.act(cid, "return_check", people["checker"], reason="备注缺检定地点"))
    r = browser.put(f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": typed})
    assert r.status_code == 200 and r.json()["compiler_edits"] == {"remarks": typed}
    history = browser.get(f"/business/certificates/{cid}").text
    table = history[history.index('id="history"') :]
    assert "提交核验" in table and "核验退回" in table and "备注缺检定地点" in table
    assert ">submit<" not in table and ">return_check<" not in table and ">checking<" not in table
    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    actions = browser.get(
        f"/business/certificates/{cid}"
    ).text  # the verifier may not check: says who may
    assert "“核验通过”需要以下角色之一：核验员" in actions and "checker" not in actions


def test_api_twins_content_and_edits_round_trip_and_bounded_ids(lab, browser):
    cid = lab["id"]
    browser.login(lab["rows"]["verifier"])
    body = browser.get(f"/api/v1/certificates/{cid}/content").json()
    assert (
        body["status"] == "compiling"
        and body["status_label"] == "编制中"
        and body["editable"] is True
    )
    assert body["content"]["instrument"]["serial"] == "SN-TAB-0417" and body["compiler_edits"] == {}
    assert set(body["fields"]) == {"remarks", "customer_address", "place"}
    r = browser.put(
        f"/api/v1/certificates/{cid}/compiler-edits",
        json={"remarks": "API 备注", "customer_address": "  API 地址  "},
    )
    assert r.status_code == 200, r.text
    assert r.json()["compiler_edits"] == {"remarks": "API 备注", "customer_address": "API 地址"}
    assert r.json()["content"]["remarks"][-1] == "API 备注"
    assert r.json()["content"]["customer"]["address"] == "API 地址"
    r = browser.put(
        f"/api/v1/certificates/{cid}/compiler-edits", json={"remarks": "只留备注"}
    )  # PUT replaces
    assert r.json()["compiler_edits"] == {"remarks": "只留备注"}
    for url in (
        f"/api/v1/certificates/{HUGE}/content",
        f"/certificates/{HUGE}/cover",
        f"/certificates/{HUGE}",
        f"/business/certificates/{HUGE}",
        "/api/v1/certificates/0/content",
    ):  # a bounded id answers 400 naming the field, or 404: never a database error
        assert browser.get(url).status_code in (400, 404), url
    assert browser.put(
        f"/api/v1/certificates/{HUGE}/compiler-edits", json={"remarks": "x"}
    ).status_code in (400, 404)
    r = browser.post(f"/certificates/{HUGE}/compiler-edits", data={"tab": "cover", "place": "x"})
    assert r.status_code == 404
    r = browser.put(
        f"/api/v1/certificates/{cid}/compiler-edits", json={f"k{i}": "x" for i in range(50)}
    )
    assert r.status_code == 400


@needs_pdf
def test_a_remark_typed_on_the_page_is_in_the_preview_and_in_the_issued_pdf(
    lab, browser, converter
):
    cid, people = lab["id"], lab["people"]
    browser.login(lab["rows"]["verifier"])
    remark = "本仪表在大淑村矿井下现场检定，传感器已更换"
    r = browser.post(
        f"/certificates/{cid}/compiler-edits", data={"tab": "results", "remarks": remark}
    )
    assert r.status_code == 200
    preview = browser.get(f"/business/certificates/{cid}/preview.pdf")
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    assert remark in pdf_text(preview.content)

    run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
    cert = run(cw.act(cid, "approve", people["approver"], password=PASSWORD))
    assert cert["status"] == "issued" and cert["number"]
    assert (
        remark in cert["context"]["remarks"]
    )  # part of what the verifier, checker and approver signed
    issued = pdf_text(storage.get(cert["pdf_sha256"]))
    assert remark in issued and cert["number"] in issued
    overview = browser.get(f"/certificates/{cid}").text
    assert cert["number"] in overview and f'href="/certificates/{cid}/pdf"' in overview
    assert f'href="/verify/{cert["verify_token"]}"' in overview and "待打印" in overview
