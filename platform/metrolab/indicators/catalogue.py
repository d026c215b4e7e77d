"""The instrument-type ("catalogue") and standard shapes: checking and normalising them.

A catalogue is the plain dict of `seed_data/instrument_types/<code>.json`, which the form engine
takes as `catalogue`. Everything that enters the database — seed files, the editor page, the API,
imported files — goes through `check_type` / `check_standard`, so there is one set of rules.
Problems are `{place: message}`; places are the editor's input names (`cycle_months`,
`items.0.conformity`, `items.0.points.1.params`) and messages are 中文 naming the field and item.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from metrolab.engine.expressions import ExpressionError, compile_expression
from metrolab.engine.rounding import parse_step

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
STANDARD_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
KINDS = {"device": "计量标准装置", "instrument": "标准器"}
ENVIRONMENT_LIMITS = {"temperature": "温度", "humidity": "相对湿度", "pressure": "大气压力"}

TYPE_KEYS = (
    "code",
    "name",
    "category",
    "model",
    "manufacturer",
    "range",
    "accuracy",
    "mpe",
    "regulation",
    "cycle_months",
    "compulsory",
    "environment",
    "record_form",
    "certificate_template",
    "notice_template",
    "items",
    "source",
)
TYPE_OPTIONAL = ("record_fields", "decision_rule", "to_be_confirmed", "note", "active")
# 判定规则 (how a conclusion takes the uncertainty into account); the texts are in
# metrolab.certificates.uncertainty.RULES.
DECISION_RULES = ("simple", "jjf1094", "guard_band")
CALIBRATION_KEYS = {"U": "扩展不确定度 U", "k": "包含因子 k", "dof": "自由度"}
ITEM_KEYS = (
    "code",
    "name",
    "requirement",
    "unit",
    "mpe",
    "resolution",
    "rounding",
    "conformity",
    "points",
    "source",
)
ITEM_OPTIONAL = ("result", "limit", "uncertainty", "to_be_confirmed", "note")
# Where a record of the type holds the instrument's own range and class (a pressure gauge's nameplate).
RECORD_FIELDS = {
    "lower": "测量范围下限",
    "upper": "测量范围上限",
    "unit": "单位",
    "accuracy": "准确度等级",
}
Problems = dict[str, str]


def _text(value: Any) -> str:
    return (
        value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    )


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {"zh": _text(value.get("zh")), "en": _text(value.get("en"))}
    return {"zh": _text(value), "en": ""}


def _blank_to_none(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _expression_problem(source: str) -> str | None:
    try:
        compile_expression(source)
    except ExpressionError as exc:
        return str(exc)
    return None


# ── instrument types ──────────────────────────────────────────────────────────────────────────


def check_type(data: Any) -> tuple[dict[str, Any], Problems]:
    """Normalise an instrument type to the catalogue shape and list every problem."""
    problems: Problems = {}
    if not isinstance(data, dict):
        return {}, {"": "器具类型应为 JSON 对象"}
    unknown = sorted(set(data) - set(TYPE_KEYS) - set(TYPE_OPTIONAL))
    if unknown:
        problems["unknown"] = f"未知字段：{'、'.join(unknown)}"
    out: dict[str, Any] = {}
    code = _text(data.get("code"))
    if not code:
        problems["code"] = "器具类型代码不能为空"
    elif len(code) > 64 or not IDENTIFIER.match(code):
        problems["code"] = "器具类型代码应以字母开头，只含字母、数字和下划线（不超过 64 个字符）"
    out["code"] = code
    out["name"] = _labels(data.get("name"))
    if not out["name"]["zh"]:
        problems["name_zh"] = "器具名称（中文）不能为空"
    for key in ("category", "model", "manufacturer", "accuracy", "mpe"):
        out[key] = _text(data.get(key))
    out["range"] = _check_range(data.get("range"), problems)
    record_fields = _check_record_fields(data.get("record_fields"), problems)
    regulation: dict[str, Any] = (
        data["regulation"] if isinstance(data.get("regulation"), dict) else {}
    )
    out["regulation"] = {k: _text(regulation.get(k)) for k in ("code", "edition", "name")}
    if not out["regulation"]["code"]:
        problems["regulation_code"] = "检定规程编号不能为空（如 JJG 443）"
    cycle = data.get("cycle_months")
    if isinstance(cycle, str) and re.fullmatch(r"\s*\d+\s*", cycle):
        cycle = int(cycle)
    if not isinstance(cycle, int) or isinstance(cycle, bool) or not 0 < cycle <= 240:
        problems["cycle_months"] = "检定周期应为 1～240 之间的整数（月）"
        out["cycle_months"] = cycle
    else:
        out["cycle_months"] = cycle
    out["compulsory"] = bool(data.get("compulsory"))
    out["environment"] = _check_environment(data.get("environment"), problems)
    for key, label in (
        ("record_form", "原始记录表单"),
        ("certificate_template", "证书模板"),
        ("notice_template", "检定结果通知书模板"),
    ):
        value = _text(data.get(key))
        if value and not IDENTIFIER.match(value):
            problems[key] = f"{label}的标识应以字母开头，只含字母、数字和下划线"
        out[key] = value
    items = data.get("items")
    if not isinstance(items, list) or not items:
        problems["items"] = "至少需要一个检定项目"
        items = items if isinstance(items, list) else []
    out["items"] = [_check_item(i, item, problems) for i, item in enumerate(items)]
    codes = [item.get("code") for item in out["items"] if item.get("code")]
    for i, item in enumerate(out["items"]):
        if item.get("code") and codes.count(item["code"]) > 1:
            problems.setdefault(
                f"items.{i}.code", f"{_item_place(i, item)}：项目代码“{item['code']}”重复"
            )
    out["source"] = _text(data.get("source"))
    if not out["source"]:
        problems["source"] = "请写明依据（规程名称与条款）"
    if record_fields:
        out["record_fields"] = record_fields
    rule = data.get("decision_rule")
    if rule not in (None, ""):
        if rule not in DECISION_RULES:
            problems["decision_rule"] = (
                f"判定规则应为 simple（简单接受）、jjf1094（JJF 1094）或 guard_band"
                f"（ILAC-G8 保护带）之一，不是“{rule}”"
            )
        out["decision_rule"] = rule
    if data.get("to_be_confirmed"):
        out["to_be_confirmed"] = True
    if note := _text(data.get("note")):
        out["note"] = note
    if out.get("to_be_confirmed") and not out.get("note"):
        problems["note"] = "标记为“待确认”时，请在备注中写明待确认的内容"
    if "active" in data:  # not part of the catalogue: absent means "leave as it is"
        out["active"] = bool(data["active"])
    return out, problems


def _check_range(value: Any, problems: Problems) -> dict[str, str]:
    """测量范围: the text printed, and optionally the limits as numbers (upper > lower) with a unit."""
    out = _labels(value)
    given = value if isinstance(value, dict) else {}
    lower, upper, unit = (_text(given.get(k)) for k in ("lower", "upper", "unit"))
    low, high = _number(lower), _number(upper)
    if lower and low is None:
        problems["range_lower"] = f"测量范围下限“{lower}”应为数字（如 0），单位另填"
    if upper and high is None:
        problems["range_upper"] = f"测量范围上限“{upper}”应为数字（如 1.6），单位另填"
    if bool(lower) != bool(upper):
        problems["range_lower" if not lower else "range_upper"] = (
            "测量范围应同时填写下限和上限（按铭牌的不填）"
        )
    elif low is not None and high is not None:
        if high <= low:
            problems["range_upper"] = f"测量范围上限（{upper}）应大于下限（{lower}）"
        if not unit:
            problems["range_unit"] = "测量范围有下限和上限时请填写单位（如 MPa）"
    out.update({k: v for k, v in (("lower", lower), ("upper", upper), ("unit", unit)) if v})
    return out


def _check_record_fields(value: Any, problems: Problems) -> dict[str, str]:
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        problems["record_fields"] = "原始记录字段应为 JSON 对象"
        return {}
    out: dict[str, str] = {}
    for key, label in RECORD_FIELDS.items():
        name = _text(value.get(key))
        if name and not IDENTIFIER.match(name):
            problems[f"record_{key}"] = (
                f"原始记录中“{label}”的字段名“{name}”应以字母开头，只含字母、数字和下划线"
            )
        if name:
            out[key] = name
    if bool(out.get("lower")) != bool(out.get("upper")):
        problems["record_lower" if not out.get("lower") else "record_upper"] = (
            "原始记录中的测量范围应同时指明下限和上限字段"
        )
    unknown = sorted(set(value) - set(RECORD_FIELDS))
    if unknown:
        problems["record_fields"] = f"原始记录字段含未知项：{'、'.join(unknown)}"
    return out


def _check_environment(env: Any, problems: Problems) -> dict[str, Any]:
    if env in (None, ""):
        return {}
    if not isinstance(env, dict):
        problems["environment"] = "环境条件应为 JSON 对象"
        return {}
    out: dict[str, Any] = {}
    for key, label in ENVIRONMENT_LIMITS.items():
        if key not in env or env[key] is None:
            continue
        limits = env[key]
        if (
            not isinstance(limits, list)
            or len(limits) != 2
            or any(isinstance(x, bool) or not isinstance(x, int | float) for x in limits)
            or limits[0] > limits[1]
        ):
            problems[f"env_{key}"] = f"环境条件“{label}”应为下限和上限两个数字，且下限不大于上限"
        out[key] = limits
    mode = env.get("mode", "warn")
    if mode not in ("warn", "error"):
        problems["env_mode"] = "环境条件超限的处理方式应为“提示”（warn）或“不允许保存”（error）"
    if out or "mode" in env:
        out["mode"] = mode
    if env.get("to_be_confirmed"):
        out["to_be_confirmed"] = True
    if note := _text(env.get("note")):
        out["note"] = note
    unknown = sorted(set(env) - set(ENVIRONMENT_LIMITS) - {"mode", "to_be_confirmed", "note"})
    if unknown:
        problems["environment"] = f"环境条件含未知字段：{'、'.join(unknown)}"
    return out


def _item_place(i: int, item: dict[str, Any]) -> str:
    name = (item.get("name") or {}).get("zh") or item.get("code") or ""
    return f"检定项目 {i + 1}" + (f"「{name}」" if name else "")


def _check_item(i: int, item: Any, problems: Problems) -> dict[str, Any]:
    key = f"items.{i}"
    if not isinstance(item, dict):
        problems[key] = f"检定项目 {i + 1} 应为 JSON 对象"
        return {}
    out: dict[str, Any] = {"code": _text(item.get("code")), "name": _labels(item.get("name"))}
    place = _item_place(i, out)
    unknown = sorted(set(item) - set(ITEM_KEYS) - set(ITEM_OPTIONAL))
    if unknown:
        problems[key] = f"{place}：未知字段 {'、'.join(unknown)}"
    if not out["code"]:
        problems[f"{key}.code"] = f"{place}：项目代码不能为空"
    elif not IDENTIFIER.match(out["code"]):
        problems[f"{key}.code"] = f"{place}：项目代码应以字母开头，只含字母、数字和下划线"
    if not out["name"]["zh"]:
        problems[f"{key}.name_zh"] = f"{place}：项目名称不能为空"
    out["requirement"] = _labels(item.get("requirement"))
    out["unit"] = _blank_to_none(item.get("unit"))
    for field, label in (("mpe", "最大允许误差"), ("resolution", "分辨力")):
        value = _blank_to_none(item.get(field))
        number = _number(value) if value is not None else None
        if value is not None and (number is None or number <= 0):
            problems[f"{key}.{field}"] = f"{place}：{label}应为正数（如 0.30），不带单位和 ± 号"
        out[field] = value
    out["rounding"] = _blank_to_none(item.get("rounding"))
    if out["rounding"] is not None:
        try:
            parse_step(out["rounding"])
        except ValueError:
            problems[f"{key}.rounding"] = (
                f"{place}：修约间隔应为 1、2 或 5 乘以 10 的整数次幂（如 0.01、0.5、0.2）"
            )
    for field, label in (
        ("conformity", "符合性规则"),
        ("result", "结果表达式"),
        ("limit", "证书上的允许误差"),
    ):
        value = _blank_to_none(item.get(field))
        if value is not None and (problem := _expression_problem(value)):
            problems[f"{key}.{field}"] = f"{place}：{label}有误：{problem}"
        if field == "conformity" or value is not None:
            out[field] = value
    if item.get("uncertainty") is not None:
        from metrolab.engine.uncertainty import check_budget

        problems.update(check_budget(item["uncertainty"], place, f"{key}.uncertainty"))
        out["uncertainty"] = item["uncertainty"]
    points = item.get("points") if item.get("points") is not None else []
    if not isinstance(points, list):
        problems[f"{key}.points"] = f"{place}：检定点应为列表"
        points = []
    out["points"] = [_check_point(key, place, j, p, problems) for j, p in enumerate(points)]
    point_codes = [p.get("code") for p in out["points"]]
    for j, p in enumerate(out["points"]):
        if p.get("code") and point_codes.count(p["code"]) > 1:
            problems.setdefault(
                f"{key}.points.{j}.code", f"{place} 检定点 {j + 1}：检定点代码“{p['code']}”重复"
            )
    out["source"] = _text(item.get("source"))
    if item.get("to_be_confirmed"):
        out["to_be_confirmed"] = True
    if note := _text(item.get("note")):
        out["note"] = note
    if out.get("to_be_confirmed") and not out.get("note"):
        problems[f"{key}.note"] = f"{place}：标记为“待确认”时，请在备注中写明待确认的内容"
    # Keep the shipped files' key order, so an export reads like them.
    order = [
        *ITEM_KEYS[:8],
        *("result", "limit", "points", "uncertainty", "source", "to_be_confirmed", "note"),
    ]
    return {k: out[k] for k in order if k in out}


def _check_point(key: str, place: str, j: int, point: Any, problems: Problems) -> dict[str, Any]:
    pkey = f"{key}.points.{j}"
    here = f"{place} 检定点 {j + 1}"
    if not isinstance(point, dict):
        problems[pkey] = f"{here}：应为 JSON 对象"
        return {}
    out: dict[str, Any] = {
        "code": _text(point.get("code")),
        "label": _labels(point.get("label")),
        "params": {},
    }
    if out["code"]:
        here += f"「{out['code']}」"
    if not out["code"]:
        problems[f"{pkey}.code"] = f"{here}：检定点代码不能为空"
    elif not IDENTIFIER.match(out["code"]):
        problems[f"{pkey}.code"] = f"{here}：检定点代码应以字母开头，只含字母、数字和下划线"
    if not out["label"]["zh"]:
        out["label"]["zh"] = out["code"]
    params = point.get("params") if point.get("params") is not None else {}
    if not isinstance(params, dict):
        problems[f"{pkey}.params"] = f"{here}：参数应为“名称: 值”的对象"
        params = {}
    for name, value in params.items():
        if not IDENTIFIER.match(name):
            problems[f"{pkey}.params"] = (
                f"{here}：参数名“{name}”应以字母开头，只含字母、数字和下划线"
            )
        elif not isinstance(value, str | int | float | bool) and value is not None:
            problems[f"{pkey}.params"] = f"{here}：参数“{name}”的值应为数字或文字"
    out["params"] = dict(params)
    unknown = sorted(set(point) - {"code", "label", "params"})
    if unknown:
        problems[pkey] = f"{here}：未知字段 {'、'.join(unknown)}"
    return out


def type_to_row(catalogue: dict[str, Any]) -> dict[str, Any]:
    """Column values of `InstrumentType` for a checked catalogue."""
    return {
        "code": catalogue["code"],
        "name_zh": catalogue["name"]["zh"],
        "name_en": catalogue["name"]["en"],
        "category": catalogue["category"],
        "model": catalogue["model"],
        "manufacturer": catalogue["manufacturer"],
        "measuring_range": catalogue["range"]["zh"],
        "measuring_range_en": catalogue["range"]["en"],
        "range_limits": {
            k: catalogue["range"][k] for k in ("lower", "upper", "unit") if k in catalogue["range"]
        },
        "record_fields": catalogue.get("record_fields") or {},
        "accuracy": catalogue["accuracy"],
        "mpe": catalogue["mpe"],
        "regulation_code": catalogue["regulation"]["code"],
        "regulation_edition": catalogue["regulation"]["edition"],
        "regulation_name": catalogue["regulation"]["name"],
        "cycle_months": catalogue["cycle_months"],
        "compulsory": catalogue["compulsory"],
        "environment": catalogue["environment"],
        "record_form": catalogue["record_form"],
        "certificate_template": catalogue["certificate_template"],
        "notice_template": catalogue["notice_template"],
        "items": catalogue["items"],
        "source": catalogue["source"],
        "note": catalogue.get("note", ""),
        "to_be_confirmed": bool(catalogue.get("to_be_confirmed")),
        "decision_rule": catalogue.get("decision_rule") or "",
    } | ({"active": catalogue["active"]} if "active" in catalogue else {})


def row_to_type(row: dict[str, Any]) -> dict[str, Any]:
    """The catalogue dict (seed shape) of an `InstrumentType` row selected with load_json."""
    out = {
        "code": row["code"],
        "name": {"zh": row["name_zh"], "en": row["name_en"]},
        "category": row["category"],
        "model": row["model"],
        "manufacturer": row["manufacturer"],
        "range": {
            "zh": row["measuring_range"],
            "en": row["measuring_range_en"],
            **(row.get("range_limits") or {}),
        },
        "accuracy": row["accuracy"],
        "mpe": row["mpe"],
        "regulation": {
            "code": row["regulation_code"],
            "edition": row["regulation_edition"],
            "name": row["regulation_name"],
        },
        "cycle_months": row["cycle_months"],
        "compulsory": row["compulsory"],
        "environment": row["environment"] or {},
        "record_form": row["record_form"],
        "certificate_template": row["certificate_template"],
        "notice_template": row["notice_template"],
        "items": row["items"] or [],
        "source": row["source"],
    }
    if row.get("record_fields"):
        out["record_fields"] = row["record_fields"]
    if row.get("decision_rule"):
        out["decision_rule"] = row["decision_rule"]
    if row["to_be_confirmed"]:
        out["to_be_confirmed"] = True
    if row["note"]:
        out["note"] = row["note"]
    return out


# ── standards ─────────────────────────────────────────────────────────────────────────────────


def check_standard(data: Any, kind: str | None = None) -> tuple[dict[str, Any], Problems]:
    """Normalise a standard (the export shape, or the seed shape with `range`/`accuracy`/`serial`)."""
    if not isinstance(data, dict):
        return {}, {"": "标准器应为 JSON 对象"}
    problems: Problems = {}
    name = _labels(data.get("name"))
    out: dict[str, Any] = {
        "kind": _text(data.get("kind")) or kind or "instrument",
        "code": _text(data.get("code")),
        "name": name["zh"],
        "name_en": _text(data.get("name_en")) or name["en"],
        "model": _text(data.get("model")),
        "serial_no": _text(data.get("serial_no") or data.get("serial")),
        "measuring_range": _text(data.get("measuring_range") or data.get("range")),
        "uncertainty": _text(data.get("uncertainty") or data.get("accuracy")),
        "certificate_no": _text(data.get("certificate_no")),
        "calibrated_by": _text(data.get("calibrated_by")),
        "department": _text(data.get("department")),
        "facility": _text(data.get("facility")),
        "notes": _text(data.get("notes") or data.get("note")),
        "active": data.get("active", True) not in (False, "false", "0", ""),
    }
    if out["kind"] not in KINDS:
        problems["kind"] = "类别应为“计量标准装置”（device）或“标准器”（instrument）"
    if not out["code"]:
        problems["code"] = "编号不能为空"
    elif len(out["code"]) > 64 or not STANDARD_CODE.match(out["code"]):
        problems["code"] = "编号只能含字母、数字、“-”“_”“.”（不超过 64 个字符）"
    if not out["name"]:
        problems["name"] = "名称不能为空"
    until = data.get("valid_until")
    if isinstance(until, date):
        out["valid_until"] = until
    else:
        try:
            out["valid_until"] = date.fromisoformat(_text(until))
        except ValueError:
            out["valid_until"] = _text(until)
            problems["valid_until"] = "有效期至应为日期，格式 2027-03-14"
    types = data.get("for_types") or []
    if isinstance(types, str):
        types = [t for t in re.split(r"[\s,，;；、]+", types) if t]
    if not isinstance(types, list) or not all(
        isinstance(t, str) and IDENTIFIER.match(t) for t in types
    ):
        problems["for_types"] = "适用器具类型应为器具类型代码的列表"
        types = []
    out["for_types"] = types
    out["calibration"] = _check_calibration(data.get("calibration"), problems)
    return out, problems


def _check_calibration(value: Any, problems: Problems) -> dict[str, Any]:
    """The standard's certificate as numbers, for uncertainty budgets: ``{"U": "2", "k": "2",
    "relative": true, "unit": "", "dof": "", "quantity": "浓度"}`` (``relative``: U in % of the value)."""
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        problems["calibration"] = '证书不确定度应为对象：{"U": "2", "k": "2"}'
        return {}
    unknown = sorted(set(value) - {*CALIBRATION_KEYS, "relative", "unit", "quantity"})
    if unknown:
        problems["calibration"] = f"证书不确定度：未知字段 {'、'.join(unknown)}"
    out: dict[str, Any] = {}
    for key, label in CALIBRATION_KEYS.items():
        text = _text(value.get(key))
        if not text:
            if key == "U":
                problems["calibration.U"] = "证书不确定度：须给出扩展不确定度 U"
            continue
        number = _number(text)
        if number is None or number <= 0:
            problems[f"calibration.{key}"] = f"证书不确定度：{label}应为正数，不带单位"
        out[key] = text
    if "k" not in out and "U" in out:
        problems["calibration.k"] = "证书不确定度：须给出包含因子 k（如 2）"
    out["relative"] = bool(value.get("relative"))
    for key in ("unit", "quantity"):
        if text := _text(value.get(key)):
            out[key] = text
    return out


def standard_to_export(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "code": row["code"],
        "name": {"zh": row["name"], "en": row["name_en"]},
        "model": row["model"],
        "serial": row["serial_no"],
        "range": row["measuring_range"],
        "uncertainty": row["uncertainty"],
        "certificate_no": row["certificate_no"],
        "calibrated_by": row["calibrated_by"],
        "valid_until": row["valid_until"].isoformat() if row["valid_until"] else "",
        "department": row["department"],
        "for_types": row["for_types"] or [],
    }
    if row.get("calibration"):
        out["calibration"] = row["calibration"]
    if row["notes"]:
        out["note"] = row["notes"]
    if not row["active"]:
        out["active"] = False
    return out
