"""收费 is booked for one of the customer's real certificates: a number typed from nowhere
(JD2026-99999) or another customer's certificate is refused beside the field, the typed values kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from conftest import run
from test_ledger import customer


def _certificate(customer_id: int, number: str) -> None:
    from metrolab.certificates.tables import Certificate

    run(Certificate(number=number, customer=customer_id, instrument_type="fuel_dispenser").save())


def test_a_charge_names_a_real_certificate_of_the_customer(db, browser, make_user):
    from metrolab.ledger.tables import Charge, Contract

    browser.login(make_user("clerk"))
    cid, other = customer(), customer("另一加油站")
    _certificate(cid, "JD2026-00011")
    _certificate(other, "JD2026-00012")
    contract = Contract(
        customer=cid, number="HT-1", signed_on=date(2026, 1, 5), amount=Decimal("1000")
    )
    run(contract.save())
    base = f"/ledger/customers/{cid}/records/charges"
    typed = {
        "contract": str(contract.id),
        "description": "加油机检定 1 台",
        "amount": "180",
        "charged_on": "2026-06-10",
    }
    page = browser.get(f"/ledger/customers/{cid}").text
    assert ">JD2026-00011</option>" in page and "JD2026-00012" not in page

    for number in ("JD2026-99999", "JD2026-00012"):
        bad = browser.post(base, data={**typed, "certificate_number": number})
        assert bad.status_code == 400, number
        assert f"该客户没有编号为“{number}”的证书" in bad.text
        assert "加油机检定 1 台" in bad.text  # what was typed stays
    assert run(Charge.count()) == 0
    api = browser.post(
        f"/api/v1/ledger/customers/{cid}/records/charges",
        json={**typed, "certificate_number": "JD2026-99999"},
    )
    assert api.status_code == 400 and "JD2026-99999" in api.text

    ok = browser.post(
        base, data={**typed, "certificate_number": "JD2026-00011"}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert [r["certificate_number"] for r in run(Charge.select())] == ["JD2026-00011"]
