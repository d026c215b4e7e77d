"""客户明细查询 (§5.9): every customer side by side with entrustments and certificates, exported."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from conftest import run
from factories import as_user, entrustment_async


def _certificate(
    customer_id: int, number: str | None, conclusion: str, on: str, status: str = "issued"
) -> None:
    """A certificate as the product leaves it: an issued one has its number and issue time."""
    from metrolab.certificates.tables import Certificate

    run(
        Certificate(
            number=number,
            issued_at=datetime.now(UTC) if number else None,
            customer=customer_id,
            instrument_type="methane_detector",
            conclusion=conclusion,
            verified_on=date.fromisoformat(on),
            status=status,
        ).save()
    )


def test_customers_side_by_side_and_exported(db, browser, make_user):
    from metrolab.customers.tables import Customer

    clerk = make_user("clerk", "tech_manager")
    e = run(entrustment_async(as_user(clerk, "clerk"), ("SN-S-1",), customer="甲矿"))
    run(entrustment_async(as_user(clerk, "clerk"), ("SN-S-2",), customer="甲矿"))
    other = Customer(name="乙加油站", category="加油站")
    run(other.save())
    _certificate(e["customer"], "JD-S-1", "合格", "2026-03-01")
    _certificate(e["customer"], "JD-S-2", "不合格", "2026-04-01")
    _certificate(other.id, "JD-S-3", "合格", "2025-04-01")
    # Not a certificate yet: still being compiled (统计查询 does not count it either).
    _certificate(e["customer"], None, "合格", "2026-05-01", status="compiling")
    browser.login(clerk)

    page = browser.get("/statistics/customers")
    assert page.status_code == 200 and "甲矿" in page.text and "乙加油站" in page.text
    text = browser.get("/statistics/customers", params={"format": "csv", "start": "2026-01-01"})
    lines = list(csv.reader(io.StringIO(text.text.lstrip("\ufeff"))))
    assert lines[0][0] == "送检单位"
    by_name = {line[0]: line for line in lines[1:]}
    assert by_name["甲矿"][3:8] == ["2", "2", "1", "1", "2026-04-01"]
    assert by_name["乙加油站"][3:8] == ["0", "0", "0", "0", ""]  # its certificate is before start
    xlsx = browser.get("/statistics/customers", params={"format": "xlsx", "category": "加油站"})
    assert xlsx.content.startswith(b"PK")
    api = browser.get("/api/v1/statistics/customers", params={"q": "甲"}).json()["items"]
    assert [(r["name"], r["certificates"]) for r in api] == [("甲矿", 2)]
    api_csv = browser.get("/api/v1/statistics/customers/export", params={"format": "csv"})
    assert api_csv.status_code == 200 and "乙加油站" in api_csv.text
    assert browser.get("/statistics/customers", params={"start": "2026-13-01"}).status_code == 400
