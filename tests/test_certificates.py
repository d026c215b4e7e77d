"""Certificates: templates as reviewed data, numbering, issuing through real LibreOffice, the public
QR verification page, printing. Real database (SQLite or PostgreSQL), real PDF toolchain.

The PDF tests need LibreOffice, poppler-utils, zbar-tools and ``.venv-uno``; they share one warm
converter (the module's, as in production).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from conftest import run
from factories import PASSWORD, approved, person_async
from metrolab.certificates import numbers, services
from metrolab.certificates.catalogue import instrument_type, instrument_types, standards
from metrolab.certificates.contract import SAMPLE
from metrolab.certificates.tables import (
    Certificate,
    CertificateNumber,
    CertificateTemplate,
    PrintLog,
    TemplateVersion,
    VerificationScan,
)
from metrolab.web.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
needs_pdf = pytest.mark.skipif(
    shutil.which("soffice") is None
    or shutil.which("zbarimg") is None
    or shutil.which("pdftotext") is None,
    reason="LibreOffice / poppler-utils / zbar-tools not installed",
)


@dataclasses.dataclass
class Actor:
    id: int
    username: str = "tester"
    full_name: str = "测试"


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tool(*cmd: str, data: bytes | None = None) -> bytes:
    return subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=60).stdout


def pdf_text(pdf: bytes) -> str:
    return tool("pdftotext", "-", "-", data=pdf).decode()


def pdf_pages(pdf: bytes) -> int:
    info = tool("pdfinfo", "-", data=pdf).decode()
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def qr_url(pdf: bytes) -> str:
    png = tool("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "-", data=pdf)
    out = tool("zbarimg", "--quiet", "--raw", "-", data=png).decode().strip()
    return out.splitlines()[0]


def docx_with(*paragraphs: str) -> bytes:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


async def _customer(name: str = "冀中能源峰峰集团有限公司大淑村矿") -> dict:
    from metrolab.customers.tables import Customer

    row = await Customer.select().where(Customer.name == name).first()
    if row:
        return row
    c = Customer(name=name, address="河北省邯郸市峰峰矿区大淑村")
    await c.save()
    return {"id": c.id, "name": name, "address": c.address}


async def record_for(code: str, *, conforming: bool | None = None, serial: str = "") -> dict:
    """An original record of ``code`` computed by the form engine from the form's sample data."""
    from metrolab.engine.forms import compute, load_definition, sample_data

    itype = await instrument_type(code)
    form = json.loads((ROOT / "form_schemas" / f"{itype['record_form']}.json").read_text())
    defn = load_definition(form, catalogue=itype)
    result = compute(defn, sample_data(defn, catalogue=itype), catalogue=itype)
    items = [dataclasses.asdict(i) for i in result.items]
    conclusion = result.conclusion
    if conforming is not None:
        for item in items:
            item["conclusion"] = "合格"
        if not conforming:
            items[-1]["conclusion"] = "不合格"
        conclusion = "合格" if conforming else "不合格"
    return {
        "data": result.data,
        "items": items,
        "conclusion": conclusion,
        "verified_on": date(2026, 3, 12),
        "serial": serial or f"SN-{code[:6].upper()}-7315",
        "model": "XK-20",
        "manufacturer": "邯郸市恒安矿用仪器有限公司",
        "environment": {"temperature": "21.5", "humidity": "48", "pressure": "101.2"},
    }


async def make_certificate(
    code: str = "methane_detector",
    conforming: bool | None = True,
    serial: str = "",
    signers: dict | None = None,
) -> dict:
    itype = await instrument_type(code)
    customer = await _customer()
    rec = await record_for(code, conforming=conforming, serial=serial)
    stds = await standards(["FAC-GAS-01", "STD-GAS-CO-01", "STD-VOL-20-01"])
    ctx = services.build_context(
        rec,
        customer=customer,
        instrument_type=itype,
        people={"verifier": "张晓明", "checker": "李建华", "approver": "王志刚"},
        standards=stds,
        lab=SAMPLE["lab"],
        number=None,
        revision=1,
        verify_url=None,
    )
    return await services.create_certificate(
        ctx, instrument_type=code, customer_id=customer["id"], signers=signers, status="approving"
    )


async def issued(code: str = "methane_detector", **kw) -> dict:
    """Issued the only way there is: through the signed approval."""
    cert = await make_certificate(code, **kw)
    return await approved(cert["id"])


# ── build_context (no PDF) ────────────────────────────────────────────────────────────────


def test_context_follows_the_conclusion_and_the_validity_rule(seeded):
    ok = run(make_certificate("methane_detector", conforming=True))
    bad = run(make_certificate("methane_detector", conforming=False))
    assert ok["kind"] == "检定证书" and bad["kind"] == "检定结果通知书"
    assert ok["valid_until"] == date(2027, 3, 11)  # 2026-03-12 + 12 months − 1 day
    assert bad["valid_until"] is None and bad["context"]["valid_until"] is None
    assert ok["context"]["failing_items"] == []
    failing = bad["context"]["failing_items"]
    assert len(failing) == 1 and failing[0]["item"] == bad["context"]["results"][-1]["item"]
    rows = ok["context"]["results"]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["requirement"] and r["measured"] and r["conclusion"] for r in rows)
    assert ok["context"]["basis"]["code"].startswith("JJG 678")
    assert services.valid_until(date(2024, 1, 31), 1, "检定证书") == date(2024, 2, 28)
    assert services.valid_until(date(2025, 8, 31), 6, "检定证书") == date(2026, 2, 27)


def test_items_are_found_in_record_data_without_the_form(seeded):
    rec = run(record_for("fuel_dispenser"))
    itype = run(instrument_type("fuel_dispenser"))
    rows = services.build_context(
        {k: v for k, v in rec.items() if k != "items"},
        customer=None,
        instrument_type=itype,
        people={},
        standards=[],
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )["results"]
    assert len(rows) == len(rec["items"]) and rows[0]["item"].endswith("示值误差")


# ── numbering ─────────────────────────────────────────────────────────────────────────────


def test_numbers_are_sequential_per_year_and_a_voided_number_is_never_reused(db, make_user):
    admin = Actor(make_user("admin")["id"])
    got = [run(numbers.allocate_number(2031)) for _ in range(3)]
    assert got == ["JD2031-00001", "JD2031-00002", "JD2031-00003"]
    assert run(numbers.allocate_number(2032)) == "JD2032-00001"  # per year
    run(numbers.void_number("JD2031-00003", "打印卡纸损坏", admin))
    run(numbers.void_number("JD2031-00004", "预留号作废", admin))  # not reached yet: skipped later
    assert run(numbers.allocate_number(2031)) == "JD2031-00005"
    with pytest.raises(Exception, match="已作废"):
        run(numbers.void_number("JD2031-00003", "again", admin))
    with pytest.raises(Exception, match="原因"):
        run(numbers.void_number("JD2031-00001", " ", admin))
    rows = run(
        CertificateNumber.select(CertificateNumber.number).where(CertificateNumber.year == 2031)
    )
    assert sorted(r["number"] for r in rows) == [f"JD2031-0000{i}" for i in (1, 2, 3, 5)]


@pytest.mark.postgres_only
@pytest.mark.skipif(os.environ.get("METROLAB_TEST_DB") != "postgres", reason="PostgreSQL only")
def test_concurrent_allocations_give_distinct_consecutive_numbers(db):
    async def twenty() -> list[str]:
        # no connection pool in tests: every transaction opens its own connection
        return await asyncio.gather(*(numbers.allocate_number(2040) for _ in range(20)))

    got = run(twenty())
    assert len(set(got)) == 20
    assert sorted(got) == [f"JD2040-{i:05d}" for i in range(1, 21)]

    # two approvals of the same certificate at once: one number, and no gap after it
    async def same_certificate() -> list[str]:
        cert = Certificate(kind="检定证书")
        await cert.save()
        return await asyncio.gather(*(numbers.number_for(cert.id, 2041) for _ in range(5)))

    assert set(run(same_certificate())) == {"JD2041-00001"}
    assert run(numbers.allocate_number(2041)) == "JD2041-00002"


# ── template upload, review ───────────────────────────────────────────────────────────────


def test_template_upload_refusals_are_shown_and_nothing_is_stored(seeded, browser, make_user):
    browser.login(make_user("tech_manager"))
    before = run(TemplateVersion.count())

    def upload(data: bytes, name: str = "t.docx"):
        return browser.post(
            "/certificate-templates",
            data={"key": "my_cert", "name": "我的证书", "kind": "检定证书"},
            files={"file": (name, data, "application/octet-stream")},
        )

    r = upload(b"%PDF-1.4 not a word file", "t.pdf")
    assert r.status_code == 400 and "不是 Word 文档" in r.text
    r = upload(docx_with("证书编号 {{ ''.__class__.__mro__ }}"))
    assert r.status_code == 400 and "__class__" in r.text and "安全" in r.text
    r = upload(docx_with("送检单位：{{ customer.name }}", "仪器：{{ instrument.colour }}"))
    assert r.status_code == 400 and "instrument.colour" in r.text and "没有的变量" in r.text
    r = upload(docx_with("第一段", "检定结论：{{ conclusion }", "第三段"))
    assert (
        r.status_code == 400 and "模板语法错误" in r.text and "检定结论：{{ conclusion }" in r.text
    )
    assert run(TemplateVersion.count()) == before
    r = upload(docx_with("送检单位：{{ customer.name }}；编号 {{ certificate.number }}"))
    assert r.status_code == 200 and "第 1 版" in r.text and "草稿" in r.text
    assert run(TemplateVersion.count()) == before + 1


def test_review_needs_another_person_and_the_password(seeded, browser, new_browser, make_user):
    author = make_user("tech_manager", "template_reviewer")
    reviewer = make_user("template_reviewer")
    browser.login(author)
    r = browser.post(
        "/certificate-templates",
        data={"key": "plain", "name": "简式证书", "kind": "检定证书"},
        files={"file": ("p.docx", docx_with("{{ customer.name }}"), "application/octet-stream")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    version = run(TemplateVersion.select().where(TemplateVersion.template.key == "plain").first())
    vid = version["id"]
    assert browser.post(f"/certificate-templates/versions/{vid}/submit").status_code == 200
    r = browser.post(
        f"/certificate-templates/versions/{vid}/approve", data={"password": author["password"]}
    )
    assert (
        r.status_code == 403 and "不能审批自己编写或提交的模板" in r.text
    )  # rule reviewer_not_author
    other = new_browser().login(reviewer)
    r = other.post(
        f"/certificate-templates/versions/{vid}/approve", data={"password": "wrong-password-1"}
    )
    assert r.status_code == 403 and "密码不正确" in r.text
    r = other.post(f"/certificate-templates/versions/{vid}/return", data={"reason": ""})
    assert r.status_code == 400 and "原因" in r.text
    r = other.post(
        f"/certificate-templates/versions/{vid}/approve", data={"password": reviewer["password"]}
    )
    assert r.status_code == 200 and "已发布" in r.text
    row = run(
        TemplateVersion.select().where(TemplateVersion.id == vid).output(load_json=True).first()
    )
    sig = row["approval_signature"]
    assert row["status"] == "published" and row["reviewer"] == reviewer["id"]
    # the workflow's one signature shape, over the template version's identity and its file's hash
    from metrolab.workflows.signatures import canonical_sha256

    signed = {"template": "plain", "number": row["number"], "docx_sha256": row["docx_sha256"]}
    assert sig["signer_id"] == reviewer["id"] and sig["meaning"] == "批准发布" and sig["at"]
    assert sig["sha256"] == canonical_sha256(signed)


def test_shipped_templates_are_published_by_the_system(seeded, browser, make_user):
    rows = run(
        TemplateVersion.select(
            TemplateVersion.template.key.as_alias("key"),
            TemplateVersion.status,
            TemplateVersion.approval_signature,
        ).output(load_json=True)
    )
    assert sorted(r["key"] for r in rows) == [
        "quotation",
        "result_notice",
        "verification_certificate",
    ]
    assert all(r["status"] == "published" for r in rows)
    assert all(
        r["approval_signature"]["signer"] == "system"
        and r["approval_signature"]["meaning"] == "随产品发布"
        for r in rows
    )
    page = browser.login(make_user("verifier")).get("/certificate-templates")
    assert page.status_code == 200 and "verification_certificate" in page.text


# ── issuing, QR, public verification (real LibreOffice) ───────────────────────────────────


@needs_pdf
def test_every_template_renders_every_instrument_type(seeded, converter):
    from metrolab import storage

    types = run(instrument_types())
    assert len(types) >= 11
    cases = [
        (itype["code"], ok, f"SN{n:02d}{int(ok)}-48{n:02d}")
        for n, itype in enumerate(types)
        for ok in (True, False)
    ]

    async def issue_all() -> list[
        dict
    ]:  # concurrently, as approvals arrive: the pool has 2 servers
        await _customer()
        # Four at a time: signing (pyHanko, and SM2 in pure Python) holds the GIL for most of a
        # second per certificate; 22 at once on 2 cores starve the event loop past SQLite's 30 s
        # busy timeout while another approval holds the write lock.
        gate = asyncio.Semaphore(4)

        async def one(code: str, ok: bool, serial: str) -> dict:
            async with gate:
                return await issued(code, conforming=ok, serial=serial)

        return await asyncio.gather(*(one(code, ok, serial) for code, ok, serial in cases))

    certs = run(issue_all())
    assert len({c["number"] for c in certs}) == len(cases)
    for (code, conforming, serial), cert in zip(cases, certs, strict=True):
        text = flat(pdf_text(storage.get(cert["pdf_sha256"])))
        ctx = cert["context"]
        expected = [
            cert["number"],
            ctx["customer"]["name"],
            ctx["instrument"]["name"],
            serial,
            ctx["basis"]["code"].replace(" ", ""),
            "检定证书" if conforming else "检定结果通知书",
        ]
        for row in ctx["results"]:
            expected += [row["item"], row["measured"], row["requirement"]]
        if conforming:
            expected.append(ctx["valid_until"]["year"])
        else:
            expected += [row["item"] for row in ctx["failing_items"]]
        for value in expected:
            assert flat(str(value)) in text, (code, conforming, value)


@needs_pdf
def test_qr_code_opens_the_verification_page(seeded, converter, browser, make_user):
    from metrolab import storage

    signer = make_user("signatory", full_name="王志刚")
    cert = run(issued(signers={"approver": signer["id"]}))
    assert cert["status"] == "issued" and cert["number"].startswith(f"JD{date.today().year}-")
    assert cert["number"] not in cert["verify_token"]
    pdf = storage.get(cert["pdf_sha256"])
    url = qr_url(pdf)
    assert url == f"http://testserver.local/verify/{cert['verify_token']}"
    page = browser.get(url.removeprefix("http://testserver.local"))
    assert page.status_code == 200
    for text in (
        "有效",
        cert["number"],
        "便携式" if False else cert["context"]["instrument"]["name"],
        cert["context"]["customer"]["name"],
        cert["pdf_sha256"],
        "合格",
    ):
        assert text in page.text
    assert run(VerificationScan.count().where(VerificationScan.result == "valid")) == 1

    # the uploaded PDF matches; anything else does not
    r = browser.post(
        url.removeprefix("http://testserver.local") + "/check",
        files={"file": ("c.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 200 and "一致：" in r.text
    r = browser.post(
        url.removeprefix("http://testserver.local") + "/check",
        files={"file": ("c.pdf", pdf + b"\n%tampered", "application/pdf")},
    )
    assert r.status_code == 400 and "不一致" in r.text
    r = browser.post(
        url.removeprefix("http://testserver.local") + "/check",
        csrf=False,
        files={"file": ("c.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 403  # CSRF like every form

    # a forged or altered token is "not genuine", never a 500
    token = cert["verify_token"]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (altered, "JD2026-00001", "x" * 500, cert["number"] + ".abc"):
        r = browser.get(f"/verify/{bad}")
        assert r.status_code == 404 and "证书不存在或二维码不是本机构签发的" in r.text, bad

    # §5.3 lookup by number and the last 4 of the serial
    r = browser.get(
        "/verify", params={"number": cert["number"], "serial": "7315"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/verify/{token}"
    r = browser.get("/verify", params={"number": cert["number"], "serial": "0000"})
    assert r.status_code == 404 and "没有找到" in r.text


@needs_pdf
def test_recalled_and_superseded_certificates_say_so(seeded, converter, browser):
    user = run(person_async("signatory"))
    recalled = run(issued(serial="SN-R-1111"))
    with pytest.raises(UserError, match="密码"):  # 撤回 is a signed workflow step
        run(services.recall(recalled["id"], "数据录入错误", user, "wrong"))
    run(services.recall(recalled["id"], "数据录入错误", user, PASSWORD))
    first = run(issued(serial="SN-S-2222"))
    second = run(services.new_revision(first["id"], user))
    # setup: this revision has no record to re-check (test_business walks that path); straight to 批准中
    run(Certificate.update({Certificate.status: "approving"}).where(Certificate.id == second["id"]))
    second = run(approved(second["id"]))
    assert second["revision"] == 2 and second["number"] != first["number"]
    from metrolab import storage

    for cert, word in ((recalled, "已撤回"), (first, "已被第 2 版替代"), (second, "有效")):
        url = qr_url(storage.get(cert["pdf_sha256"]))
        page = browser.get(url.removeprefix("http://testserver.local"))
        assert page.status_code == 200 and word in page.text, word
    run(
        Certificate.update({Certificate.valid_until: date(2020, 1, 1)}).where(
            Certificate.id == second["id"]
        )
    )
    assert "已过期" in browser.get(f"/verify/{second['verify_token']}").text


@needs_pdf
def test_a_failed_issue_is_visible_retryable_and_never_half_done(seeded, converter, make_user):
    from metrolab import storage

    cert = run(make_certificate())
    broken = storage.put(docx_with("{{ certificate.number }} {{ nothing.here }}"))
    tid = run(TemplateVersion.select(TemplateVersion.template).first())["template"]
    bad = TemplateVersion(template=tid, number=99, status="retired", docx_sha256=broken)
    run(bad.save())
    run(
        Certificate.update({Certificate.template_version: bad.id}).where(
            Certificate.id == cert["id"]
        )
    )
    with pytest.raises(services.IssueFailed):
        run(approved(cert["id"]))  # approved (待打印), but the issue failed: visible, retryable
    row = run(services.get_certificate(cert["id"]))
    assert row["status"] == "issued"
    assert (
        row["issue_error"]
        and row["number"] is None
        and row["pdf_sha256"] == ""
        and row["verify_token"] is None
    )
    held = run(CertificateNumber.select().where(CertificateNumber.certificate == cert["id"]))
    assert len(held) == 1
    run(
        Certificate.update({Certificate.template_version: None}).where(Certificate.id == cert["id"])
    )
    done = run(services.issue(cert["id"]))
    assert done["number"] == held[0]["number"] and done["pdf_sha256"] and done["issue_error"] == ""
    assert run(services.issue(cert["id"]))["pdf_sha256"] == done["pdf_sha256"]  # idempotent


# ── printing ──────────────────────────────────────────────────────────────────────────────


@needs_pdf
def test_printing_marks_printed_logs_reprints_and_merges(seeded, converter, browser, make_user):
    from metrolab import storage

    a, b = run(issued(serial="SN-P-3333")), run(issued(conforming=False, serial="SN-P-4444"))
    clerk = make_user("clerk")
    browser.login(clerk)
    page = browser.get("/certificates/print")
    assert page.status_code == 200 and a["number"] in page.text and b["number"] in page.text
    r = browser.post("/certificates/print", data={"ids": [str(a["id"]), str(b["id"])]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/pdf")
    expected = pdf_pages(storage.get(a["pdf_sha256"])) + pdf_pages(storage.get(b["pdf_sha256"]))
    assert pdf_pages(r.content) == expected
    assert {c["status"] for c in run(Certificate.select(Certificate.status))} == {"printed"}
    assert a["number"] not in browser.get("/certificates/print").text  # 待打印 by default
    assert a["number"] in browser.get("/certificates/print", params={"print_status": "已打印"}).text
    # a row's own button prints that certificate only, whatever else is ticked
    r = browser.post(
        "/certificates/print", data={"ids": [str(a["id"]), str(b["id"])], "one": str(a["id"])}
    )
    assert r.status_code == 400 and "补打须填写原因" in r.text  # a reprint says why
    r = browser.post(
        "/certificates/print",
        data={"ids": [str(a["id"]), str(b["id"])], "one": str(a["id"]), "reason": "卡纸"},
    )
    assert r.content == storage.get(a["pdf_sha256"])
    logs = run(PrintLog.select().where(PrintLog.certificate == a["id"]).order_by(PrintLog.id))
    assert [log["reprint"] for log in logs] == [False, True] and logs[1]["by"] == clerk["id"]
    assert logs[1]["reason"] == "卡纸"
    assert "补打" in browser.get(f"/certificates/{a['id']}").text
    run(services.recall(b["id"], "结论有误", run(person_async("signatory")), PASSWORD))
    assert b["number"] not in browser.get("/certificates/print", params={"print_status": ""}).text
    r = browser.post("/certificates/print", data={"ids": str(b["id"])})
    assert r.status_code == 409 and "不能打印" in r.text


@needs_pdf
def test_template_preview_is_a_pdf_with_the_sample_data(seeded, converter, browser, make_user):
    browser.login(make_user("template_reviewer"))
    vid = run(
        TemplateVersion.select(TemplateVersion.id)
        .where(TemplateVersion.template.key == "result_notice")
        .first()
    )["id"]
    r = browser.get(f"/certificate-templates/versions/{vid}/preview.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "冀中能源峰峰集团有限公司大淑村矿" in flat(pdf_text(r.content))


# ── from an original record; printing the record ─────────────────────────────────────────


async def _original_record(user_id: int) -> int:
    """A saved original record of a methane detector, filled with the form's computed sample."""
    from metrolab.forms.services import seed_shipped_forms
    from metrolab.forms.tables import FormVersion
    from metrolab.records.tables import OriginalRecord

    await seed_shipped_forms()
    version = (
        await FormVersion.select(FormVersion.id)
        .where(
            (FormVersion.form.key == "methane_detector_record")
            & (FormVersion.status == "published")
        )
        .first()
    )
    rec = await record_for("methane_detector", serial="SN-REC-5150")
    customer = await _customer()
    row = OriginalRecord(
        number="YS2026-000001",
        instrument_type="methane_detector",
        form_version=version["id"],
        customer=customer["id"],
        instrument_name="便携式甲烷检测报警仪",
        serial="SN-REC-5150",
        model="JCB4",
        verified_on=date(2026, 3, 12),
        standards=["FAC-GAS-01", "STD-GAS-CO-01"],
        environment={"temperature": "21.5", "humidity": "48", "pressure": "101.2"},
        data=rec["data"],
        conclusion=rec["conclusion"],
        status="saved",
        verifier=user_id,
    )
    await row.save()
    return row.id


@needs_pdf
def test_certificate_from_a_record_and_the_record_printed_from_the_print_page(
    seeded, converter, browser, make_user
):
    from metrolab import storage
    from metrolab.certificates.from_record import certificate_for_record

    verifier = make_user("verifier", full_name="张晓明")
    record_id = run(_original_record(verifier["id"]))
    cert = run(certificate_for_record(record_id))
    ctx = cert["context"]
    assert cert["record"] == record_id and cert["kind"] == "检定证书"
    assert (
        ctx["instrument"]["name"] == "便携式甲烷检测报警仪"
        and ctx["people"]["verifier"]["name"] == "张晓明"
    )
    assert [s["name"] for s in ctx["standard_devices"]] == ["可燃气体检测报警器检定装置"]
    assert len(ctx["standard_instruments"]) == 1
    run(Certificate.update({Certificate.status: "approving"}).where(Certificate.id == cert["id"]))
    cert = run(approved(cert["id"]))
    assert "SN-REC-5150" in pdf_text(storage.get(cert["pdf_sha256"]))
    browser.login(make_user("clerk"))
    page = browser.get("/certificates/print")
    assert f"/certificates/records/{record_id}/print" in page.text
    printed = browser.get(f"/certificates/records/{record_id}/print")
    assert (
        printed.status_code == 200 and "YS2026-000001" in printed.text and "ml-form" in printed.text
    )


def test_pages_for_numbers_certificates_and_new_templates(seeded, browser, new_browser, make_user):
    admin = browser.login(make_user("admin"))
    r = admin.post(
        "/certificates/numbers/void",
        data={"number": "JD2030-00007", "reason": "纸张损坏"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = admin.get("/certificates/numbers")
    assert page.status_code == 200 and "JD2030-00007" in page.text and "纸张损坏" in page.text
    r = admin.post("/certificates/numbers/void", data={"number": "JD2030-00007", "reason": "再次"})
    assert r.status_code == 409 and "已作废" in r.text
    cert = run(make_certificate())
    page = admin.get(f"/certificates/{cert['id']}")
    assert page.status_code == 200 and "（未编号）" in page.text and "重试出具" not in page.text
    # no door to a numbered certificate but the signed approval: page and API refuse, even the admin
    r = admin.post(f"/api/v1/certificates/{cert['id']}/issue")
    assert r.status_code == 409 and "批准" in r.json()["detail"]
    assert run(services.get_certificate(cert["id"]))["number"] is None
    assert admin.get("/certificates").status_code == 200
    assert admin.get(f"/api/v1/certificates/{cert['id']}").json()["kind"] == "检定证书"
    designer = new_browser().login(make_user("tech_manager"))
    assert "上传证书模板" in designer.get("/certificate-templates/new").text
    clerk = new_browser().login(make_user("clerk"))
    assert clerk.get("/certificate-templates/new").status_code == 403
    assert (
        clerk.post("/certificates/numbers/void", data={"number": "X", "reason": "y"}).status_code
        == 403
    )


def test_issuing_puts_the_instrument_in_the_customers_ledger_with_its_due_date(seeded, converter):
    """Issue 7: the ledger follows issued certificates (hook ``certificate.issued``)."""
    from metrolab.ledger.tables import LedgerInstrument

    cert = run(issued("methane_detector", conforming=True, serial="SN-LEDGER-0001"))
    row = run(LedgerInstrument.select().where(LedgerInstrument.serial == "SN-LEDGER-0001").first())
    assert row is not None and row["customer"] == cert["customer"]
    assert row["last_verified_on"] == date(2026, 3, 12)
    assert row["next_due_on"] == cert["valid_until"]  # verified_on + cycle − 1 day
    assert row["last_conclusion"] == "合格"


@needs_pdf
def test_a_notice_is_never_shown_as_valid_on_its_public_page(seeded, converter, browser):
    notice = run(issued(conforming=False, serial="SN-N-0001"))
    assert notice["kind"] == "检定结果通知书"
    page = browser.get(f"/verify/{notice['verify_token']}").text
    assert (
        "检定结果通知书：检定结论为不合格" in page
        and 'class="ml-verify-status ml-verify-notice"' in page
    )
    assert "<strong>有效</strong>" not in page


@needs_pdf
def test_an_instrument_types_own_published_template_is_the_one_used(seeded, converter):
    """A type that names its own reviewed, published template gets it (not the shipped one)."""
    from metrolab import storage
    from metrolab.indicators.tables import InstrumentType

    own = CertificateTemplate(key="methane_own", name="甲烷专用证书", kind="检定证书")
    run(own.save())
    docx = docx_with("甲烷专用格式 {{ certificate.number }} {{ instrument.serial }}")
    run(
        TemplateVersion(
            template=own.id, number=1, status="published", docx_sha256=storage.put(docx)
        ).save()
    )
    run(
        InstrumentType.update({InstrumentType.certificate_template: "methane_own"}).where(
            InstrumentType.code == "methane_detector"
        )
    )
    cert = run(issued(serial="SN-OWN-0001"))
    assert "甲烷专用格式" in pdf_text(storage.get(cert["pdf_sha256"]))
    # a named template without a published version is refused by name, not silently replaced
    run(
        TemplateVersion.update({TemplateVersion.status: "retired"}).where(
            TemplateVersion.template == own.id
        )
    )
    with pytest.raises(UserError) as refused:
        run(issued(serial="SN-OWN-0002"))
    assert "methane_own" in str(refused.value.detail) and "没有已发布的版本" in str(
        refused.value.detail
    )
