"""The public 业务服务 portal (§5.3): 检定申请 without login → the clerk's home task → 受理 into an
entrustment (or 不予受理) → progress by number + phone; 标准查询; QR codes. Real database."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest

from conftest import run
from metrolab.business.tables import Entrustment, VerificationTask
from metrolab.customers.tables import Customer
from metrolab.services import services
from metrolab.services.tables import PublishedDocument, ServiceApplication
from test_business import PASSWORD, _fill_record, people, who  # noqa: F401 - fixture

APPLY = {
    "unit": "峰峰集团新三矿",
    "contact": "李四",
    "phone": "0310-5550001",
    "lines.0.instrument_type": "methane_detector",
    "lines.0.quantity": "3",
    "lines.0.serial": "SN-APPLY-0001",
    "wished_date": (date.today() + timedelta(days=7)).isoformat(),
    "remarks": "井下使用",
}


def _apply(browser, **changes):  # noqa: ANN001, ANN003, ANN202
    return browser.post("/services/apply", data={**APPLY, **changes}, follow_redirects=False)


def test_public_pages_need_no_login_and_every_public_page_links_the_portal(seeded, browser):
    home = browser.get("/services")
    assert home.status_code == 200
    for href in ("/services/apply", "/services/status", "/verify", "/services/standards"):
        assert f'href="{href}"' in home.text
    for path in ("/login", "/verify", "/services/apply", "/services/status"):
        assert 'href="/services"' in browser.get(path).text, path


def test_an_application_with_bad_input_keeps_what_was_typed_and_says_why(seeded, browser):
    r = _apply(
        browser,
        phone="abc",
        **{"lines.0.quantity": "0", "lines.1.instrument_type": "不存在", "lines.1.quantity": "2"},
        wished_date="2020-01-01",
        unit="峰" * 201,
    )
    assert r.status_code == 400
    text = r.text
    assert "联系电话应为 5–30 位数字" in text and "数量应为 1–9999 的整数" in text
    assert (
        "请选择器具类型" in text
        and "期望日期不能早于今天" in text
        and "过长（至多 200 字）" in text
    )
    assert 'value="李四"' in text and "井下使用" in text and 'value="abc"' in text
    assert run(ServiceApplication.count()) == 0


def test_no_instruments_nul_bytes_and_the_honeypot_are_refused(seeded, browser):
    r = _apply(
        browser, **{"lines.0.instrument_type": "", "lines.0.quantity": "", "lines.0.serial": ""}
    )
    assert r.status_code == 400 and "请至少填写一种送检器具" in r.text
    r = _apply(browser, contact="李\x00四")
    assert r.status_code == 400 and "控制字符" in r.text
    r = _apply(browser, website="http://spam.example")
    assert r.status_code == 400 and "提交失败" in r.text
    assert run(ServiceApplication.count()) == 0


def test_one_address_is_throttled_after_a_few_applications(seeded, browser):
    for _i in range(services.PER_IP_LIMIT):
        assert _apply(browser).status_code == 200
    r = _apply(browser)
    assert r.status_code == 429 and "提交过于频繁" in r.text and 'value="李四"' in r.text
    assert run(ServiceApplication.count()) == services.PER_IP_LIMIT


def test_applied_then_accepted_by_the_clerk_then_progress_follows_the_certificate(
    people,  # noqa: F811 - the fixture imported from test_business
    browser,
    new_browser,
    make_user,
    converter,
):
    r = _apply(browser)
    assert r.status_code == 200
    number = f"SQ{date.today().year}-00001"
    assert number in r.text
    status = browser.get(f"/services/status?number={number}&phone=0310-5550001")
    assert status.status_code == 200 and "当前进度：<strong" in status.text
    assert "已提交</strong>" in status.text
    wrong = browser.get(f"/services/status?number={number}&phone=0310-0000000")
    assert wrong.status_code == 404 and "没有找到该申请" in wrong.text

    clerk = new_browser().login(make_user("clerk"))
    home = clerk.get("/home").text
    assert "待受理的检定申请" in home and "/services/applications" in home
    app = run(ServiceApplication.select().first())
    detail = clerk.get(f"/services/applications/{app['id']}").text
    assert "峰峰集团新三矿" in detail and "甲烷" in detail and "尚未在客户中建档" in detail
    # An unknown customer is made only when the clerk says so.
    url = f"/services/applications/{app['id']}/accept"
    r = clerk.post(url, data={"customer": "峰峰集团新三矿"})
    assert r.status_code == 400 and "尚未建档" in r.text and run(Entrustment.count()) == 0
    r = clerk.post(
        url, data={"customer": "峰峰集团新三矿", "new_customer": "1"}, follow_redirects=False
    )
    assert r.status_code == 303
    e = run(Entrustment.select().first())
    assert r.headers["location"] == f"/entrustments/{e['id']}"
    assert run(Customer.select(Customer.name).where(Customer.id == e["customer"]).first()) == {
        "name": "峰峰集团新三矿"
    }
    tasks = run(VerificationTask.select().where(VerificationTask.entrustment == e["id"]))
    assert [(t["instrument_type"], t["quantity"]) for t in tasks] == [("methane_detector", 3)]
    assert e["contact"] == "李四" and e["requested_date"] == date.today() + timedelta(days=7)
    assert clerk.post(url, data={"customer": "峰峰集团新三矿"}).status_code == 409
    assert (
        "已受理</strong>"
        in browser.get(f"/services/status?number={number}&phone=0310-5550001").text
    )

    # The department works on it: a record is opened → 检定中.
    from metrolab.business import services as business

    run(business.receive(e["id"], people["verifier"], 3))
    task = run(business.tasks_of(e["id"]))[0]
    run(business.assign(task["id"], people["verifier"].id, people["verifier"]))
    record_id = run(business.open_record(task["id"], people["verifier"]))
    progress = run(services.progress(number, "0310-5550001"))
    assert progress and progress["current"] == "检定中"
    assert [s["done"] for s in progress["steps"]] == [True, True, True, False]
    run(_fill_record(record_id))
    certificate_id = run(business.compile_certificate(task["id"], people["verifier"]))
    assert run(services.progress(number, "0310-5550001"))["current"] == "检定中"
    # Checked and approved (signed, rendered): every line has its certificate → 已出证.
    from metrolab.certificates import workflow as cw

    run(cw.act(certificate_id, "submit", people["verifier"], password=PASSWORD))
    run(cw.act(certificate_id, "pass_check", people["checker"], password=PASSWORD))
    run(cw.act(certificate_id, "approve", people["approver"], password=PASSWORD))
    text = browser.get(f"/services/status?number={number}&phone=0310-5550001").text
    assert "已出证</strong>" in text


def test_decline_needs_a_reason_and_the_customer_sees_it(seeded, browser, new_browser, make_user):
    _apply(browser)
    app = run(ServiceApplication.select().first())
    clerk = new_browser().login(make_user("clerk"))
    url = f"/services/applications/{app['id']}/decline"
    r = clerk.post(url, data={"reason": ""})
    assert r.status_code == 400 and "不予受理须填写原因" in r.text
    r = clerk.post(url, data={"reason": "本所不具备该项目资质"}, follow_redirects=False)
    assert r.status_code == 303
    text = browser.get(f"/services/status?number={app['number']}&phone=0310-5550001").text
    assert "不予受理" in text and "本所不具备该项目资质" in text
    assert "待受理的检定申请" in clerk.get("/home").text
    assert run(Entrustment.count()) == 0


def test_the_api_twins_accept_and_decline(seeded, browser, new_browser, make_user):
    _apply(browser)
    _apply(browser, unit="峰峰集团大淑村矿")
    first, second = run(ServiceApplication.select().order_by(ServiceApplication.id))
    clerk = new_browser().login(make_user("clerk"))
    listed = clerk.get("/api/v1/services/applications").json()["items"]
    assert [a["number"] for a in listed] == [first["number"], second["number"]]
    r = clerk.post(f"/api/v1/services/applications/{first['id']}/accept", json={})
    assert r.status_code == 400 and "尚未建档" in r.json()["detail"]
    r = clerk.post(
        f"/api/v1/services/applications/{first['id']}/accept", json={"new_customer": True}
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["entrustment_number"].startswith("WT")
    r = clerk.post(
        f"/api/v1/services/applications/{second['id']}/decline", json={"reason": "x" * 501}
    )
    assert r.status_code == 400
    r = clerk.post(f"/api/v1/services/applications/{second['id']}/decline", json={"reason": "重复"})
    assert r.status_code == 200 and r.json()["decline_reason"] == "重复"
    assert (
        clerk.post("/api/v1/services/applications/99999999999/accept", json={}).status_code == 400
    )
    verifier = new_browser().login(make_user("verifier"))
    assert verifier.get("/api/v1/services/applications").status_code == 403


def test_standards_page_lists_regulations_with_edition_and_standards_with_validity(seeded, browser):
    from metrolab.indicators.tables import InstrumentType, Standard

    t = run(InstrumentType.select().where(InstrumentType.code == "methane_detector").first())
    r = browser.get("/services/standards")
    assert r.status_code == 200
    assert t["regulation_code"] in r.text and t["regulation_edition"] in r.text
    device = run(Standard.select().where(Standard.kind == "device").first())
    assert device["certificate_no"] in r.text
    run(
        Standard.update({Standard.valid_until: date(2020, 1, 1)}).where(Standard.id == device["id"])
    )
    hit = browser.get("/services/standards", params={"q": device["name"]}).text
    assert device["name"] in hit and "已过期" in hit
    none = browser.get("/services/standards", params={"q": "没有这样的规程"}).text
    assert "没有符合条件的规程" in none


def test_qr_codes_of_the_public_pages_download_as_svg_and_png(seeded, browser):
    page = browser.get("/services/qr").text
    assert "/services/qr/apply.svg" in page and "/services/qr/verify.png" in page
    svg = browser.get("/services/qr/apply.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = browser.get("/services/qr/status.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert browser.get("/services/qr/nothing.svg").status_code == 404


@pytest.mark.parametrize("path", ["/services/applications", "/services/applications/1"])
def test_staff_pages_need_the_permission(seeded, new_browser, make_user, path):
    anonymous = new_browser()
    assert anonymous.get(path, follow_redirects=False).status_code in (302, 303, 401)
    verifier = new_browser().login(make_user("verifier"))
    assert verifier.get(path).status_code == 403


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_admin_publishes_a_document_anyone_downloads_it_until_it_is_withdrawn(
    seeded, browser, new_browser, make_user
):
    admin = new_browser().login(make_user("admin"))
    r = admin.post(
        "/services/documents",
        data={"title": "检定申请表", "category": "申请表格"},
        files={"file": ("申请表.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listed = browser.get("/services/documents").text
    assert "检定申请表" in listed and "申请表格" in listed and "1 KB" in listed
    doc = run(PublishedDocument.select().first())
    got = browser.get(f"/services/documents/{doc['id']}/download")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"].startswith("application/pdf")
    # Not a PDF though named so, a script, and an empty title: refused beside the form, typed kept.
    r = admin.post(
        "/services/documents",
        data={"title": "收费标准", "category": "收费标准"},
        files={"file": ("收费.pdf", b"<script>alert(1)</script>", "application/pdf")},
    )
    assert r.status_code == 400 and "只接受 PDF" in r.text and 'value="收费标准"' in r.text
    r = admin.post(
        "/services/documents",
        data={"title": "", "category": "收费标准"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 400 and "请填写资料标题" in r.text
    assert run(PublishedDocument.count()) == 1
    r = admin.post(f"/services/documents/{doc['id']}/withdraw", follow_redirects=False)
    assert r.status_code == 303
    assert "检定申请表" not in browser.get("/services/documents").text
    assert browser.get(f"/services/documents/{doc['id']}/download").status_code == 404
    assert "已撤下" in admin.get("/services/documents/manage").text


def test_document_api_twin_and_limits(seeded, new_browser, make_user):
    import base64

    admin = new_browser().login(make_user("admin"))
    body = {
        "title": "办事指南",
        "category": "办事指南",
        "filename": "guide.pdf",
        "content_base64": base64.b64encode(PDF).decode(),
    }
    r = admin.post("/api/v1/services/documents", json=body)
    assert r.status_code == 201 and r.json()["size"] == len(PDF)
    r = admin.post("/api/v1/services/documents", json=body | {"content_base64": "!!"})
    assert r.status_code == 400
    r = admin.post("/api/v1/services/documents", json=body | {"category": "没有的类别"})
    assert r.status_code == 400 and "类别" in r.json()["detail"]
    from metrolab.kernel.errors import Refused
    from metrolab.services import documents
    from metrolab.settings import get_settings

    with pytest.raises(Refused) as too_big:
        documents.media_type(PDF + b"0" * get_settings().upload_max_bytes, "big.pdf")
    assert too_big.value.status_code == 413 and "文件过大" in too_big.value.detail
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"0" * (20 * 1024 * 1024))
    packed = base64.b64encode(bomb.getvalue()).decode()
    r = admin.post(
        "/api/v1/services/documents",
        json=body | {"filename": "x.docx", "content_base64": packed},
    )
    assert r.status_code in (400, 413) and run(PublishedDocument.count()) == 1, r.text
    doc_id = run(PublishedDocument.select().first())["id"]
    assert admin.post(f"/api/v1/services/documents/{doc_id}/withdraw").status_code == 200
    assert admin.post(f"/api/v1/services/documents/{doc_id}/withdraw").status_code == 409
    clerk = new_browser().login(make_user("clerk"))
    assert clerk.get("/services/documents/manage").status_code == 403


def test_an_english_customer_reads_the_messages_in_english(seeded, browser):
    browser.post("/language", data={"language": "en", "next": "/services"})
    assert "Verification application" in browser.get("/services").text
    r = _apply(browser, phone="abc", **{"lines.0.quantity": "0"})
    assert r.status_code == 400
    assert "The phone must be 5–30 digits" in r.text
    assert "Quantity must be a whole number from 1 to 9999" in r.text
    assert "联系电话应为" not in r.text and 'value="李四"' in r.text


def _entrustment_serial_required(required: bool) -> None:
    """The lab publishes a 委托受理单 whose instrument line's 出厂编号 is (not) required — through
    draft, review and approval as a lab does."""
    from metrolab.forms import services as forms
    from metrolab.web.auth import CurrentUser

    def person(roles: str) -> CurrentUser:
        from conftest import UserFactory

        row = UserFactory()(roles)
        return CurrentUser(
            id=row["id"],
            username=row["username"],
            full_name="",
            language="zh",
            department_id=None,
            roles=frozenset({roles}),
        ), row["password"]

    (author, _p), (reviewer, password) = person("tech_manager"), person("template_reviewer")
    draft = run(forms.new_draft("entrustment", author))
    doc = draft["definition"]

    def walk(node):  # noqa: ANN001, ANN202
        if isinstance(node, dict):
            if node.get("key") == "serial":
                node["required"] = required
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    run(forms.save_draft(draft["id"], doc, draft["revision"], author))
    run(forms.submit_for_review(draft["id"], author, "出厂编号到货时再填"))
    run(forms.approve(draft["id"], reviewer, password))


def test_a_blank_serial_is_refused_beside_its_line_only_when_the_form_requires_it(seeded, browser):
    r = _apply(browser, **{"lines.0.serial": ""})
    assert r.status_code == 400
    line = re.search(r'<label class="ml-field ml-serial has-error">.*?</label>', r.text, re.S)
    assert line and "请填写该器具的出厂编号" in line.group(0)
    assert 'value="李四"' in r.text  # what was typed is kept
    browser.post("/language", data={"language": "en", "next": "/services/apply"})
    r = _apply(browser, **{"lines.0.serial": ""})
    assert r.status_code == 400 and "serial number" in r.text.lower()
    browser.post("/language", data={"language": "zh", "next": "/services/apply"})
    assert run(ServiceApplication.count()) == 0

    _entrustment_serial_required(False)  # a lab whose 委托受理单 takes serials at receipt
    r = _apply(browser, **{"lines.0.serial": ""})
    assert r.status_code == 200 and "申请已提交" in r.text
    assert run(ServiceApplication.count()) == 1
