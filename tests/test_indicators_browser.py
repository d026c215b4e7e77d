"""The instrument-type editor in Chromium: items and test points added with the row buttons (htmx),
a bad expression shown beside its field, then saved and read back."""

import pytest

from conftest import run, ui_login
from metrolab.indicators import services

pytestmark = pytest.mark.browser


def test_technical_manager_builds_a_type_with_items_and_points(page, make_user):
    ui_login(page, make_user("tech_manager"))
    page.goto("/instrument-types")
    page.click("#new-type")
    page.wait_for_url("**/instrument-types/new")
    for name, value in {
        "code": "gauge_ui",
        "name_zh": "界面压力表",
        "regulation_code": "JJG 52",
        "regulation_edition": "2013",
        "cycle_months": "6",
        "source": "JJG 52-2013",
        "record_form": "pressure_gauge_record",
    }.items():
        page.fill(f"#{name}", value)
    page.fill("#items-0-code", "indication")
    page.fill("#items-0-name_zh", "示值误差")
    page.fill("#items-0-conformity", "within(result, mpe_abs)")
    page.fill("#items-0-points-0-code", "P0")
    page.fill("#items-0-points-0-params", "pct=0")
    page.click("#add-point-0")
    page.locator("#items-0-points-1-code").wait_for()
    assert page.input_value("#items-0-points-0-params") == "pct=0"  # typed values survive the swap
    assert page.url.endswith("/instrument-types/new")  # htmx swapped the items block in place
    page.fill("#items-0-points-1-code", "P50")
    page.fill("#items-0-points-1-params", "pct=50")
    page.click("#add-item")
    page.locator("#items-1-code").wait_for()
    page.fill("#items-1-code", "zero")
    page.fill("#items-1-name_zh", "零位")
    page.fill("#items-1-conformity", "__class__")
    page.fill("#items-1-points-0-code", "C")
    page.click("#save-type")
    error = page.locator("#item-1 .ml-error")
    assert "符合性规则有误" in error.first.inner_text()
    assert (
        page.input_value("#items-1-conformity") == "__class__"
        and page.input_value("#code") == "gauge_ui"
    )
    page.fill("#items-1-conformity", "result")
    page.click("#save-type")
    page.wait_for_url("**/instrument-types/gauge_ui")
    assert "pct = 50" in page.locator("#item-indication").inner_text()
    stored = run(services.get_catalogue("gauge_ui"))
    assert [p["params"] for p in stored["items"][0]["points"]] == [{"pct": 0}, {"pct": 50}]
    assert [i["code"] for i in stored["items"]] == ["indication", "zero"]
