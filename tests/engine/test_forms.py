"""The form engine on the shipped fuel-dispenser record (JJG 443 worked case) and small definitions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrolab.engine.forms import (
    DefinitionInvalid,
    apply_row_action,
    compute,
    derive_schema,
    diff_definitions,
    load_definition,
    parse_submission,
    render_form,
    sample_data,
    validate_for_publish,
    validate_submission,
)

ROOT = Path(__file__).resolve().parents[2]
FUEL_TYPE = json.loads((ROOT / "seed_data/instrument_types/fuel_dispenser.json").read_text("utf-8"))
FUEL_FORM_TEXT = (ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8")


@pytest.fixture(scope="module")
def fuel_form():
    return load_definition(FUEL_FORM_TEXT, FUEL_TYPE)


def run(v_s: int, v_j: str = "20.00", t: str = "24.0") -> dict[str, str]:
    return {"V_J": v_j, "V_s": str(v_s), "t_J": t, "t_B": t}


def record(q1_scale: list[int], q2_scale: list[int], checks: str = "合格") -> dict:
    return {
        "customer": "淄博市张店区示例加油站",
        "serial": "JY-2024-001",
        "verification_date": "2026-11-24",
        "fuel": "汽油",
        "material": "不锈钢",
        "V_0": "20",
        "environment": {"temperature": "21.5", "humidity": "55"},
        "standards": ["STD-2024-003"],
        "nozzles": [
            {
                "nozzle_no": "1",
                "items": {
                    "indication": {
                        "points": [
                            {"runs": [run(v) for v in q1_scale]},
                            {"runs": [run(v) for v in q2_scale]},
                        ]
                    },
                    "payment": {"points": [{"P": "7.50", "V_J": "20.00", "J": "150.00"}]},
                    "self_lock": {"points": [{"outcome": checks}]},
                    "anti_cheat": {"points": [{"outcome": "合格"}]},
                    "seal": {"points": [{"outcome": "合格"}]},
                },
            }
        ],
    }


def items_by_code(result) -> dict:
    return {item.code: item for item in result.items}


# --- the JJG 443 worked case ------------------------------------------------------------------


def test_worked_case_single_run(fuel_form):
    # Scale reading 66 against the zero mark 31 at 2 mL per division, below the nominal mark:
    # V_B = 20.00 − (66 − 31) × 2 / 1000 = 19.930 L; the form records the scale in mL (−70).
    v_s = -(66 - 31) * 2
    result = compute(fuel_form, record([v_s] * 3, [v_s] * 3), FUEL_TYPE)
    first = result.data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]
    assert first["V_B"] == "19.930"
    # β_B(t_B − 20) = 0.00005 × 4 = 0.0002; t_J = t_B so the fuel term is zero.
    assert first["V_Bt"] == "19.934"
    # E = (20.00 − 19.934) / 19.934 × 100 % = 0.331… → 0.33 %
    assert first["E"] == "0.33"
    items = items_by_code(result)
    assert items["indication"].result == "0.33"
    assert items["indication"].conclusion == "不合格"
    assert items["repeatability"].result == "0.00"
    assert result.conclusion == "不合格"
    assert result.problems == []


def test_worked_case_repeatability(fuel_form):
    # Q2 runs give E = 0.36, 0.58, 0.45 %: (0.58 − 0.36) / 1.69 = 0.130 → 0.13 % > 0.10 %.
    result = compute(fuel_form, record([-70] * 3, [-76, -120, -94]), FUEL_TYPE)
    q2 = result.data["nozzles"][0]["items"]["indication"]["points"][1]
    assert [r["E"] for r in q2["runs"]] == ["0.36", "0.58", "0.45"]
    assert q2["E_rep"] == "0.13"
    items = items_by_code(result)
    assert items["repeatability"].result == "0.13"
    assert items["repeatability"].conclusion == "不合格"
    assert result.conclusion == "不合格"


def test_conforming_record(fuel_form):
    # V_s = −20 mL at 24 ℃: V_Bt = 19.984, E = +0.08 %; −24 → +0.10 %; spread 0.02/1.69 → 0.01 %.
    result = compute(fuel_form, record([-20, -20, -24], [-20, -22, -20]), FUEL_TYPE)
    items = items_by_code(result)
    assert items["indication"].conclusion == "合格", items["indication"]
    assert items["repeatability"].conclusion == "合格"
    assert items["payment"].result == "0.00" and items["payment"].conclusion == "合格"
    assert {i.conclusion for i in result.items} == {"合格"}
    assert result.conclusion == "合格"
    assert result.data["conclusion"] == "合格"


def test_a_failed_check_fails_the_record(fuel_form):
    result = compute(fuel_form, record([-20] * 3, [-20] * 3, checks="不合格"), FUEL_TYPE)
    assert items_by_code(result)["self_lock"].conclusion == "不合格"
    assert result.conclusion == "不合格"


def test_diesel_and_carbon_steel_coefficients(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    data.update(fuel="柴油", material="碳钢")
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0].update(t_J="25.0", t_B="24.0")
    result = compute(fuel_form, data, FUEL_TYPE)
    assert result.data["beta_Y"] == "0.0009" and result.data["beta_B"] == "0.000033"
    first = result.data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]
    # 19.930 × (1 + 0.0009 × 1 + 0.000033 × 4) = 19.95057 → 19.951
    assert first["V_Bt"] == "19.951"


def test_blank_reading_gives_no_verdict(fuel_form):
    data = record([-20] * 3, [-20] * 3)
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][1]["V_J"] = ""
    result = compute(fuel_form, data, FUEL_TYPE)
    point = result.data["nozzles"][0]["items"]["indication"]["points"][0]
    assert point["runs"][1]["E"] is None
    assert items_by_code(result)["indication"].conclusion is not None  # mean of the other runs
    data["fuel"] = ""
    result = compute(fuel_form, data, FUEL_TYPE)
    assert items_by_code(result)["indication"].conclusion is None
    assert result.conclusion is None


def test_typed_strings_are_kept_and_rows_padded(fuel_form):
    data = record([-70], [])
    result = compute(fuel_form, data, FUEL_TYPE)
    runs = result.data["nozzles"][0]["items"]["indication"]["points"][0]["runs"]
    assert len(runs) == 3  # the test point's parameter runs = 3
    assert runs[0]["V_J"] == "20.00" and runs[0]["t_B"] == "24.0"
    assert data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0].get("E") is None


def test_environment_outside_limits_is_reported():
    form = load_definition(
        {
            "format": "metrolab.form/1",
            "key": "env_only",
            "kind": "other",
            "title": {"zh": "环境", "en": "Env"},
            "layout": [{"type": "environment"}],
        }
    )
    limits = {"temperature": [15, 25], "humidity": [0, 80], "mode": "warn"}
    result = compute(
        form,
        {"environment": {"temperature": "26.1", "humidity": "50"}},
        context={"environment": limits},
    )
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.path == "environment.temperature" and problem.severity == "warning"
    assert "超出允许范围" in problem.message_zh
    result = compute(
        form,
        {"environment": {"temperature": "26.1"}},
        context={"environment": limits | {"mode": "error"}},
    )
    assert result.problems[0].severity == "error"


# --- publishing refusals -------------------------------------------------------------------------


def small(*nodes, **top) -> dict:
    return {
        "format": "metrolab.form/1",
        "key": "small",
        "kind": "other",
        "title": {"zh": "小表", "en": "Small"},
        "layout": list(nodes),
        **top,
    }


def field(key: str, **extra) -> dict:
    return {
        "type": "field",
        "key": key,
        "control": "number",
        "label": {"zh": key, "en": key},
        **extra,
    }


def computed(key: str, expression: str) -> dict:
    return {
        "type": "computed",
        "key": key,
        "label": {"zh": key, "en": key},
        "expression": expression,
    }


def refusal(data) -> list:
    with pytest.raises(DefinitionInvalid) as info:
        load_definition(data)
    return info.value.problems


def test_duplicate_json_key_is_refused():
    text = (
        '{"format": "metrolab.form/1", "key": "a", "key": "b", "kind": "other", '
        '"title": {"zh": "x"}, "layout": []}'
    )
    problems = refusal(text)
    assert "重复" in problems[0].message_zh and "key" in problems[0].message_zh


def test_duplicate_field_key_names_the_place():
    problems = refusal(
        small({"type": "section", "label": {"zh": "甲"}, "children": [field("V_J"), field("V_J")]})
    )
    assert any(
        p.place == "layout[0].children[1] (字段 “V_J”)" and "重复" in p.message_zh for p in problems
    ), problems


def test_unknown_name_is_refused():
    problems = refusal(small(field("a"), computed("b", "a + c")))
    assert any(
        p.place == "layout[1] (计算字段 “b”)" and "未知名称 “c”" in p.message_zh for p in problems
    ), problems


def test_cycle_is_refused():
    problems = refusal(small(computed("a", "b + 1"), computed("b", "a * 2")))
    assert any("循环依赖" in p.message_zh and "a → b → a" in p.message_zh for p in problems), (
        problems
    )
    assert any(p.place.startswith("layout[0]") for p in problems)


def test_function_outside_whitelist_is_refused():
    problems = refusal(small(field("a"), computed("b", "open(a)")))
    assert any(p.place == "layout[1] (计算字段 “b”)" and "open" in p.message_zh for p in problems)


def test_invalid_schema_extra_is_refused():
    problems = refusal(small(field("a"), schema_extra={"type": "objekt"}))
    assert any(p.place.startswith("schema_extra") for p in problems), problems


@pytest.mark.parametrize("expression", ["a.__class__", "__import__('os')", "(1).real", "a._x"])
def test_attribute_access_and_dunder_are_refused(expression):
    problems = refusal(small(field("a"), computed("b", expression)))
    assert any(p.place == "layout[1] (计算字段 “b”)" for p in problems), problems


def test_all_problems_are_reported_at_once():
    problems = refusal(
        small(
            field("1bad"),
            {"type": "slider", "key": "s"},
            {"type": "field", "key": "x", "control": "knob", "label": {"zh": "x"}},
        )
    )
    assert len(problems) == 3
    assert "未知的节点类型" in problems[1].message_zh and "layout[1]" in problems[1].place
    assert "未知的控件类型" in problems[2].message_zh


def test_publish_needs_the_instrument_type(fuel_form):
    with pytest.raises(DefinitionInvalid) as info:
        validate_for_publish(fuel_form, None)
    assert "fuel_dispenser" in str(info.value)
    validate_for_publish(fuel_form, FUEL_TYPE)


def test_publish_checks_test_point_parameter_names():
    raw = json.loads(FUEL_FORM_TEXT)
    indicator = raw["layout"][2]["children"][1]
    indicator["by_item"]["indication"]["point_columns"][2]["expression"] = "range(runs.E) / C_X"
    defn = load_definition(raw)  # without the type the parameters are unknown: not checked yet
    with pytest.raises(DefinitionInvalid) as info:
        validate_for_publish(defn, FUEL_TYPE)
    assert "C_X" in str(info.value) and "by_item.indication.point_columns[2]" in str(info.value)


# --- submissions ---------------------------------------------------------------------------------


def test_parse_submission_nests_and_keeps_typed_text(fuel_form):
    form = {
        "customer": ["示例站"],
        "standards": ["S1", "S2"],
        "_action": ["add_row:nozzles"],
        "nozzles.0.nozzle_no": ["1"],
        "nozzles.0.items.indication.points.0.runs.2.V_J": [" 20,0x "],
        "nozzles.0.items.indication.points.0.runs.0.V_J": ["20.00"],
        "nozzles.1.nozzle_no": ["2"],
        "environment.temperature": ["21.0"],
        "bogus": ["x"],
    }
    data = parse_submission(fuel_form, form, FUEL_TYPE)
    assert data["customer"] == "示例站" and data["standards"] == ["S1", "S2"]
    assert "bogus" not in data and "_action" not in data
    runs = data["nozzles"][0]["items"]["indication"]["points"][0]["runs"]
    assert runs[0]["V_J"] == "20.00" and runs[1] == {} and runs[2]["V_J"] == " 20,0x "
    assert [n["nozzle_no"] for n in data["nozzles"]] == ["1", "2"]
    assert data["environment"] == {"temperature": "21.0"}


def test_submission_problems_name_the_field(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    runs = data["nozzles"][0]["items"]["indication"]["points"][0]["runs"]
    runs[2]["V_J"] = "20.0O"
    runs[1]["t_J"] = ""
    problems = {p.path: p for p in validate_submission(fuel_form, data, FUEL_TYPE)}
    bad = problems["nozzles.0.items.indication.points.0.runs.2.V_J"]
    assert bad.message_zh == "必须是数字" and bad.message_en == "must be a number"
    assert bad.label_zh == "第1枪 示值误差 大流量 Q1 第3次 加油机示值 V_J"
    missing = problems["nozzles.0.items.indication.points.0.runs.1.t_J"]
    assert missing.message_zh == "必填" and missing.label_zh.startswith(
        "第1枪 示值误差 大流量 Q1 第2次"
    )
    assert len(problems) == 2
    assert runs[2]["V_J"] == "20.0O"  # the typed value is untouched


def test_submission_minimum_and_required_header(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    data["V_0"] = "-5"
    del data["customer"]
    problems = {p.path: p for p in validate_submission(fuel_form, data, FUEL_TYPE)}
    assert problems["V_0"].message_zh == "不得小于 0"
    assert problems["customer"].message_zh == "必填" and problems["customer"].label_zh == "送检单位"


def test_complete_record_has_no_problems(fuel_form):
    assert validate_submission(fuel_form, record([-20] * 3, [-20] * 3), FUEL_TYPE) == []


def test_row_actions(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    added = apply_row_action(fuel_form, data, "add_row:nozzles")
    assert len(added["nozzles"]) == 2 and len(data["nozzles"]) == 1
    removed = apply_row_action(fuel_form, added, "remove_row:nozzles.0")
    assert len(removed["nozzles"]) == 1 and removed["nozzles"][0] == {}
    # the last nozzle cannot go (min 1); test-point runs are fixed by the parameter
    assert len(apply_row_action(fuel_form, removed, "remove_row:nozzles.0")["nozzles"]) == 1
    path = "nozzles.0.items.indication.points.0.runs"
    assert apply_row_action(fuel_form, data, f"add_row:{path}") == data
    assert apply_row_action(fuel_form, data, "add_row:nothing") == data


# --- schema, diff, render, sample ----------------------------------------------------------------


def test_derived_schema(fuel_form):
    from jsonschema import Draft202012Validator

    schema = derive_schema(fuel_form, FUEL_TYPE)
    Draft202012Validator.check_schema(schema)
    assert "customer" in schema["required"]
    assert schema["properties"]["fuel"]["enum"] == ["汽油", "柴油"]
    assert schema["properties"]["V_0"]["minimum"] == 0
    nozzles = schema["properties"]["nozzles"]
    assert nozzles["type"] == "array" and nozzles["minItems"] == 1 and nozzles["maxItems"] == 20
    runs = nozzles["items"]["properties"]["items"]["properties"]["indication"]["properties"][
        "points"
    ]["items"]["properties"]["runs"]
    assert set(runs["items"]["required"]) == {"V_J", "V_s", "t_J", "t_B"}
    extra = load_definition(small(field("a"), schema_extra={"required": ["a"]}))
    assert derive_schema(extra)["allOf"][1] == {"required": ["a"]}


def test_diff_names_added_removed_and_changed():
    old = small(field("a"), field("gone"), computed("b", "a * 2"))
    new = small(field("a", required=True), computed("b", "a * 3"), field("fresh"))
    messages = [c.message_zh for c in diff_definitions(old, new)]
    assert any("新增字段 “fresh”" in m for m in messages), messages
    assert any("删除字段 “gone”" in m for m in messages), messages
    assert any("“b” 的表达式由 “a * 2” 改为 “a * 3”" in m for m in messages), messages
    assert any("“a” 的必填由 “（无）” 改为 “是”" in m for m in messages), messages
    assert diff_definitions(old, copy.deepcopy(old)) == []


def test_diff_sees_point_columns(fuel_form):
    raw = copy.deepcopy(fuel_form.raw)
    cols = raw["layout"][2]["children"][1]["by_item"]["indication"]["point_columns"]
    cols[0]["columns"][0]["label"]["zh"] = "加油机显示 V_J"
    changes = diff_definitions(fuel_form, raw)
    assert len(changes) == 1
    assert (
        changes[0].path == "nozzles.items.indication.runs.V_J"
        and "加油机显示 V_J" in changes[0].message_zh
    )


def all_labels(nodes, lang="zh"):
    for node in nodes:
        if node.get("label") and node.get("type") not in ("section",):
            yield node["label"][lang]
        for child in node.get("children", []):
            yield from all_labels([child], lang)
        for col in node.get("columns", []):
            yield from all_labels(col if isinstance(col, list) else [col], lang)
        yield from all_labels(node.get("point_columns", []), lang)
        for spec in node.get("by_item", {}).values():
            yield from all_labels(spec.get("point_columns", []), lang)


def test_render_edit_keeps_bad_value_and_shows_every_label(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][2]["V_J"] = "20.0O"
    problems = validate_submission(fuel_form, data, FUEL_TYPE)
    html = render_form(
        fuel_form, data, problems, FUEL_TYPE, {"compute_url": "/r/1/compute"}, "zh", "edit"
    )
    labels = list(all_labels(fuel_form.layout))
    assert len(labels) > 25
    for label in labels:
        assert label in html, label
    name = "nozzles.0.items.indication.points.0.runs.2.V_J"
    assert 'value="20.0O"' in html and f'name="{name}"' in html
    assert 'aria-invalid="true"' in html and "必须是数字" in html
    assert 'id="form-body"' in html and 'hx-post="/r/1/compute"' in html
    assert 'value="add_row:nozzles"' in html
    assert '<output class="ml-computed" id="c-nozzles-0-items-indication-points-0-runs-0-E"' in html
    assert "<form" not in html and 'type="submit" class="ml-row-action"' in html


def test_render_english_view_and_preview(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    view = render_form(fuel_form, data, [], FUEL_TYPE, {}, "en", "view")
    for label in all_labels(fuel_form.layout, "en"):
        assert label in view, label
    assert "<input" not in view and "add_row" not in view and "不合格" in view
    preview = render_form(
        fuel_form,
        sample_data(fuel_form, FUEL_TYPE),
        [],
        FUEL_TYPE,
        {"compute_url": "/x"},
        "zh",
        "preview",
    )
    assert "disabled" in preview and "hx-post" not in preview


def test_render_escapes_typed_markup(fuel_form):
    data = record([-70] * 3, [-70] * 3)
    data["customer"] = '<script>alert("x")</script>'
    html = render_form(fuel_form, data, [], FUEL_TYPE, {}, "zh", "edit")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_sample_data_computes_through(fuel_form):
    data = sample_data(fuel_form, FUEL_TYPE)
    result = compute(fuel_form, data, FUEL_TYPE)
    assert result.conclusion == "合格"
    # nothing to pick standards from without a context: the only problem left is that one
    assert [p.path for p in validate_submission(fuel_form, data, FUEL_TYPE)] == ["standards"]


def test_expired_standard_is_refused(fuel_form):
    standards = [
        {"code": "STD-1", "label": "二等标准金属量器 20 L", "valid_until": "2027-03-14"},
        {"code": "STD-2", "label": "二等标准金属量器 20 L（碳钢）", "valid_until": "2026-06-30"},
    ]
    data = record([-20] * 3, [-20] * 3)
    data["standards"] = ["STD-1"]
    context = {"standards": standards, "today": "2026-11-24"}
    assert validate_submission(fuel_form, data, FUEL_TYPE, context) == []
    data["standards"] = ["STD-1", "STD-2"]
    (problem,) = validate_submission(fuel_form, data, FUEL_TYPE, context)
    assert problem.path == "standards" and "已过有效期" in problem.message_zh
    assert problem.label_zh == "计量标准器"


def test_hidden_required_field_is_not_required():
    entrustment = load_definition((ROOT / "form_schemas/entrustment.json").read_bytes())
    data = {
        "customer": "示例",
        "contact": "王",
        "phone": "0533-5550101",
        "service_mode": "送检",
        "instruments": [
            {"instrument_type": "燃油加油机", "serial": "A1", "quantity": "2"},
            {"instrument_type": "量油尺", "serial": "B1", "quantity": "1"},
        ],
    }
    assert validate_submission(entrustment, data) == []
    assert compute(entrustment, data).data["total_quantity"] == "3"
    data["service_mode"] = "现场检定"
    assert [p.path for p in validate_submission(entrustment, data)] == ["site_address"]
    data["phone"] = "call me"
    assert {p.path: p.message_zh for p in validate_submission(entrustment, data)}[
        "phone"
    ] == "格式不符合要求"


def test_rendered_markup_is_balanced(fuel_form):
    from html.parser import HTMLParser

    class Balance(HTMLParser):
        VOID = {"input", "br", "img", "meta", "link", "hr"}

        def __init__(self):
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in self.VOID:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
            self.stack.pop()

    for mode in ("edit", "view", "preview"):
        parser = Balance()
        parser.feed(
            render_form(
                fuel_form,
                record([-70] * 3, [-70] * 3),
                [],
                FUEL_TYPE,
                {"compute_url": "/x"},
                "zh",
                mode,
            )
        )
        assert parser.stack == [], mode


readings = st.one_of(
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
)


@settings(max_examples=60, deadline=None)
@given(value=readings)
def test_any_typed_reading_is_kept_and_judged(fuel_form, value):
    from metrolab.engine.forms.values import INVALID, parse_number

    data = record([-20] * 3, [-20] * 3)
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]["V_J"] = value
    result = compute(fuel_form, data, FUEL_TYPE)  # never raises
    run = result.data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]
    assert run["V_J"] == value
    paths = {p.path: p.code for p in validate_submission(fuel_form, data, FUEL_TYPE)}
    path = "nozzles.0.items.indication.points.0.runs.0.V_J"
    number = parse_number(value)
    if number is INVALID:
        assert paths.get(path) == "number"
    elif number is None:
        assert paths.get(path) == "required"
    elif number < 0:
        assert paths.get(path) == "minimum"
    else:
        assert path not in paths


def test_parse_submission_keeps_row_positions(fuel_form):
    form = {
        "nozzles.0.items.indication.points.1.runs.2.V_J": ["20.10"],
        "nozzles.0.nozzle_no": ["1"],
    }
    data = parse_submission(fuel_form, form)  # without the instrument type too
    points = data["nozzles"][0]["items"]["indication"]["points"]
    assert points[0] == {} and points[1]["runs"] == [{}, {}, {"V_J": "20.10"}]
    assert parse_submission(fuel_form, {"nozzles.5000.nozzle_no": ["x"]}) == {"nozzles": []}
