"""The instrument ledger: certificates → ledger with the right due date, external certificates, xlsx import
(preview, rejected rows, one transaction), exports, the customer portal, the customer extensions, and
gas-station compliance with T/ZBMS 005 (and its application package)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import run
from metrolab.customers.tables import Customer
from metrolab.ledger import compliance, services
from metrolab.ledger.tables import ExternalCertificate, LedgerInstrument, SelfCheck, StationStaff

TODAY = date.today()


@pytest.fixture
def types(db):
    from metrolab.indicators.services import seed_instrument_types

    run(
        seed_instrument_types()
    )  # the instrument types are emptied between tests like every other table


def customer(name: str = "淄博测试加油站", category: str = "加油站") -> int:
    row = Customer(name=name, category=category, address="淄博市张店区", phone="0533-5550101")
    run(row.save())
    return row.id


def instrument(
    customer_id: int,
    code: str,
    serial: str,
    verified: date | None,
    nozzles: int | None = None,
    in_use_since: datetime | None = None,
    **extra,
) -> int:
    in_use_since = in_use_since or datetime.now(UTC) - timedelta(days=365)
    types = run(services.instrument_types())
    clean, errors = services.check_instrument(
        {
            "instrument_type": code,
            "serial": serial,
            "last_verified_on": verified.isoformat() if verified else "",
            "last_certificate": f"CERT-{serial}" if verified else "",
            "nozzles": str(nozzles or ""),
            "compulsory": "default",
            **extra,
        },
        types,
    )
    assert not errors, errors
    iid = run(services.save_instrument(customer_id, clean))
    # in use for a year (its registration): §4.4 asks for self-checks only from then on
    run(
        LedgerInstrument.update({LedgerInstrument.created_at: in_use_since}).where(
            LedgerInstrument.id == iid
        )
    )
    return iid


def pdf_bytes(text: str = "certificate") -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    w.add_metadata({"/Title": text})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


# ── certificates → ledger ─────────────────────────────────────────────────────────────────────


def test_record_certificate_puts_the_instrument_in_the_ledger_with_its_due_date(types):
    cid = customer()
    cert = {
        "id": 7,
        "number": "2026-000123",
        "customer": cid,
        "instrument_type": "fuel_dispenser",
        "verified_on": date(2026, 6, 10),
        "conclusion": "合格",
        "context": {"instrument": {"name": "燃油加油机", "model": "JH-4A", "serial": "JY-0001"}},
    }
    r = run(services.record_certificate(cert))
    assert r["customer"] == cid and r["serial"] == "JY-0001" and r["model"] == "JH-4A"
    assert r["next_due_on"] == date(2026, 12, 9)  # 6-month cycle − 1 day
    assert (
        r["compulsory"] is True
        and r["source"] == "certificate"
        and r["last_certificate"] == "2026-000123"
    )
    # the same instrument again (upsert), then an older certificate changes nothing
    run(services.record_certificate({**cert, "number": "2026-000200", "verified_on": "2026-08-01"}))
    run(services.record_certificate({**cert, "number": "2025-000001", "verified_on": "2025-12-01"}))
    rows = run(LedgerInstrument.select().where(LedgerInstrument.customer == cid))
    assert len(rows) == 1 and rows[0]["last_certificate"] == "2026-000200"
    assert rows[0]["next_due_on"] == date(2027, 1, 31)
    # a failing result: no due date, and the conclusion shows
    run(
        services.record_certificate(
            {**cert, "number": "2026-000300", "verified_on": "2026-09-01", "conclusion": "不合格"}
        )
    )
    row = run(LedgerInstrument.select().where(LedgerInstrument.customer == cid).first())
    assert row["last_conclusion"] == "不合格" and row["next_due_on"] is None


def test_issued_certificates_are_synchronised_into_the_ledger(types):
    from metrolab import storage
    from metrolab.certificates.tables import Certificate

    cid = customer()
    ctx = {"instrument": {"name": "燃油加油机", "model": "Z-6", "serial": "TK-0101"}}
    run(
        Certificate.insert(
            Certificate(
                number="2026-000500",
                status="issued",
                instrument_type="fuel_dispenser",
                customer=cid,
                context=ctx,
                verified_on=date(2026, 6, 10),
                valid_until=date(2026, 12, 9),
                conclusion="合格",
                pdf_sha256=storage.put(pdf_bytes()),
            ),
            Certificate(
                number=None,
                status="compiling",
                instrument_type="fuel_dispenser",
                customer=cid,
                context={"instrument": {"serial": "NOT-ISSUED"}},
                verified_on=date(2026, 6, 10),
                conclusion="合格",
            ),
        )
    )
    assert run(services.sync_from_certificates()) == 1
    rows = run(LedgerInstrument.select().where(LedgerInstrument.customer == cid))
    assert [(r["serial"], r["next_due_on"], r["last_certificate"]) for r in rows] == [
        ("TK-0101", date(2026, 12, 9), "2026-000500")
    ]
    cert_id = run(
        Certificate.select(Certificate.id).where(Certificate.number == "2026-000500").first()
    )["id"]
    assert run(services.on_certificate_issued(cert_id))["last_certificate_ref"] == cert_id


# ── external certificates ─────────────────────────────────────────────────────────────────────


def test_external_certificate_is_registered_and_counts_for_due_dates(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    iid = instrument(cid, "fuel_dispenser", "EXT-1", None, nozzles=4)
    verified = TODAY - timedelta(days=20)
    r = browser.post(
        f"/ledger/instruments/{iid}/external",
        data={
            "number": "外检-2026-88",
            "issued_by": "某市计量所",
            "verified_on": verified.isoformat(),
            "valid_until": (verified + timedelta(days=150)).isoformat(),
            "conclusion": "合格",
        },
        files={"scan": ("scan.pdf", pdf_bytes(), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    row = run(services.get_instrument(iid))
    assert (
        row["next_due_on"] == verified + timedelta(days=150)
        and row["last_certificate_kind"] == "external"
    )
    assert row["last_certificate"] == "外检-2026-88"
    ext = run(ExternalCertificate.select().first())
    scan = browser.get(f"/ledger/external/{ext['id']}/scan")
    assert (
        scan.status_code == 200
        and scan.content.startswith(b"%PDF")
        and scan.headers["content-type"] == "application/pdf"
    )
    # it counts for due dates (30-day window) and for compliance (compulsory instrument verified)
    assert [d["id"] for d in run(services.due(150, cid))] == [iid]
    req = {r.key: r for r in run(compliance.evaluate(cid))}
    assert (
        req["compulsory_verified"].ok
        and "外检-2026-88" in req["compulsory_verified"].evidence[0].label
    )


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("scan.pdf", b"PK\x03\x04 this is a zip renamed to pdf", "只能是 PDF 或图片"),
        ("scan.png", b"MZ\x90\x00 an executable", "只能是 PDF 或图片"),
        ("big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "不能超过 10 MB"),
    ],
)
def test_a_scan_that_is_not_a_pdf_or_image_is_refused_with_the_reason(
    types, browser, make_user, name, content, reason
):
    browser.login(make_user("clerk"))
    iid = instrument(customer(), "fuel_dispenser", "EXT-2", None)
    r = browser.post(
        f"/ledger/instruments/{iid}/external",
        data={
            "number": "X-1",
            "issued_by": "某所",
            "verified_on": "2026-01-01",
            "valid_until": "2026-06-30",
        },
        files={"scan": (name, content, "application/pdf")},
    )
    assert r.status_code == 400 and reason in r.text
    assert run(ExternalCertificate.count()) == 0
    assert run(services.get_instrument(iid))["last_certificate"] == ""


# ── xlsx import ───────────────────────────────────────────────────────────────────────────────


def xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEADER = [
    "器具类型",
    "器具名称",
    "型号规格",
    "出厂编号",
    "制造单位",
    "安装位置",
    "状态",
    "强制检定",
    "枪数",
    "最近检定日期",
    "检定结论",
    "证书编号",
]


def test_import_lists_each_bad_row_with_its_reason_and_writes_nothing_until_confirmed(
    types, browser, make_user
):
    browser.login(make_user("clerk"))
    cid = customer()
    template = browser.get("/ledger/import-template.xlsx")
    assert template.status_code == 200
    from openpyxl import load_workbook

    assert [c.value for c in load_workbook(io.BytesIO(template.content)).active[1]][:4] == HEADER[
        :4
    ]
    content = xlsx(
        [
            HEADER,
            [
                "燃油加油机",
                "",
                "JH-4A",
                "GOOD-1",
                "",
                "1号岛",
                "在用",
                "",
                4,
                "2026-06-10",
                "合格",
                "C-1",
            ],
            [
                "level_gauge",
                "",
                "CLG",
                "GOOD-2",
                "",
                "罐区",
                "",
                "",
                None,
                date(2026, 2, 15),
                "",
                "",
            ],
            ["量子秤", "", "", "BAD-TYPE", "", "", "", "", None, "2026-01-01", "", ""],
            ["燃油加油机", "", "", "BAD-DATE", "", "", "", "", 4, "2026-13-45", "", ""],
            ["燃油加油机", "", "", "", "", "", "", "", 4, "2026-06-10", "", ""],
            ["燃油加油机", "", "", "GOOD-1", "", "", "", "", 4, "2026-06-10", "", ""],
        ]
    )
    r = browser.post(
        f"/ledger/customers/{cid}/import", files={"file": ("ledger.xlsx", content, "application/x")}
    )
    assert r.status_code == 400
    for reason in (
        "未知的器具类型“量子秤”",
        "检定日期“2026-13-45”格式应为 YYYY-MM-DD",
        "出厂编号不能为空",
        "与本文件前面的行重复（GOOD-1）",
    ):
        assert reason in r.text, reason
    assert run(LedgerInstrument.count()) == 0  # nothing written by the preview
    import re

    ticket = re.search(r'name="ticket" value="([^"]+)"', r.text).group(1)
    r = browser.post(
        f"/ledger/customers/{cid}/import/confirm", data={"ticket": ticket}, follow_redirects=False
    )
    assert r.status_code == 303
    rows = {
        x["serial"]: x
        for x in run(LedgerInstrument.select().where(LedgerInstrument.customer == cid))
    }
    assert set(rows) == {"GOOD-1", "GOOD-2"}
    assert rows["GOOD-1"]["next_due_on"] == date(2026, 12, 9) and rows["GOOD-1"]["nozzles"] == 4
    assert (
        rows["GOOD-2"]["next_due_on"] == date(2027, 2, 14) and rows["GOOD-2"]["compulsory"] is False
    )
    # a tampered ticket imports nothing
    assert (
        browser.post(
            f"/ledger/customers/{cid}/import/confirm", data={"ticket": ticket + "x"}
        ).status_code
        == 400
    )


def test_import_with_wrong_columns_or_not_xlsx_is_refused_whole(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    r = browser.post(
        f"/ledger/customers/{cid}/import",
        files={
            "file": ("x.xlsx", xlsx([["名称", "编号", "颜色"], ["燃油加油机", "A", "红"]]), "a/b")
        },
    )
    assert (
        r.status_code == 400
        and "缺少列：器具类型、出厂编号" in r.text
        and "无法识别的列：名称、编号、颜色" in r.text
    )
    assert 'name="ticket"' not in r.text
    r = browser.post(
        f"/ledger/customers/{cid}/import", files={"file": ("x.xlsx", b"not a workbook", "a/b")}
    )
    assert r.status_code == 400 and "不是有效的 xlsx 文件" in r.text
    assert run(LedgerInstrument.count()) == 0


def test_import_confirmation_is_one_transaction(types, browser, make_user):
    """A failure half-way through the confirmed import leaves the ledger as it was."""
    from metrolab.ledger import importing

    browser.login(make_user("clerk"))
    cid = customer()
    content = xlsx(
        [
            HEADER,
            ["燃油加油机", "", "", "T-1", "", "", "", "", 4, "2026-06-10", "", ""],
            ["燃油加油机", "", "", "T-2", "", "", "", "", 4, "2026-06-10", "", ""],
        ]
    )
    preview, ticket = run(importing.preview(cid, content))
    assert len(preview.good) == 2
    calls = {"n": 0}
    original = services.save_instrument

    async def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return await original(*args, **kwargs)

    services.save_instrument = failing
    try:
        with pytest.raises(RuntimeError):
            run(importing.confirm(cid, ticket))
    finally:
        services.save_instrument = original
    assert run(LedgerInstrument.count()) == 0


# ── exports, due dates, notice, portal ───────────────────────────────────────────────────────


def test_exports_open_in_openpyxl_with_the_right_rows(types, browser, make_user):
    from openpyxl import load_workbook

    browser.login(make_user("verifier"))
    a, b = customer("甲加油站"), customer("乙煤矿", "煤矿")
    instrument(
        a, "fuel_dispenser", "A-1", TODAY - timedelta(days=170), nozzles=4
    )  # due in ~12 days
    instrument(a, "level_gauge", "A-2", TODAY - timedelta(days=30))
    instrument(b, "methane_detector", "B-1", TODAY - timedelta(days=400))  # overdue
    r = browser.get("/ledger/export.xlsx", params={"due": "30"})
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws[1]][:5] == ["客户", "器具类型", "器具名称", "型号规格", "出厂编号"]
    assert [row[4] for row in ws.iter_rows(min_row=2, values_only=True)] == ["A-1"]
    r = browser.get("/ledger/export.csv", params={"customer": a})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(x[4] for x in rows[1:]) == ["A-1", "A-2"]
    r = browser.get("/ledger/export.xlsx", params={"due": "overdue"})
    assert [
        row[4]
        for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(
            min_row=2, values_only=True
        )
    ] == ["B-1"]
    wb = load_workbook(io.BytesIO(browser.get(f"/ledger/customers/{a}/export.xlsx").content))
    assert wb.sheetnames == ["计量器具台账", "统计"] and wb["计量器具台账"].max_row == 3
    notice = load_workbook(
        io.BytesIO(browser.get(f"/ledger/customers/{a}/notice.xlsx").content)
    ).active
    assert [row[2] for row in notice.iter_rows(min_row=3, values_only=True)] == ["A-1"]
    page = browser.get(f"/ledger/customers/{a}/notice")
    assert "检定到期通知书" in page.text and "A-1" in page.text and "A-2" not in page.text
    by_customer = {c["customer_name"]: c for c in run(services.due_by_customer(30))}
    assert (by_customer["甲加油站"]["d30"], by_customer["甲加油站"]["overdue"]) == (1, 0)
    assert (by_customer["乙煤矿"]["d30"], by_customer["乙煤矿"]["overdue"]) == (0, 1)
    assert by_customer["乙煤矿"]["first_due"] == services.due_date(TODAY - timedelta(days=400), 12)
    assert list(by_customer) == ["乙煤矿", "甲加油站"]  # soonest first
    due = browser.get("/ledger/due", params={"within": 30})
    assert "甲加油站" in due.text and "乙煤矿" in due.text  # due soon / overdue


def test_the_clerks_task_counter_counts_instruments_due_within_30_days(types, browser, make_user):
    cid = customer()
    instrument(cid, "fuel_dispenser", "D-1", TODAY - timedelta(days=170))
    instrument(cid, "fuel_dispenser", "D-2", TODAY - timedelta(days=10))
    assert run(services.count_due(30)) == 1
    browser.login(make_user("clerk"))
    home = browser.get("/home")
    assert "30 天内到期的客户器具" in home.text


def test_the_portal_link_works_without_login_and_a_tampered_or_revoked_token_is_refused(
    types, browser, new_browser, make_user
):
    cid = customer()
    instrument(cid, "fuel_dispenser", "P-1", TODAY - timedelta(days=170), nozzles=4)
    other = customer("别家加油站")
    instrument(other, "fuel_dispenser", "OTHER-1", TODAY - timedelta(days=10))
    clerk = new_browser().login(make_user("clerk"))
    page = clerk.get(f"/ledger/customers/{cid}")
    import re

    link = re.search(r'value="http://testserver\.local(/portal/[^"]+)"', page.text).group(1)
    r = browser.get(link)  # anonymous
    assert r.status_code == 200 and "P-1" in r.text and "OTHER-1" not in r.text
    assert browser.get(link + "/notice.xlsx").status_code == 200
    token = link.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert browser.get(f"/portal/{tampered}").status_code == 404
    forged_other = token.replace(f"{cid}.", f"{other}.", 1)
    assert browser.get(f"/portal/{forged_other}").status_code == 404
    assert clerk.post(f"/ledger/customers/{cid}/portal", follow_redirects=False).status_code == 303
    assert browser.get(link).status_code == 404  # revoked by regenerating


# ── customer extensions (§5.9) ───────────────────────────────────────────────────────────────


def test_prices_licences_contracts_charges_and_visits(types, browser, new_browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    base = f"/ledger/customers/{cid}/records"
    assert (
        browser.post(
            f"{base}/prices",
            data={
                "instrument_type": "fuel_dispenser",
                "price": "180.00",
                "valid_from": "2026-01-01",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        browser.post(
            f"{base}/licences",
            data={"kind": "营业执照", "number": "91370303MA3DEMX01J", "valid_until": "2025-01-01"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        browser.post(
            f"{base}/contracts",
            data={"number": "HT-2026-01", "signed_on": "2026-01-05", "amount": "12,000.50"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    from metrolab.ledger.tables import Contract

    contract = run(Contract.select().first())
    assert (
        browser.post(
            f"{base}/charges",
            data={
                "contract": str(contract["id"]),
                "description": "加油机检定 2 台",
                "amount": "360",
                "charged_on": "2026-06-10",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        browser.post(
            f"{base}/visits",
            data={
                "visited_on": "2026-06-11",
                "contact": "王站长",
                "inspection_notes": "现场检定 2 台",
                "feedback": "满意",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    bad = browser.post(
        f"{base}/contracts", data={"number": "", "signed_on": "2026-02-30", "amount": "abc"}
    )
    assert (
        bad.status_code == 400
        and "合同编号不能为空" in bad.text
        and "签订日期格式应为 YYYY-MM-DD" in bad.text
    )
    assert "不是有效的金额" in bad.text
    page = browser.get(f"/ledger/customers/{cid}")
    assert (
        "HT-2026-01" in page.text and "12,000.50" in page.text and "11640.50" in page.text
    )  # balance
    assert "满意" in page.text and "已过期" in page.text and "180.00" in page.text
    from metrolab.ledger import dossier

    stats = run(dossier.statistics(cid))
    assert str(stats["contract_total"]) == "12000.50" and str(stats["charged_total"]) == "360.00"
    # a verifier sees the dossier but may not book contracts
    verifier = new_browser().login(make_user("verifier"))
    assert verifier.get(f"/ledger/customers/{cid}").status_code == 200
    assert (
        verifier.post(
            f"{base}/contracts", data={"number": "HT-X", "signed_on": "2026-01-05", "amount": "1"}
        ).status_code
        == 403
    )


def test_a_customer_with_a_ledger_cannot_be_deleted(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    instrument(cid, "fuel_dispenser", "DEL-1", None)
    r = browser.delete(f"/api/v1/customers/{cid}")
    assert r.status_code == 409 and "计量器具台账 1" in r.json()["detail"]


def test_manual_instrument_page_names_bad_input(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    r = browser.post(
        f"/ledger/customers/{cid}/instruments",
        data={
            "instrument_type": "fuel_dispenser",
            "serial": "",
            "nozzles": "abc",
            "last_verified_on": "2026/02/31",
            "status": "in_use",
            "compulsory": "default",
            "location": "3号岛",
        },
    )
    assert (
        r.status_code == 400 and "出厂编号不能为空" in r.text and "枪数应为 0–64 的整数" in r.text
    )
    assert "格式应为 YYYY-MM-DD" in r.text and 'value="3号岛"' in r.text
    r = browser.post(
        f"/ledger/customers/{cid}/instruments",
        data={
            "instrument_type": "fuel_dispenser",
            "serial": "M-1",
            "nozzles": "4",
            "last_verified_on": "2026-06-10",
            "status": "in_use",
            "compulsory": "default",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = run(LedgerInstrument.select().where(LedgerInstrument.serial == "M-1").first())
    assert row["next_due_on"] == date(2026, 12, 9) and row["compulsory"] is True


# ── gas-station compliance (T/ZBMS 005) ──────────────────────────────────────────────────────


def compliant_station(name: str = "淄博达标加油站") -> tuple[int, dict[str, int]]:
    """Every requirement met: Table 1 complete, verified within cycle, 8 nozzles, self-checks, 2 staff."""
    cid = customer(name)
    recent = TODAY - timedelta(days=30)
    ids = {
        "D1": instrument(cid, "fuel_dispenser", "D1", recent, nozzles=4),
        "D2": instrument(cid, "fuel_dispenser", "D2", recent, nozzles=4),
    }
    for code in compliance.TABLE_1[1:]:
        ids[code] = instrument(cid, code, f"S-{code}", recent)
    for iid in (ids["D1"], ids["D2"]):
        for month in compliance.previous_months(TODAY):
            run(
                SelfCheck.insert(
                    SelfCheck(
                        instrument=iid, month=month, data={"conclusion": "合格"}, conclusion="合格"
                    )
                )
            )
    run(
        StationStaff.insert(
            StationStaff(
                customer=cid,
                name="王站长",
                role="站长",
                qualification_no="JL-001",
                valid_until=TODAY + timedelta(days=300),
            ),
            StationStaff(
                customer=cid,
                name="李计量员",
                role="计量员",
                qualification_no="JL-002",
                valid_until=None,
            ),
        )
    )
    return cid, ids


def test_one_overdue_compulsory_dispenser_is_red_on_exactly_that_requirement_then_green(
    types, browser, make_user
):
    cid, ids = compliant_station()
    assert all(r.ok for r in run(compliance.evaluate(cid)))
    # D2's last verification is 400 days old: 6-month cycle → overdue
    run(
        LedgerInstrument.update(
            {
                LedgerInstrument.last_verified_on: TODAY - timedelta(days=400),
                LedgerInstrument.next_due_on: services.due_date(TODAY - timedelta(days=400), 6),
            }
        ).where(LedgerInstrument.id == ids["D2"])
    )
    result = {r.key: r for r in run(compliance.evaluate(cid))}
    assert [k for k, r in result.items() if not r.ok] == ["none_overdue"]
    assert [e.label for e in result["none_overdue"].evidence] == ["燃油加油机 D2"]
    browser.login(make_user("verifier"))
    page = browser.get(f"/ledger/customers/{cid}/station")
    assert page.status_code == 200
    assert (
        'id="req-none_overdue" data-ok="false"' in page.text
        and page.text.count('data-ok="false"') == 1
    )
    assert f'href="/ledger/instruments/{ids["D2"]}"' in page.text
    # a new certificate for D2 is recorded → green
    run(
        services.record_certificate(
            {
                "number": "2026-009999",
                "customer": cid,
                "instrument_type": "fuel_dispenser",
                "verified_on": TODAY - timedelta(days=1),
                "conclusion": "合格",
                "context": {"instrument": {"serial": "D2"}},
            }
        )
    )
    assert all(r.ok for r in run(compliance.evaluate(cid)))
    assert 'data-ok="false"' not in browser.get(f"/ledger/customers/{cid}/station").text


def test_compliance_reds_for_missing_types_nozzles_self_checks_staff_and_long_validity(types):
    cid = customer("不达标加油站")
    iid = instrument(cid, "fuel_dispenser", "ONLY-1", TODAY - timedelta(days=20), nozzles=6)
    run(
        LedgerInstrument.update({LedgerInstrument.next_due_on: TODAY + timedelta(days=365)}).where(
            LedgerInstrument.id == iid
        )
    )  # a validity longer than the 6-month cycle
    result = {r.key: r for r in run(compliance.evaluate(cid))}
    assert {k for k, r in result.items() if not r.ok} == {
        "table_1",
        "cycles",
        "self_checks",
        "nozzles",
        "staff",
    }
    assert (
        "未配备：计量罐" in result["table_1"].summary
        and "共 6 条加油枪" in result["nozzles"].summary
    )


def test_self_check_is_filled_through_the_form_engine(types, browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    iid = instrument(cid, "fuel_dispenser", "SC-1", TODAY - timedelta(days=20), nozzles=2)
    form = browser.get(f"/ledger/instruments/{iid}/self-check")
    assert form.status_code == 200 and "nozzles.1.V_J" in form.text
    month = compliance.previous_months(TODAY)[0]
    data = {
        "month": month,
        "check_date": TODAY.isoformat(),
        "dispenser": "SC-1",
        "checker": "李计量员",
        "nozzles.0.nozzle_no": "1",
        "nozzles.0.V_J": "20.00",
        "nozzles.0.V_s": "19.980",
        "nozzles.1.nozzle_no": "2",
        "nozzles.1.V_J": "20.00",
        "nozzles.1.V_s": "abc",
    }
    bad = browser.post(f"/ledger/instruments/{iid}/self-check", data=data)
    assert bad.status_code == 400 and run(SelfCheck.count()) == 0
    data["nozzles.1.V_s"] = "19.900"  # +0.50 % → 不合格
    r = browser.post(f"/ledger/instruments/{iid}/self-check", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    row = run(SelfCheck.select().output(load_json=True).first())
    assert row["month"] == month and row["conclusion"] == "不合格"
    assert row["data"]["nozzles"][0]["E"] == "0.10" and row["data"]["nozzles"][1]["ok"] == "不合格"
    assert "0.10" in browser.get(r.headers["location"]).text


def test_application_package_holds_the_documents_and_each_opens(types, browser, make_user):
    import docx
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from metrolab import storage
    from metrolab.certificates.tables import Certificate

    cid, ids = compliant_station()
    browser.login(make_user("clerk"))
    # D1: our own issued certificate (PDF in storage); D2: an external one with a PDF scan
    verified = TODAY - timedelta(days=30)
    run(
        Certificate.insert(
            Certificate(
                number="2026-000777",
                status="issued",
                instrument_type="fuel_dispenser",
                customer=cid,
                context={"instrument": {"serial": "D1"}},
                verified_on=verified,
                valid_until=services.due_date(verified, 6),
                conclusion="合格",
                pdf_sha256=storage.put(pdf_bytes("own")),
            )
        )
    )
    r = browser.post(
        f"/ledger/instruments/{ids['D2']}/external",
        data={
            "number": "WJ-2026-1",
            "issued_by": "某市计量所",
            "verified_on": verified.isoformat(),
            "valid_until": services.due_date(verified, 6).isoformat(),
        },
        files={"scan": ("wj.pdf", pdf_bytes("external"), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # the application form, prefilled from the customer and the ledger, saved with a legal representative
    form = browser.get(f"/ledger/customers/{cid}/application")
    assert form.status_code == 200 and "淄博达标加油站" in form.text
    saved = browser.post(
        f"/ledger/customers/{cid}/application",
        data={
            "applicant": "淄博达标加油站",
            "apply_date": TODAY.isoformat(),
            "unit_name": "淄博达标加油站",
            "credit_code": "91370303MA3DEMX01J",
            "address": "淄博市张店区",
            "legal_representative": "赵法人",
            "contact": "王站长",
            "contact_phone": "0533-5550101",
            "instruments": "7",
            "compulsory_instruments": "2",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    r = browser.get(f"/ledger/customers/{cid}/application-package.zip", params={"pdf": "false"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/zip")
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    assert (
        "01_诚信计量示范单位申请书.docx" in names and "02_在用计量器具配备情况一览表.xlsx" in names
    )
    certs = sorted(n for n in names if n.startswith("03_强检计量器具检定证书/"))
    assert (
        len(certs) == 2
        and any("2026-000777" in n for n in certs)
        and any("WJ-2026-1" in n for n in certs)
    )
    document = docx.Document(io.BytesIO(z.read("01_诚信计量示范单位申请书.docx")))
    text = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert (
        "赵法人" in text
        and "91370303MA3DEMX01J" in text
        and "D1" in text
        and "S-level_gauge" in text
    )
    ws = load_workbook(io.BytesIO(z.read("02_在用计量器具配备情况一览表.xlsx"))).active
    assert sorted(row[3] for row in ws.iter_rows(min_row=3, values_only=True)) == sorted(
        ["D1", "D2", *[f"S-{c}" for c in compliance.TABLE_1[1:]]]
    )
    for name in certs:
        assert len(PdfReader(io.BytesIO(z.read(name))).pages) == 1
    # the equipment list as Word, on its own
    d = docx.Document(
        io.BytesIO(browser.get(f"/ledger/customers/{cid}/station/equipment.docx").content)
    )
    assert len(d.tables[0].rows) == 1 + 7


def test_the_demo_seeder_loads_the_demo_customers_instruments(types):
    from metrolab.features import seeders

    steps = dict(seeders(demo=True))
    run(steps["customers"]())
    assert run(steps["ledger"]()) > 0
    station = run(
        Customer.select(Customer.id).where(Customer.name == "淄博张店示范加油站（演示）").first()
    )
    rows = run(LedgerInstrument.select().where(LedgerInstrument.customer == station["id"]))
    dispenser = next(r for r in rows if r["serial"] == "JY-2021-0001")
    assert dispenser["next_due_on"] == date(2026, 12, 9) and dispenser["nozzles"] == 4
    assert run(steps["ledger"]()) == 0  # idempotent


def test_api_instruments_external_certificates_and_records(types, browser, new_browser, make_user):
    browser.login(make_user("clerk"))
    cid = customer()
    r = browser.post(
        f"/api/v1/ledger/customers/{cid}/instruments",
        json={
            "instrument_type": "pressure_gauge",
            "serial": "API-1",
            "last_verified_on": "2026-06-10",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["next_due_on"] == "2026-12-09" and body["compulsory"] is True
    bad = browser.post(
        f"/api/v1/ledger/customers/{cid}/instruments",
        json={"instrument_type": "nope", "serial": ""},
    )
    assert bad.status_code == 400 and {e["field"] for e in bad.json()["errors"]} == {
        "instrument_type",
        "serial",
    }
    r = browser.put(
        f"/api/v1/ledger/instruments/{body['id']}",
        json={
            "instrument_type": "pressure_gauge",
            "serial": "API-1",
            "status": "停用",
            "last_verified_on": "2026-06-10",
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "idle"
    r = browser.post(
        f"/api/v1/ledger/instruments/{body['id']}/external",
        data={
            "number": "API-EXT",
            "issued_by": "某所",
            "verified_on": "2026-07-01",
            "valid_until": "2026-12-31",
        },
        files={"scan": ("s.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")},
    )
    assert r.status_code == 201 and r.json()["scan_sha256"]
    assert (
        browser.get(f"/api/v1/ledger/instruments/{body['id']}").json()["next_due_on"]
        == "2026-12-31"
    )
    r = browser.post(
        f"/api/v1/ledger/customers/{cid}/records/licences",
        json={"kind": "营业执照", "number": "L-1", "valid_until": "2030-01-01"},
    )
    assert r.status_code == 201
    from metrolab.ledger.tables import Licence

    lid = r.json()["id"]
    refused = browser.post(
        f"/ledger/customers/{cid}/licences/{lid}/scan",
        files={"scan": ("l.pdf", b"<html>not a pdf</html>", "application/pdf")},
    )
    assert refused.status_code == 400 and "只能是 PDF 或图片" in refused.text
    assert (
        browser.post(
            f"/ledger/customers/{cid}/licences/{lid}/scan",
            files={"scan": ("l.pdf", pdf_bytes(), "x/y")},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert run(Licence.select().first())["scan_type"] == "pdf"
    assert browser.get(f"/ledger/customers/{cid}/licences/{lid}/scan").content.startswith(b"%PDF")
    checker = new_browser().login(make_user("checker"))
    assert (
        checker.post(
            f"/api/v1/ledger/customers/{cid}/records/contracts",
            json={"number": "H", "signed_on": "2026-01-01", "amount": "1"},
        ).status_code
        == 403
    )
    assert checker.post(f"/api/v1/ledger/customers/{cid}/instruments", json={}).status_code == 403


def test_the_stations_metrologist_fills_the_self_check_through_the_portal_link(types, browser):
    cid = customer()
    iid = instrument(cid, "fuel_dispenser", "PS-1", TODAY - timedelta(days=20), nozzles=1)
    other = instrument(
        customer("别家加油站"), "fuel_dispenser", "PS-2", TODAY - timedelta(days=20), nozzles=1
    )
    token = run(services.portal_token(cid))
    portal = browser.get(f"/portal/{token}")  # anonymous
    assert portal.status_code == 200 and f"/portal/{token}/self-check/{iid}" in portal.text
    form = browser.get(f"/portal/{token}/self-check/{iid}")
    assert (
        form.status_code == 200
        and "nozzles.0.V_J" in form.text
        and f'action="/portal/{token}/self-check/{iid}"' in form.text
    )
    assert (
        browser.get(f"/portal/{token}/self-check/{other}").status_code == 404
    )  # not this station's
    month = TODAY.strftime("%Y-%m")
    data = {
        "month": month,
        "check_date": TODAY.isoformat(),
        "dispenser": "PS-1",
        "checker": "站内计量员",
        "nozzles.0.nozzle_no": "1",
        "nozzles.0.V_J": "20.00",
        "nozzles.0.V_s": "19.990",
    }
    r = browser.post(f"/portal/{token}/self-check/{iid}", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    row = run(SelfCheck.select().first())
    assert row["month"] == month and row["conclusion"] == "合格" and row["filled_by"] is None
    assert month in browser.get(f"/portal/{token}").text
    assert browser.post(f"/portal/{token}x/self-check/{iid}", data=data).status_code == 404
    assert run(SelfCheck.count()) == 1
