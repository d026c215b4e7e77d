"""In Chromium: a verifier opens a saved methane-detector record (JJG 678) and sees, per test point,
the uncertainty budget the instrument type defines as data — 输入量, 类型, 标准不确定度, 灵敏系数, 贡献,
自由度, then u_c, ν_eff, k, U — and the type's decision rule (JJF 1094)."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from conftest import _DATA_DIR, run, ui_login
from test_certificate_results import RECORDS
from test_uncertainty_certificates import GAS

pytestmark = pytest.mark.browser


def test_the_record_page_shows_the_budget_per_test_point(page, make_user):
    from metrolab.customers.tables import Customer
    from metrolab.indicators import services as indicators
    from metrolab.records import services as records
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="冀中能源峰峰集团有限公司大淑村矿")
    run(customer.save())
    run(indicators.save_standard(copy.deepcopy(GAS), None))
    user = make_user("verifier", full_name="王检定")
    rec = run(
        records.create_record(
            user,
            customer_id=customer.id,
            instrument_type="methane_detector",
            verified_on=date(2026, 11, 24),
        )
    )
    data = RECORDS["methane_detector"] | {"standards": [GAS["code"]]}
    assert run(records.save(rec["id"], {"customer": customer.id}, data, user)).saved

    ui_login(page, user)
    page.goto(f"/records/{rec['id']}")
    section = page.locator("#uncertainty")
    section.wait_for()
    assert "判定规则：JJF 1094-2002" in page.locator("#decision-rule").inner_text()
    headers = section.locator("table").first.locator("th").all_inner_texts()
    assert headers == [
        "输入量",
        "类型",
        "估计值",
        "评定方法",
        "标准不确定度",
        "灵敏系数",
        "贡献",
        "自由度",
    ]
    budgets = section.locator(".ml-budget")
    assert budgets.count() == 3
    first = budgets.nth(0)
    assert "检定点：0.50 %CH₄" in first.inner_text()
    rows = first.locator("tr")
    assert rows.nth(1).locator("td").all_inner_texts()[1:] == [
        "A 类",
        "0.523333",
        "3 次重复测量，s = 0.0058",
        "0.00333",
        "1",
        "0.00333",
        "2",
    ]
    gas = rows.nth(2).locator("td").all_inner_texts()
    assert gas[1] == "B 类" and gas[3].startswith("标准器 STD-GAS-CH4-T 证书：U_rel = 2 %，k = 2")
    assert gas[2] == "0.50" and gas[4:] == ["0.005", "-1", "0.005", "∞"]
    result = first.locator(".ml-budget-result").inner_text()
    # ν_eff = 0.00666⁴ / (0.00333⁴ / 2) = 31.x, truncated; y = 0.5233 − 0.50
    assert "y = 0.023 %CH₄" in result
    assert "uc = 0.0067 %CH₄" in result and "νeff = 31" in result and "U = 0.013 %CH₄" in result
    assert "U = 0.072 %CH₄" in budgets.nth(2).inner_text()
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(_DATA_DIR / "uncertainty_budget.png"))
