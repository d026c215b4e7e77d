"""A clerk walks a gas station's T/ZBMS 005 compliance page in Chromium: one red requirement with its
evidence, the evidence link, then green after a new certificate; a screenshot for a person to look at."""

from datetime import date, timedelta

import pytest

from conftest import _DATA_DIR, run, ui_login

pytestmark = pytest.mark.browser


def test_compliance_page_red_then_green(page, make_user):
    from metrolab.indicators.services import seed_instrument_types
    from metrolab.ledger import services
    from test_ledger import compliant_station

    run(seed_instrument_types())
    cid, ids = compliant_station("淄博张店示范加油站")
    old = date.today() - timedelta(days=400)
    run(
        services.LedgerInstrument.update(
            {
                services.LedgerInstrument.last_verified_on: old,
                services.LedgerInstrument.next_due_on: services.due_date(old, 6),
            }
        ).where(services.LedgerInstrument.id == ids["D2"])
    )
    ui_login(page, make_user("clerk", full_name="孙业务"))
    page.goto(f"/customers/{cid}")
    page.click("#ledger-links >> text=诚信计量示范单位达标情况")
    page.wait_for_url(f"**/ledger/customers/{cid}/station")
    assert page.locator("h1").inner_text().startswith("诚信计量示范单位达标情况")
    assert page.locator("article.lg-req").count() == 7
    red = page.locator("article.lg-req.is-red")
    assert red.count() == 1 and red.get_attribute("id") == "req-none_overdue"
    assert "已超期" in red.inner_text() and "燃油加油机 D2" in red.inner_text()
    page.screenshot(path=str(_DATA_DIR / "ledger-compliance-red.png"), full_page=True)
    red.locator("a", has_text="燃油加油机 D2").click()
    page.wait_for_url(f"**/ledger/instruments/{ids['D2']}")
    assert "D2" in page.locator("h1").inner_text() and "已超期" in page.locator("h1").inner_text()
    run(
        services.record_certificate(
            {
                "number": "2026-008888",
                "customer": cid,
                "instrument_type": "fuel_dispenser",
                "verified_on": date.today(),
                "conclusion": "合格",
                "context": {"instrument": {"serial": "D2"}},
            }
        )
    )
    page.goto(f"/ledger/customers/{cid}/station")
    assert page.locator("article.lg-req.is-red").count() == 0
    assert "全部达标" in page.locator(".lg-score").inner_text()
    page.screenshot(path=str(_DATA_DIR / "ledger-compliance-green.png"), full_page=True)


def test_customer_dossier_and_portal_pages(page, make_user, new_browser):
    import re

    from metrolab.indicators.services import seed_instrument_types
    from test_ledger import compliant_station

    run(seed_instrument_types())
    cid, _ids = compliant_station("淄博临淄诚信加油站")
    ui_login(page, make_user("clerk"))
    page.goto(f"/ledger/customers/{cid}")
    assert page.locator(".lg-stat").count() == 7
    page.fill("#contracts input[name=number]", "HT-2026-08")
    page.fill("#contracts input[name=signed_on]", "2026-08-01")
    page.fill("#contracts input[name=amount]", "8800")
    page.click("#contracts button[type=submit]")
    page.wait_for_url(f"**/ledger/customers/{cid}#contracts")
    assert "HT-2026-08" in page.locator("#contracts").inner_text()
    page.screenshot(path=str(_DATA_DIR / "ledger-customer.png"), full_page=True)
    link = page.locator("#portal input[readonly]").input_value()
    path = re.sub(r"^https?://[^/]+", "", link)
    anonymous = page.context.browser.new_context(base_url=page.base, locale="zh-CN")
    tab = anonymous.new_page()
    tab.goto(path)
    assert (
        "计量器具检定有效期" in tab.locator("h1").inner_text()
        and "D1" in tab.locator("table").first.inner_text()
    )
    from metrolab.ledger.compliance import previous_months

    assert (
        previous_months(date.today())[0]
        in tab.locator("#self-checks tr", has_text="D1").inner_text()
    )
    tab.screenshot(path=str(_DATA_DIR / "ledger-portal.png"), full_page=True)
    anonymous.close()
