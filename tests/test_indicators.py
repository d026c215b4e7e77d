"""Indicator database (指标库): seeders, catalogue shape, validation, pages, import/export, API."""

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from conftest import run
from metrolab.engine.forms import load_definition, validate_for_publish
from metrolab.engine.forms.model import parse_json
from metrolab.indicators import services
from metrolab.indicators.catalogue import check_type

ROOT = Path(__file__).resolve().parents[1]
TYPE_FILES = sorted((ROOT / "seed_data/instrument_types").glob("*.json"))
SEED_TYPES = {t["code"]: t for t in (parse_json(p.read_bytes()) for p in TYPE_FILES)}
SEED_STANDARDS = json.loads((ROOT / "seed_data/standards.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def empty_catalogue(db):
    """These tests start from an empty indicator database (conftest restores the seeded one afterwards)."""
    from metrolab.indicators.tables import InstrumentType, Standard

    run(InstrumentType.delete(force=True))
    run(Standard.delete(force=True))


def _seed():
    run(services.seed_instrument_types())
    run(services.seed_standards())


@pytest.mark.parametrize("code", sorted(SEED_TYPES))
def test_shipped_type_is_already_normal(code):
    catalogue, problems = check_type(SEED_TYPES[code])
    assert problems == {}
    assert catalogue == SEED_TYPES[code]


def test_seeders_load_every_shipped_type_and_standard_without_overwriting_edits(db, make_user):
    from metrolab.indicators.tables import InstrumentType, Standard

    run(InstrumentType.delete(force=True))  # the session's seed_all ran them once already
    run(Standard.delete(force=True))
    assert len(SEED_TYPES) == 11
    assert run(services.seed_instrument_types()) == 11
    n_standards = len(SEED_STANDARDS["facilities"]) + len(SEED_STANDARDS["instruments"])
    assert run(services.seed_standards()) == n_standards
    assert {t["code"] for t in run(services.list_types())} == set(SEED_TYPES)
    codes = [s["code"] for s in SEED_STANDARDS["instruments"]]
    assert [s["code"] for s in run(services.get_standards(codes))] == codes
    # a lab's edit survives seeding again
    edited = dict(SEED_TYPES["dipstick"], cycle_months=6)
    run(services.save_type(edited, None, mode="update"))
    assert run(services.seed_instrument_types()) == 0 and run(services.seed_standards()) == 0
    assert run(services.get_catalogue("dipstick"))["cycle_months"] == 6


def test_get_catalogue_is_the_seed_shape_and_every_record_form_publishes_against_it(db):
    _seed()
    forms = {p.stem: p for p in (ROOT / "form_schemas").glob("*.json")}
    for code, shipped in SEED_TYPES.items():
        catalogue = run(services.get_catalogue(code))
        assert catalogue == shipped, code
        defn = load_definition(forms[catalogue["record_form"]].read_bytes(), catalogue)
        validate_for_publish(defn, catalogue)
    assert run(services.get_catalogue("no_such_type")) is None


def test_a_changed_item_is_checked_by_the_record_form(db):
    """The engine really uses what get_catalogue returns: an item rule naming an unknown reading fails."""
    from metrolab.engine.forms import DefinitionInvalid

    _seed()
    catalogue = run(services.get_catalogue("fuel_dispenser"))
    catalogue["items"][0]["conformity"] = "within(no_such_reading, mpe)"
    run(services.save_type(catalogue, None, mode="update"))
    stored = run(services.get_catalogue("fuel_dispenser"))
    defn = load_definition((ROOT / "form_schemas/fuel_dispenser_record.json").read_bytes())
    with pytest.raises(DefinitionInvalid):
        validate_for_publish(defn, stored)


def test_standards_for_picker_and_expiry(db):
    _seed()
    today = date(2026, 11, 24)
    picker = {s["code"]: s for s in run(services.standards_for_picker(today))}
    assert (
        picker["STD-VOL-20-02"]["expired"] is True and picker["STD-VOL-20-01"]["expired"] is False
    )
    assert (
        picker["STD-VOL-20-01"]["valid_until"] == "2027-03-14"
        and "STD-VOL-20-01" in picker["STD-VOL-20-01"]["label"]
    )
    for_gauges = {s["code"] for s in run(services.standards_for_picker(today, "pressure_gauge"))}
    assert "STD-PRS-06-01" in for_gauges and "STD-VOL-20-01" not in for_gauges
    got = run(services.get_standards(["STD-VOL-20-01"]))[0]
    assert got["valid_until"] == date(2027, 3, 14) and got["kind"] == "instrument"
    assert got["uncertainty"] == "二等，MPE ±0.025 %" and got["measuring_range"] == "20 L"
    assert got["facility"] == "FAC-VOL-01"
    warnings = run(services.expiring_standards(60, today=today))
    status = {s["code"]: s["status"] for s in warnings}
    assert status == {
        "STD-VOL-20-02": "expired",
        "FAC-GAS-01": "expired",
        "STD-GAS-CH4-01": "expired",
        "STD-THM-01": "expiring",
    }
    assert [s["code"] for s in warnings][0] == "STD-VOL-20-02"  # soonest first
    assert run(services.expiring_standards(0, today=date(2026, 1, 1))) == []


def _type_form(**overrides):
    """A posted editor for a new methane-detector-like type with two items, the first with two points."""
    form = {
        "code": "ch4_test",
        "name_zh": "测试甲烷检测报警仪",
        "name_en": "Test methane detector",
        "category": "气体 (gas)",
        "range_zh": "(0～4) %CH₄",
        "accuracy": "±0.1 %CH₄",
        "mpe": "见各检定点",
        "regulation_code": "JJG 678",
        "regulation_edition": "2007",
        "regulation_name": "催化燃烧式甲烷测定器检定规程",
        "cycle_months": "12",
        "compulsory": "1",
        "record_form": "methane_detector_record",
        "certificate_template": "verification_certificate",
        "env_temperature_min": "15",
        "env_temperature_max": "35",
        "env_mode": "warn",
        "source": "JJG 678-2007 第 5 章",
        "active": "1",
        "items.0.code": "indication",
        "items.0.name_zh": "示值误差",
        "items.0.name_en": "Error of indication",
        "items.0.requirement_zh": "各检定点示值误差不超过最大允许误差",
        "items.0.unit": "%CH₄",
        "items.0.mpe": "",
        "items.0.resolution": "0.01",
        "items.0.rounding": "0.01",
        "items.0.conformity": "within(result, mpe_p)",
        "items.0.source": "JJG 678-2007 5.2",
        "items.0.points.0.code": "C1",
        "items.0.points.0.label_zh": "0.50 %",
        "items.0.points.0.params": "c_nom=0.50; runs=3",
        "items.0.points.1.code": "C2",
        "items.0.points.1.label_zh": "1.50 %",
        "items.0.points.1.params": "c_nom=1.50, runs=3",
        "items.1.code": "alarm",
        "items.1.name_zh": "报警功能",
        "items.1.conformity": "result",
        "items.1.points.0.code": "A",
        "items.1.points.0.label_zh": "报警点",
        "items.1.points.0.params": "",
    }
    form.update(overrides)
    return form


def test_create_a_type_through_the_page_then_read_it_back(browser, make_user):
    browser.login(make_user("tech_manager"))
    assert browser.get("/instrument-types/new").status_code == 200
    r = browser.post("/instrument-types", data=_type_form(), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/instrument-types/ch4_test"
    t = run(services.get_catalogue("ch4_test"))
    assert (
        t["name"] == {"zh": "测试甲烷检测报警仪", "en": "Test methane detector"}
        and t["cycle_months"] == 12
    )
    assert t["compulsory"] is True and t["environment"] == {"mode": "warn", "temperature": [15, 35]}
    assert [i["code"] for i in t["items"]] == ["indication", "alarm"]
    indication = t["items"][0]
    assert indication["points"] == [
        {"code": "C1", "label": {"zh": "0.50 %", "en": ""}, "params": {"c_nom": "0.50", "runs": 3}},
        {"code": "C2", "label": {"zh": "1.50 %", "en": ""}, "params": {"c_nom": "1.50", "runs": 3}},
    ]
    assert indication["mpe"] is None and indication["rounding"] == "0.01"
    assert t["items"][1]["points"] == [
        {"code": "A", "label": {"zh": "报警点", "en": ""}, "params": {}}
    ]
    detail = browser.get("/instrument-types/ch4_test").text
    assert "示值误差" in detail and "c_nom = 0.50" in detail and "within(result, mpe_p)" in detail
    listing = browser.get("/instrument-types", params={"q": "甲烷"}).text
    assert "ch4_test" in listing
    assert (
        "ch4_test"
        not in browser.get("/instrument-types", params={"category": "压力 (pressure)"}).text
    )
    # edit: keeps everything, a third item added through the add-row action, then saved
    edit = browser.get("/instrument-types/ch4_test/edit").text
    assert 'value="c_nom=0.50; runs=3"' in edit and 'name="items.1.points.0.code"' in edit
    added = browser.post("/instrument-types/ch4_test", data=_type_form(_action="add_item"))
    assert added.status_code == 200 and 'id="items-2-code"' in added.text
    assert (
        run(services.get_catalogue("ch4_test"))["items"][1]["code"] == "alarm"
    )  # nothing saved by the action
    r = browser.post(
        "/instrument-types/ch4_test",
        data=_type_form(
            **{
                "items.2.code": "response",
                "items.2.name_zh": "响应时间",
                "items.2.mpe": "20",
                "items.2.unit": "s",
                "items.2.conformity": "result <= mpe",
                "items.2.points.0.code": "T",
            }
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = run(services.get_type("ch4_test"))
    assert [i["code"] for i in after["items"]] == ["indication", "alarm", "response"] and after[
        "revision"
    ] == 2


def test_row_actions_add_and_remove_points_and_items(browser, make_user):
    browser.login(make_user("tech_manager"))
    r = browser.post("/instrument-types", data=_type_form(_action="add_point:0"))
    assert r.status_code == 200 and 'id="items-0-points-2-code"' in r.text
    r = browser.post("/instrument-types", data=_type_form(_action="remove_point:0.0"))
    assert 'value="C2"' in r.text and 'value="C1"' not in r.text
    r = browser.post("/instrument-types", data=_type_form(_action="remove_item:0"))
    assert (
        'value="alarm"' in r.text
        and 'value="indication"' not in r.text
        and 'id="items-1-code"' not in r.text
    )
    assert run(services.get_catalogue("ch4_test")) is None


def test_bad_input_is_named_in_chinese_and_what_was_typed_is_kept(browser, make_user):
    browser.login(make_user("tech_manager"))
    r = browser.post(
        "/instrument-types",
        data=_type_form(
            **{
                "cycle_months": "abc",
                "items.0.conformity": "__class__",
                "items.1.points.0.params": "oops",
                "items.0.rounding": "0.03",
            }
        ),
    )
    assert r.status_code == 400
    assert "检定周期应为 1～240 之间的整数" in r.text
    assert "检定项目 1「示值误差」：符合性规则有误" in r.text and "下划线开头" in r.text
    assert "检定项目 2「报警功能」 检定点 1：参数“oops”应写成 名称=值" in r.text
    assert "修约间隔应为 1、2 或 5" in r.text
    assert 'value="abc"' in r.text and 'value="__class__"' in r.text and 'value="oops"' in r.text
    assert 'value="测试甲烷检测报警仪"' in r.text and 'value="c_nom=1.50, runs=3"' in r.text
    assert run(services.get_catalogue("ch4_test")) is None
    # a duplicate code
    run(services.seed_instrument_types())
    r = browser.post("/instrument-types", data=_type_form(code="fuel_dispenser"))
    assert r.status_code == 400 and "器具类型代码“fuel_dispenser”已存在" in r.text
    assert run(services.get_catalogue("fuel_dispenser"))["name"]["zh"] == "燃油加油机"


def test_the_editor_refuses_a_range_with_upper_below_lower_then_keeps_a_good_one(
    browser, make_user
):
    browser.login(make_user("tech_manager"))
    r = browser.post(
        "/instrument-types", data=_type_form(range_lower="4", range_upper="0", range_unit="%CH₄")
    )
    assert r.status_code == 400 and "测量范围上限（0）应大于下限（4）" in r.text
    assert 'id="range_lower" value="4"' in r.text and 'id="range_upper" value="0"' in r.text
    r = browser.post(
        "/instrument-types", data=_type_form(range_lower="0", range_upper="4", range_unit="")
    )
    assert r.status_code == 400 and "测量范围有下限和上限时请填写单位（如 MPa）" in r.text
    assert run(services.get_catalogue("ch4_test")) is None
    r = browser.post(
        "/instrument-types",
        data=_type_form(
            **{
                "range_lower": "0",
                "range_upper": "4",
                "range_unit": "%CH₄",
                "record_accuracy": "accuracy_class",
                "items.0.limit": "points.c_nom / 10",
            }
        ),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    t = run(services.get_catalogue("ch4_test"))
    assert t["range"] == {"zh": "(0～4) %CH₄", "en": "", "lower": "0", "upper": "4", "unit": "%CH₄"}
    assert (
        t["record_fields"] == {"accuracy": "accuracy_class"}
        and t["items"][0]["limit"] == "points.c_nom / 10"
    )
    edit = browser.get("/instrument-types/ch4_test/edit").text
    assert 'id="range_upper" value="4"' in edit and 'value="accuracy_class"' in edit
    assert 'value="points.c_nom / 10"' in edit


def test_save_type_refuses_with_every_problem_in_chinese(db):
    bad = dict(
        SEED_TYPES["fuel_dispenser"],
        code="9bad",
        cycle_months=0,
        items=[
            {
                "code": "a",
                "name": {"zh": "甲"},
                "conformity": "within(result,",
                "points": [{"code": "P", "params": []}],
            },
            {"code": "a", "name": {"zh": ""}, "mpe": "±0.3"},
        ],
    )
    with pytest.raises(services.Invalid) as caught:
        run(services.save_type(bad, None))
    errors = caught.value.errors
    assert set(errors) >= {
        "code",
        "cycle_months",
        "items.0.conformity",
        "items.0.points.0.params",
        "items.1.code",
        "items.1.name_zh",
        "items.1.mpe",
    }
    assert "语法错误" in errors["items.0.conformity"]
    assert run(services.list_types(active_only=False)) == []


def test_import_of_a_malformed_file_is_refused_whole(db):
    good = dict(SEED_TYPES["dipstick"], code="tape_a")
    bad = dict(SEED_TYPES["dipstick"], code="tape_b", cycle_months="abc")
    result = run(services.import_types(json.dumps([good, bad]).encode()))
    assert not result.ok and not result.applied
    assert any("第 2 个器具类型（tape_b）" in e and "检定周期" in e for e in result.errors)
    assert run(services.get_catalogue("tape_a")) is None
    for payload, message in [
        (b"{not json", "不是有效的 JSON"),
        (b'{"code": "x", "code": "y"}', "重复"),
        (b"[]", "没有器具类型"),
    ]:
        result = run(services.import_types(payload))
        assert not result.ok and any(message in e for e in result.errors), result.errors
    assert run(services.list_types(active_only=False)) == []
    standards = {
        "facilities": [
            {"code": "FAC-X", "name": "装置", "valid_until": "2027-01-01", "instruments": ["NOPE"]}
        ],
        "instruments": [{"code": "STD-X", "name": "量器", "valid_until": "31/12/2027"}],
    }
    result = run(services.import_standards(json.dumps(standards).encode()))
    assert any("NOPE" in e for e in result.errors) and any(
        "STD-X" in e and "有效期至" in e for e in result.errors
    )
    assert run(services.list_standards()) == []


def test_export_then_import_round_trip(db):
    _seed()
    exported = run(services.export_types(None))
    assert json.loads(exported) == [SEED_TYPES[c] for c in sorted(SEED_TYPES)]
    standards = run(services.export_standards())
    from metrolab.indicators.tables import InstrumentType, Standard

    run(InstrumentType.delete(force=True))
    run(Standard.delete(force=True))
    preview = run(services.import_types(exported, dry_run=True))
    assert preview.ok and sorted(preview.created) == sorted(SEED_TYPES) and not preview.applied
    assert run(services.list_types()) == []
    result = run(services.import_types(exported))
    assert result.applied and {c: run(services.get_catalogue(c)) for c in SEED_TYPES} == SEED_TYPES
    assert run(services.import_types(exported, dry_run=True)).unchanged == sorted(SEED_TYPES)
    result = run(services.import_standards(standards))
    assert result.applied and run(services.export_standards()) == standards
    assert run(services.get_standards(["STD-VOL-20-02"]))[0]["facility"] == "FAC-VOL-01"
    # an edited file updates only what changed
    changed = json.loads(exported)
    changed[0]["cycle_months"] = 3
    preview = run(services.import_types(json.dumps(changed[0]).encode(), dry_run=True))
    assert preview.updated == [changed[0]["code"]] and preview.created == []


def test_import_pages_preview_then_confirm(browser, make_user):
    browser.login(make_user("tech_manager"))
    payload = json.dumps(
        dict(SEED_TYPES["level_gauge"], code="level_b"), ensure_ascii=False
    ).encode()
    r = browser.post(
        "/instrument-types/import", files={"file": ("t.json", payload, "application/json")}
    )
    assert r.status_code == 200 and "level_b" in r.text and "确认导入" in r.text
    assert run(services.get_catalogue("level_b")) is None
    digest = r.text.split('name="digest" value="')[1].split('"')[0]
    r = browser.post(
        "/instrument-types/import/confirm", data={"digest": digest}, follow_redirects=False
    )
    assert r.status_code == 303 and run(services.get_catalogue("level_b"))["code"] == "level_b"
    bad = browser.post(
        "/instrument-types/import", files={"file": ("t.json", b"[{}]", "application/json")}
    )
    assert (
        bad.status_code == 400
        and "器具类型代码不能为空" in bad.text
        and "未导入任何数据" in bad.text
    )
    export = browser.get("/instrument-types/export", params={"code": "level_b"})
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert json.loads(export.content)[0]["code"] == "level_b"


def test_standard_pages_and_expiry_warning(browser, make_user):
    _seed()
    browser.login(make_user("tech_manager"))
    listing = browser.get("/standards").text
    assert "STD-VOL-20-02" in listing and "已过期" in listing and 'id="expiry-warning"' in listing
    warning = browser.get("/standards/expiring").text
    assert (
        'data-status="expired"' in warning
        and "STD-GAS-CH4-01" in warning
        and "STD-VOL-20-01" not in warning
    )
    home = browser.get("/home").text
    assert "标准器 60 天内到期" in home
    r = browser.post(
        "/standards",
        data={
            "kind": "instrument",
            "code": "STD-NEW-01",
            "name": "新标准器",
            "valid_until": "2027-13-01",
            "uncertainty": "0.02 级",
            "active": "1",
        },
    )
    assert r.status_code == 400 and "有效期至应为日期" in r.text and 'value="0.02 级"' in r.text
    r = browser.post(
        "/standards",
        data={
            "kind": "instrument",
            "code": "STD-NEW-01",
            "name": "新标准器",
            "valid_until": "2027-12-01",
            "for_types": ["dipstick"],
            "active": "1",
            "facility": "FAC-VOL-01",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    s = run(services.get_standards(["STD-NEW-01"]))[0]
    assert (
        s["valid_until"] == date(2027, 12, 1)
        and s["for_types"] == ["dipstick"]
        and s["facility"] == "FAC-VOL-01"
    )
    r = browser.post(
        "/standards/STD-NEW-01",
        data={"kind": "instrument", "name": "新标准器（改）", "valid_until": "2028-01-01"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    s = run(services.get_standards(["STD-NEW-01"]))[0]
    assert s["name"] == "新标准器（改）" and s["active"] is False  # the box was not ticked
    assert "STD-NEW-01" in browser.get("/standards/STD-NEW-01/edit").text


def test_api_create_read_update_and_refusals(browser, new_browser, make_user):
    browser.login(make_user("tech_manager"))
    body = dict(SEED_TYPES["temperature_transmitter"], code="tt_api")
    r = browser.post("/api/v1/instrument-types", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == body
    assert browser.get("/api/v1/instrument-types/tt_api").json() == body
    assert browser.post("/api/v1/instrument-types", json=body).status_code == 400
    changed = dict(body, cycle_months=6)
    assert browser.put("/api/v1/instrument-types/tt_api", json=changed).json()["cycle_months"] == 6
    r = browser.put("/api/v1/instrument-types/tt_api", json=dict(body, items=[]))
    assert r.status_code == 400 and "至少需要一个检定项目" in r.json()["detail"]
    assert browser.get("/api/v1/instrument-types/nope").json()["detail"] == "器具类型“nope”不存在"
    assert "tt_api" in [t["code"] for t in browser.get("/api/v1/instrument-types").json()]
    r = browser.post(
        "/api/v1/standards",
        json={
            "code": "STD-API-1",
            "name": "API 标准器",
            "valid_until": "2026-12-01",
            "kind": "instrument",
        },
    )
    assert r.status_code == 201 and r.json()["valid_until"] == "2026-12-01"
    expiring = browser.get("/api/v1/standards/expiring", params={"within_days": 3650}).json()
    assert "STD-API-1" in [s["code"] for s in expiring]
    verifier = new_browser().login(make_user("verifier"))
    assert verifier.get("/api/v1/instrument-types/tt_api").status_code == 200
    assert verifier.get("/instrument-types/tt_api").status_code == 200
    r = verifier.post("/api/v1/instrument-types", json=dict(body, code="tt_x"))
    assert r.status_code == 403
    assert (
        verifier.post(
            "/api/v1/standards", json={"code": "S", "name": "S", "valid_until": "2027-01-01"}
        ).status_code
        == 403
    )
    assert (
        verifier.post("/instrument-types", data=_type_form(), follow_redirects=False).status_code
        == 403
    )
    assert (
        run(services.get_catalogue("ch4_test")) is None
        and run(services.get_catalogue("tt_x")) is None
    )


def test_a_deactivated_type_is_hidden_from_lists_but_still_resolves(browser, make_user):
    _seed()
    browser.login(make_user("tech_manager"))
    assert (
        browser.post("/instrument-types/dipstick/active", follow_redirects=False).status_code == 303
    )
    assert "dipstick" not in {t["code"] for t in run(services.list_types())}
    assert (
        run(services.get_catalogue("dipstick")) == SEED_TYPES["dipstick"]
    )  # old records still find it
    assert 'href="/instrument-types/dipstick"' not in browser.get("/instrument-types").text
    assert "dipstick" in browser.get("/instrument-types", params={"inactive": "true"}).text
    browser.put(
        "/api/v1/instrument-types/dipstick", json=dict(SEED_TYPES["dipstick"], cycle_months=24)
    )
    assert run(services.get_type("dipstick"))["active"] is False  # a PUT without "active" leaves it
    assert json.loads(run(services.export_types(["dipstick"])))[0]["active"] is False


def test_standards_import_page_and_api_import(browser, make_user):
    browser.login(make_user("tech_manager"))
    payload = (ROOT / "seed_data/standards.json").read_bytes()
    r = browser.post(
        "/standards/import", files={"file": ("standards.json", payload, "application/json")}
    )
    assert (
        r.status_code == 200 and "STD-VOL-20-01" in r.text and run(services.list_standards()) == []
    )
    digest = r.text.split('name="digest" value="')[1].split('"')[0]
    assert (
        browser.post(
            "/standards/import/confirm", data={"digest": digest}, follow_redirects=False
        ).status_code
        == 303
    )
    assert len(run(services.list_standards())) == len(SEED_STANDARDS["facilities"]) + len(
        SEED_STANDARDS["instruments"]
    )
    types = json.dumps([SEED_TYPES["co_detector"]]).encode()
    r = browser.post("/api/v1/instrument-types/import", params={"dry_run": "true"}, content=types)
    assert (
        r.status_code == 200
        and r.json()["created"] == ["co_detector"]
        and r.json()["applied"] is False
    )
    r = browser.post("/api/v1/instrument-types/import", content=b'{"code": 1}')
    assert (
        r.status_code == 400
        and r.json()["errors"]
        and run(services.get_catalogue("co_detector")) is None
    )
    assert browser.post("/api/v1/instrument-types/import", content=types).json()["applied"] is True
    assert json.loads(browser.get("/api/v1/instrument-types/export").content) == [
        SEED_TYPES["co_detector"]
    ]


def _posted_form(html: str) -> dict[str, str]:
    """What a browser would post from the page's first editor form (inputs, textareas, selects)."""
    from html.parser import HTMLParser

    class Form(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data, self.textarea, self.select = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and "disabled" not in a and a.get("type") != "file":
                if a.get("type") != "checkbox" or "checked" in a:
                    self.data[a["name"]] = a.get("value", "")
            elif tag == "textarea":
                self.textarea = a["name"]
                self.data[self.textarea] = ""
            elif tag == "select":
                self.select = a["name"]
            elif (
                tag == "option"
                and self.select
                and ("selected" in a or self.select not in self.data)
            ):
                self.data[self.select] = a.get("value", "")

        def handle_endtag(self, tag):
            self.textarea = None if tag == "textarea" else self.textarea
            self.select = None if tag == "select" else self.select

        def handle_data(self, data):
            if self.textarea:
                self.data[self.textarea] += data

    parser = Form()
    parser.feed(html)
    parser.data.pop("_csrf_token", None)
    return parser.data


def test_editing_a_shipped_type_without_changes_keeps_its_catalogue(browser, make_user):
    _seed()
    browser.login(make_user("tech_manager"))
    for code, shipped in copy.deepcopy(SEED_TYPES).items():
        form = _posted_form(browser.get(f"/instrument-types/{code}/edit").text)
        r = browser.post(f"/instrument-types/{code}", data=form, follow_redirects=False)
        assert r.status_code == 303, (code, r.text[:3000])
        stored = run(services.get_catalogue(code))
        # parameters typed in the editor come back as numbers when whole, text otherwise; both read the same
        for item in shipped["items"]:
            for point in item["points"]:
                point["params"] = {
                    k: int(v) if isinstance(v, str) and v.isdigit() and v == str(int(v)) else v
                    for k, v in point["params"].items()
                }
        assert stored == shipped, code
