"""In Chromium: a technical manager adds a new instrument type through the indicators pages and imports
its record form, a reviewer approves it with the password, a verifier fills a record — the computed
error appears live (htmx, server-side) — saves it, changes a reading with a reason and sees the 划改."""

from __future__ import annotations

import json
import re

import pytest

from conftest import _DATA_DIR, run, ui_login

pytestmark = pytest.mark.browser

FORM = {
    "format": "metrolab.form/1",
    "key": "digital_thermometer_record",
    "kind": "record",
    "title": {"zh": "数字温度计检定原始记录", "en": "Digital thermometer verification record"},
    "catalogue": "digital_thermometer",
    "layout": [
        {
            "type": "section",
            "label": {"zh": "基本信息", "en": "General"},
            "children": [
                {
                    "type": "columns",
                    "columns": [
                        [
                            {
                                "type": "field",
                                "key": "customer",
                                "control": "text",
                                "required": True,
                                "label": {"zh": "送检单位", "en": "Customer"},
                            },
                            {
                                "type": "field",
                                "key": "serial",
                                "control": "text",
                                "required": True,
                                "label": {"zh": "出厂编号", "en": "Serial"},
                            },
                        ],
                        [
                            {
                                "type": "field",
                                "key": "verification_date",
                                "control": "date",
                                "required": True,
                                "label": {"zh": "检定日期", "en": "Date"},
                            },
                            {
                                "type": "field",
                                "key": "model",
                                "control": "text",
                                "label": {"zh": "型号规格", "en": "Model"},
                            },
                        ],
                    ],
                }
            ],
        },
        {
            "type": "section",
            "label": {"zh": "检定条件", "en": "Conditions"},
            "children": [
                {
                    "type": "environment",
                    "fields": ["temperature", "humidity"],
                    "label": {"zh": "环境条件", "en": "Environment"},
                },
                {
                    "type": "field",
                    "key": "standards",
                    "control": "standard_picker",
                    "label": {"zh": "计量标准器", "en": "Standards"},
                },
            ],
        },
        {
            "type": "indicator_table",
            "key": "items",
            "label": {"zh": "检定项目", "en": "Items"},
            "point_columns": [
                {
                    "type": "field",
                    "key": "t_i",
                    "control": "number",
                    "required": True,
                    "unit": "℃",
                    "label": {"zh": "被检示值 t_i", "en": "Reading t_i"},
                },
                {
                    "type": "computed",
                    "key": "E",
                    "label": {"zh": "示值误差 E", "en": "Error E"},
                    "unit": "℃",
                    "round": "0.1",
                    "expression": "t_i - t_s",
                },
            ],
            "item_result": "maxabs(points.E)",
        },
        {
            "type": "section",
            "label": {"zh": "结论", "en": "Conclusion"},
            "children": [{"type": "conclusion", "label": {"zh": "检定结论", "en": "Conclusion"}}],
        },
    ],
}


def _switch_user(page, user: dict) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    ui_login(page, user)


def test_new_type_form_review_record_and_strike_through(page, make_user, tmp_path):
    from metrolab.customers.tables import Customer

    run(Customer(name="邯郸市示例煤矿", category="煤矿").save())
    manager = make_user("tech_manager", full_name="赵技术")
    reviewer = make_user("template_reviewer", full_name="钱审核")
    verifier = make_user("verifier", full_name="孙检定")

    # 1. the technical manager adds the instrument type and its item through the indicators pages
    ui_login(page, manager)
    page.goto("/instrument-types/new")
    for name, value in {
        "code": "digital_thermometer",
        "name_zh": "数字温度计",
        "regulation_code": "JJG 617",
        "regulation_edition": "1996",
        "cycle_months": "12",
        "record_form": "digital_thermometer_record",
        "env_temperature_min": "15",
        "env_temperature_max": "25",
        "env_humidity_min": "0",
        "env_humidity_max": "85",
        "items.0.code": "indication",
        "items.0.name_zh": "示值误差",
        "items.0.unit": "℃",
        "items.0.mpe": "0.5",
        "items.0.resolution": "0.1",
        "items.0.rounding": "0.1",
        "items.0.conformity": "within(result, mpe)",
        "items.0.points.0.code": "P1",
        "items.0.points.0.label_zh": "0 ℃",
        "items.0.points.0.params": "t_s=0",
    }.items():
        page.fill(f"[name='{name}']", value)
    page.click("#add-point-0")
    page.wait_for_selector("[name='items.0.points.1.code']")
    page.fill("[name='items.0.points.1.code']", "P2")
    page.fill("[name='items.0.points.1.label_zh']", "50 ℃")
    page.fill("[name='items.0.points.1.params']", "t_s=50")
    page.fill("[name=source]", "JJG 617-1996 数字温度指示调节仪检定规程（演示）")
    page.fill("[name='items.0.source']", "JJG 617-1996 示值误差（演示）")
    page.click("#save-type")
    page.wait_for_load_state()
    if page.locator("#form-errors").count():  # say what the indicators page refused
        pytest.fail(page.locator("#form-errors").inner_text())
    page.wait_for_url("**/instrument-types/digital_thermometer")

    # 2. … and imports the record form (file upload), then submits it for review
    definition = tmp_path / "digital_thermometer_record.json"
    definition.write_text(json.dumps(FORM, ensure_ascii=False), encoding="utf-8")
    page.goto("/forms")
    page.set_input_files("input[name=file]", str(definition))
    page.click("form[action='/forms/import'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/forms/digital_thermometer_record\?v=\d+"))
    assert "草稿" in page.locator("#version-info").inner_text()
    assert (
        page.locator("#preview #form-body").count() == 1
    )  # previewed by the engine with sample data
    page.locator("#submit-form input[name=note]").press_sequentially("新增数字温度计原始记录")
    page.click("form[action$='/submit'] button")
    page.wait_for_load_state()
    assert "审核中" in page.locator("#version-info").inner_text()
    assert page.locator("#approve-form").count() == 0  # not for the author

    # 3. the reviewer sees the task, approves with the password
    _switch_user(page, reviewer)
    task = page.locator(".ml-tasks, main").get_by_text("待审核的表单模板")
    assert task.count() >= 1
    page.goto("/forms/review")
    page.click("text=数字温度计检定原始记录")
    page.fill("#approve-form input[name=password]", "wrong-password-1")
    page.click("#approve-form button")
    assert "密码不正确" in page.locator("#form-error").inner_text()
    page.fill("#approve-form input[name=password]", reviewer["password"])
    page.click("#approve-form button")
    page.wait_for_load_state()
    assert "已发布" in page.locator("#version-info").inner_text()
    assert "钱审核" in page.locator("#version-info").inner_text()

    # 4. the verifier fills in a record; the error is computed by the server as they type
    _switch_user(page, verifier)
    page.goto("/records/new")
    page.select_option("select[name=customer]", label="邯郸市示例煤矿")
    page.select_option("select[name=instrument_type]", value="digital_thermometer")
    page.click("form[action='/records'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/records/\d+/edit"))
    record_url = page.url.removesuffix("/edit")
    page.fill("[name=serial]", "DT-2026-001")
    page.fill("[name='environment.temperature']", "21.5")
    page.fill("[name='items.indication.points.0.t_i']", "0.3")
    page.press("[name='items.indication.points.0.t_i']", "Tab")
    error_p1 = page.locator("#c-items-indication-points-0-E")
    error_p1.filter(has_text="0.3").wait_for()
    page.fill("[name='items.indication.points.1.t_i']", "50.2")
    page.press("[name='items.indication.points.1.t_i']", "Tab")
    page.locator("#c-items-indication-points-1-E").filter(has_text="0.2").wait_for()
    assert page.locator("#c-items-indication-conclusion").inner_text() == "合格"
    # typed while an earlier compute was on its way: still there after the swaps
    assert page.input_value("[name='environment.temperature']") == "21.5"
    assert page.input_value("[name=serial]") == "DT-2026-001"
    page.locator("#autosave").filter(has_text="已自动保存").wait_for()
    page.screenshot(path=str(_DATA_DIR / "record-edit.png"), full_page=True)
    page.click("#save-button")
    page.wait_for_url(record_url)
    assert page.locator("#record-conclusion").inner_text() == "合格"
    assert "DT-2026-001" in page.locator("#record-summary").inner_text()

    # 5. a change after saving needs a reason and is kept as a 划改
    page.click("a[href$='/edit']")
    page.wait_for_url(record_url + "/edit")
    page.fill("[name='items.indication.points.0.t_i']", "0.7")
    page.press("[name='items.indication.points.0.t_i']", "Tab")
    page.locator("#c-items-indication-points-0-E").filter(has_text="0.7").wait_for()
    assert page.locator("#c-items-indication-conclusion").inner_text() == "不合格"
    page.click("#save-button")
    assert "修改已保存的原始记录须填写修改原因" in page.locator("#save-problems").inner_text()
    assert page.input_value("[name='items.indication.points.0.t_i']") == "0.7"  # kept
    page.fill("[name=_reason]", "复读示值，更正抄写错误")
    page.click("#save-button")
    page.wait_for_url(record_url)
    assert page.locator("#record-conclusion").inner_text() == "不合格"
    page.screenshot(path=str(_DATA_DIR / "record-view.png"), full_page=True)
    page.click("text=修改记录（划改）")
    revision = page.locator("#rev-2")
    assert revision.locator("del").first.inner_text() == "0.3"
    assert revision.locator("ins").first.inner_text() == "0.7"
    text = revision.inner_text()
    assert "孙检定" in text and "复读示值，更正抄写错误" in text and "示值误差 50 ℃" not in text
    page.screenshot(path=str(_DATA_DIR / "record-history.png"), full_page=True)
