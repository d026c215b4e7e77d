"""The instrument-type editor page: posted form ↔ catalogue, and its add/remove-row actions.

Inputs are named by position (`items.0.code`, `items.0.points.1.params`), the same places
`catalogue.check_type` reports problems at, so each message lands beside its input. Test-point
parameters are typed as `runs=3; C_R=1.69` — a technical manager never writes JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from metrolab.indicators.catalogue import ENVIRONMENT_LIMITS, IDENTIFIER, RECORD_FIELDS, Problems

RANGE_FIELDS = ("range_lower", "range_upper", "range_unit", *(f"record_{k}" for k in RECORD_FIELDS))
TYPE_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "category",
    "model",
    "manufacturer",
    "range_zh",
    "range_en",
    *RANGE_FIELDS,
    "accuracy",
    "mpe",
    "regulation_code",
    "regulation_edition",
    "regulation_name",
    "cycle_months",
    "record_form",
    "certificate_template",
    "notice_template",
    "decision_rule",
    "source",
    "note",
    "env_mode",
    "env_note",
    *(f"env_{k}_{end}" for k in ENVIRONMENT_LIMITS for end in ("min", "max")),
)
TYPE_FLAGS = ("compulsory", "to_be_confirmed", "active", "env_to_be_confirmed")
ITEM_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "requirement_zh",
    "requirement_en",
    "unit",
    "mpe",
    "resolution",
    "rounding",
    "conformity",
    "result",
    "limit",
    "uncertainty",
    "source",
    "note",
)
POINT_FIELDS = ("code", "label_zh", "label_en", "params")
_ITEM = re.compile(r"^items\.(\d{1,3})\.([a-z_]+)$")
_POINT = re.compile(r"^items\.(\d{1,3})\.points\.(\d{1,3})\.([a-z_]+)$")
_PARAM_SPLIT = re.compile(r"[;；\n]|[,，](?=\s*[A-Za-z_][A-Za-z0-9_]*\s*[=＝])")


def blank_item() -> dict[str, Any]:
    return {**dict.fromkeys(ITEM_FIELDS, ""), "to_be_confirmed": False, "points": [blank_point()]}


def blank_point() -> dict[str, str]:
    return dict.fromkeys(POINT_FIELDS, "")


def new_values() -> dict[str, Any]:
    return {
        **dict.fromkeys(TYPE_FIELDS, ""),
        "cycle_months": "12",
        "env_mode": "warn",
        "active": True,
        "compulsory": False,
        "to_be_confirmed": False,
        "env_to_be_confirmed": False,
        "items": [blank_item()],
    }


def format_params(params: dict[str, Any]) -> str:
    return "; ".join(
        f"{k}={'true' if v is True else 'false' if v is False else v}" for k, v in params.items()
    )


def parse_params(text: str) -> tuple[dict[str, Any], str | None]:
    """`runs=3; C_R=1.69` → {"runs": 3, "C_R": "1.69"}: whole numbers become integers, the rest
    stays text as typed (the engine reads numbers from text as Decimal)."""
    params: dict[str, Any] = {}
    for part in _PARAM_SPLIT.split(text or ""):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.replace("＝", "=").partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not IDENTIFIER.match(name):
            return (
                params,
                f"参数“{part}”应写成 名称=值（名称以字母开头），多个参数用分号分隔，如 runs=3; C_R=1.69",
            )
        if name in params:
            return params, f"参数“{name}”重复"
        params[name] = int(value) if re.fullmatch(r"-?(0|[1-9]\d{0,17})", value) else value
    return params, None


def catalogue_to_values(cat: dict[str, Any], active: bool = True) -> dict[str, Any]:
    env = cat.get("environment") or {}
    values: dict[str, Any] = {
        "code": cat["code"],
        "name_zh": cat["name"]["zh"],
        "name_en": cat["name"].get("en", ""),
        "category": cat["category"],
        "model": cat["model"],
        "manufacturer": cat["manufacturer"],
        "range_zh": cat["range"]["zh"],
        "range_en": cat["range"].get("en", ""),
        "accuracy": cat["accuracy"],
        **{f"range_{k}": str(cat["range"].get(k) or "") for k in ("lower", "upper", "unit")},
        **{f"record_{k}": (cat.get("record_fields") or {}).get(k, "") for k in RECORD_FIELDS},
        "mpe": cat["mpe"],
        "regulation_code": cat["regulation"]["code"],
        "regulation_edition": cat["regulation"]["edition"],
        "regulation_name": cat["regulation"]["name"],
        "cycle_months": str(cat["cycle_months"]),
        "compulsory": cat["compulsory"],
        "record_form": cat["record_form"],
        "certificate_template": cat["certificate_template"],
        "notice_template": cat.get("notice_template", ""),
        "decision_rule": cat.get("decision_rule", ""),
        "source": cat["source"],
        "note": cat.get("note", ""),
        "to_be_confirmed": bool(cat.get("to_be_confirmed")),
        "active": active,
        "env_mode": env.get("mode", "warn"),
        "env_note": env.get("note", ""),
        "env_to_be_confirmed": bool(env.get("to_be_confirmed")),
    }
    for key in ENVIRONMENT_LIMITS:
        lo, hi = env.get(key) or ("", "")
        values[f"env_{key}_min"], values[f"env_{key}_max"] = str(lo), str(hi)
    values["items"] = [
        {
            "code": i["code"],
            "name_zh": i["name"]["zh"],
            "name_en": i["name"].get("en", ""),
            "requirement_zh": i["requirement"]["zh"],
            "requirement_en": i["requirement"].get("en", ""),
            **{
                k: i.get(k) or ""
                for k in (
                    "unit",
                    "mpe",
                    "resolution",
                    "rounding",
                    "conformity",
                    "result",
                    "limit",
                    "source",
                    "note",
                )
            },
            "uncertainty": json.dumps(i["uncertainty"], ensure_ascii=False, indent=1)
            if i.get("uncertainty")
            else "",
            "to_be_confirmed": bool(i.get("to_be_confirmed")),
            "points": [
                {
                    "code": p["code"],
                    "label_zh": p["label"]["zh"],
                    "label_en": p["label"].get("en", ""),
                    "params": format_params(p.get("params") or {}),
                }
                for p in i["points"]
            ],
        }
        for i in cat["items"]
    ]
    return values


def parse_form(form: Any) -> dict[str, Any]:
    """The posted editor as values (typed text kept); item and point rows in posted order."""

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    values: dict[str, Any] = {k: text(k) for k in TYPE_FIELDS}
    values.update({k: form.get(k) in ("1", "on", "true") for k in TYPE_FLAGS})
    items: dict[int, dict[str, Any]] = {}
    points: dict[tuple[int, int], dict[str, str]] = {}
    for name in form:
        if m := _POINT.match(name):
            i, j, key = int(m[1]), int(m[2]), m[3]
            if key in POINT_FIELDS:
                points.setdefault((i, j), blank_point())[key] = text(name)
                items.setdefault(i, blank_item() | {"points": []})
        elif m := _ITEM.match(name):
            i, key = int(m[1]), m[2]
            item = items.setdefault(i, blank_item() | {"points": []})
            if key in ITEM_FIELDS:
                item[key] = text(name)
            elif key == "to_be_confirmed":
                item[key] = form.get(name) in ("1", "on", "true")
    for (i, _j), point in sorted(points.items()):
        items[i]["points"].append(point)
    values["items"] = [items[i] for i in sorted(items)]
    return values


def apply_action(values: dict[str, Any], action: str) -> bool:
    """add_item, remove_item:i, up_item:i, add_point:i, remove_point:i.j — True when understood."""
    items = values["items"]
    name, _, where = action.partition(":")
    try:
        index = [int(x) for x in where.split(".")] if where else []
        if name == "add_item":
            items.append(blank_item())
        elif name == "remove_item":
            del items[index[0]]
        elif name == "up_item" and index[0] > 0:
            items[index[0] - 1], items[index[0]] = items[index[0]], items[index[0] - 1]
        elif name == "add_point":
            items[index[0]]["points"].append(blank_point())
        elif name == "remove_point":
            del items[index[0]]["points"][index[1]]
        else:
            return False
    except (IndexError, ValueError):
        return False
    return True


def compact(values: dict[str, Any]) -> None:
    """Drop test points and items left completely blank (the editor always offers an empty row)."""
    for item in values["items"]:
        item["points"] = [p for p in item["points"] if any(p.values())]
    values["items"] = [
        i for i in values["items"] if i["points"] or any(v for k, v in i.items() if k != "points")
    ]


def _number(text: str) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in text else value


def values_to_catalogue(values: dict[str, Any]) -> tuple[dict[str, Any], Problems]:
    """The catalogue dict to check, and the problems only the editor can have (parameters, limits).
    Call `compact` first so problem places match the rows shown again."""
    problems: Problems = {}
    env: dict[str, Any] = {"mode": values["env_mode"] or "warn"}
    for key, label in ENVIRONMENT_LIMITS.items():
        lo, hi = values[f"env_{key}_min"], values[f"env_{key}_max"]
        if not lo and not hi:
            continue
        limits = [_number(lo), _number(hi)]
        if None in limits:
            problems[f"env_{key}"] = f"环境条件“{label}”应填写下限和上限两个数字"
        env[key] = limits
    if values["env_to_be_confirmed"]:
        env["to_be_confirmed"] = True
    if values["env_note"]:
        env["note"] = values["env_note"]
    cycle: Any = values["cycle_months"]
    items = []
    for i, item in enumerate(values["items"]):
        points = []
        for j, point in enumerate(item["points"]):
            params, problem = parse_params(point["params"])
            if problem:
                name = item["name_zh"] or item["code"]
                problems[f"items.{i}.points.{j}.params"] = (
                    f"检定项目 {i + 1}"
                    + (f"「{name}」" if name else "")
                    + f" 检定点 {j + 1}：{problem}"
                )
            points.append(
                {
                    "code": point["code"],
                    "label": {"zh": point["label_zh"], "en": point["label_en"]},
                    "params": params,
                }
            )
        entry = {
            "code": item["code"],
            "name": {"zh": item["name_zh"], "en": item["name_en"]},
            "requirement": {"zh": item["requirement_zh"], "en": item["requirement_en"]},
            **{k: item[k] for k in ("unit", "mpe", "resolution", "rounding", "conformity")},
            "points": points,
            "source": item["source"],
        }
        for key in ("result", "limit"):
            if item[key]:
                entry[key] = item[key]
        if item.get("uncertainty"):
            try:
                entry["uncertainty"] = json.loads(item["uncertainty"])
            except json.JSONDecodeError as exc:
                name = item["name_zh"] or item["code"]
                problems[f"items.{i}.uncertainty"] = (
                    f"检定项目 {i + 1}"
                    + (f"「{name}」" if name else "")
                    + f"：不确定度评定不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）"
                )
        if item["to_be_confirmed"]:
            entry["to_be_confirmed"] = True
        if item["note"]:
            entry["note"] = item["note"]
        items.append(entry)
    catalogue = {
        "code": values["code"],
        "name": {"zh": values["name_zh"], "en": values["name_en"]},
        "category": values["category"],
        "model": values["model"],
        "manufacturer": values["manufacturer"],
        "range": {
            "zh": values["range_zh"],
            "en": values["range_en"],
            "lower": values["range_lower"],
            "upper": values["range_upper"],
            "unit": values["range_unit"],
        },
        "record_fields": {k: values[f"record_{k}"] for k in RECORD_FIELDS if values[f"record_{k}"]},
        "accuracy": values["accuracy"],
        "mpe": values["mpe"],
        "regulation": {
            "code": values["regulation_code"],
            "edition": values["regulation_edition"],
            "name": values["regulation_name"],
        },
        "cycle_months": cycle,
        "compulsory": values["compulsory"],
        "environment": env,
        "record_form": values["record_form"],
        "certificate_template": values["certificate_template"],
        "notice_template": values["notice_template"],
        "decision_rule": values["decision_rule"],
        "items": items,
        "source": values["source"],
        "note": values["note"],
        "to_be_confirmed": values["to_be_confirmed"],
        "active": values["active"],
    }
    return catalogue, problems
