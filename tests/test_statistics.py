"""Statistics over issued certificates and saved records: grouping, chart, xlsx/csv exports."""

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from conftest import run


def _data(make_user):  # noqa: ANN001, ANN202
    """Certificates for two verifiers of two departments, months and conclusions (rows written directly:
    statistics only read them)."""
    from metrolab.accounts.tables import Department, User
    from metrolab.certificates.tables import Certificate
    from metrolab.customers.tables import Customer
    from metrolab.forms.tables import FormVersion
    from metrolab.records.tables import OriginalRecord

    async def go() -> None:
        flow = await Department.select(Department.id).where(Department.code == "flow").first()
        gas = await Department.select(Department.id).where(Department.code == "gas").first()
        a, b = make_user("verifier", full_name="周检定"), make_user("verifier", full_name="钱检定")
        await User.update({User.department: flow["id"]}).where(User.id == a["id"])
        await User.update({User.department: gas["id"]}).where(User.id == b["id"])
        customer = Customer(name="统计测试煤矿")
        await customer.save()
        form = await FormVersion.select(FormVersion.id).first()
        plan = [
            (a, "fuel_dispenser", date(2026, 3, 5), "合格"),
            (a, "fuel_dispenser", date(2026, 3, 20), "不合格"),
            (a, "fuel_dispenser", date(2026, 4, 2), "合格"),
            (b, "methane_detector", date(2026, 4, 9), "合格"),
            (b, "methane_detector", date(2026, 4, 10), "合格"),
        ]
        for i, (who, code, day, conclusion) in enumerate(plan):
            rec = OriginalRecord(
                number=f"YS-STAT-{i}",
                instrument_type=code,
                form_version=form["id"],
                customer=customer.id,
                verified_on=day,
                conclusion=conclusion,
                status="saved",
                verifier=who["id"],
            )
            await rec.save()
            await Certificate.insert(
                Certificate(
                    number=f"JD-STAT-{i}",
                    instrument_type=code,
                    customer=customer.id,
                    record=rec.id,
                    signers={"verifier": who["id"]},  # as compiling from the record sets it
                    verified_on=day,
                    conclusion=conclusion,
                    status="issued",
                    issued_at=datetime.now(UTC),
                )
            )
        # Not counted: a certificate still being compiled.
        await Certificate.insert(
            Certificate(
                instrument_type="fuel_dispenser",
                customer=customer.id,
                verified_on=date(2026, 3, 6),
                conclusion="合格",
                status="compiling",
            )
        )

    run(go())


def test_grouping_by_month_type_department_and_verifier(db, make_user):
    from metrolab.statistics.queries import grouped

    _data(make_user)
    months = {r.key: (r.total, r.passed) for r in run(grouped("certificates", "month", None, None))}
    assert months == {"2026-03": (2, 1), "2026-04": (3, 3)}
    types = {r.key: r.total for r in run(grouped("certificates", "instrument_type", None, None))}
    assert types == {"燃油加油机": 3, "甲烷检测报警仪": 2}
    departments = {r.key: r.total for r in run(grouped("certificates", "department", None, None))}
    assert departments == {"流量容量室": 3, "气体检测室": 2}
    # The certificate's own 检定员 (the one its signers name), by name.
    by_verifier = {r.key: r.total for r in run(grouped("certificates", "verifier", None, None))}
    assert by_verifier == {"周检定": 3, "钱检定": 2}
    verifiers = {
        r.key: r.total for r in run(grouped("records", "verifier", date(2026, 4, 1), None))
    }
    assert verifiers == {"周检定": 1, "钱检定": 2}


def test_page_chart_and_exports(browser, make_user):
    _data(make_user)
    browser.login(make_user("signatory"))
    page = browser.get("/statistics", params={"group": "conclusion"})
    assert page.status_code == 200 and "<svg" in page.text and "不合格" in page.text
    xlsx = browser.get("/statistics", params={"group": "instrument_type", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("器具类型", "合计") and rows[1][:2] == ("燃油加油机", 3)
    text = browser.get("/statistics", params={"group": "customer", "format": "csv"}).content.decode(
        "utf-8-sig"
    )
    assert list(csv.reader(io.StringIO(text)))[1][:2] == ["统计测试煤矿", "5"]
    assert browser.get("/statistics", params={"start": "2026-13-01"}).status_code == 400


def test_a_certificate_is_counted_under_the_verifier_its_signers_name(db, make_user):
    """The database derives certificate.verifier from signers on every write: a certificate handed
    to another verifier moves in the statistics, and a verifier that is not an id reads 未填."""
    from metrolab.certificates.tables import Certificate
    from metrolab.statistics.queries import grouped

    _data(make_user)
    other = make_user("verifier", full_name="孙检定")
    first = run(Certificate.select(Certificate.id).order_by(Certificate.id).first())["id"]
    run(
        Certificate.update({Certificate.signers: {"verifier": other["id"]}}).where(
            Certificate.id == first
        )
    )
    by_verifier = {r.key: r.total for r in run(grouped("certificates", "verifier", None, None))}
    assert by_verifier == {"周检定": 2, "钱检定": 2, "孙检定": 1}
    run(
        Certificate.update({Certificate.signers: {"verifier": "某人"}}).where(
            Certificate.id == first
        )
    )
    by_verifier = {r.key: r.total for r in run(grouped("certificates", "verifier", None, None))}
    assert by_verifier == {"周检定": 2, "钱检定": 2, "（未填）": 1}


def test_grouping_by_conclusion_names_each_conclusion(db, make_user):
    from metrolab.statistics.queries import grouped

    _data(make_user)
    rows = {r.key: r.total for r in run(grouped("certificates", "conclusion", None, None))}
    assert rows == {"合格": 4, "不合格": 1}
