"""Shape check of a definition: every node, attribute, identifier and label; all problems at once."""

from __future__ import annotations

import re
from typing import Any

from metrolab.engine.forms.model import (
    ATTRIBUTES,
    CONTROLS,
    ENV_FIELDS,
    FORMAT,
    IDENTIFIER,
    KINDS,
    RESERVED,
    DefinitionProblem,
    describe,
)

__all__ = ["shape_problems"]


def shape_problems(raw: Any) -> list[DefinitionProblem]:
    out: list[DefinitionProblem] = []

    def bad(place: str, zh: str, en: str) -> None:
        out.append(DefinitionProblem(place, zh, en))

    if not isinstance(raw, dict):
        return [DefinitionProblem("（根）", "定义必须是 JSON 对象", "definition must be an object")]
    allowed = {
        "format",
        "key",
        "kind",
        "title",
        "catalogue",
        "layout",
        "schema_extra",
        "context_names",
        "description",
        "version",
    }
    for extra in sorted(set(raw) - allowed):
        bad(extra, f"未知的属性 “{extra}”", f"unknown attribute “{extra}”")
    if raw.get("format") != FORMAT:
        bad("format", f"格式必须是 “{FORMAT}”", f"format must be “{FORMAT}”")
    if not _is_identifier(raw.get("key")):
        bad("key", "表单键必须是字母开头的标识符", "form key must be an identifier")
    if raw.get("kind") not in KINDS:
        bad(
            "kind", f"类别必须是 {'、'.join(KINDS)} 之一", f"kind must be one of {', '.join(KINDS)}"
        )
    _check_label(raw.get("title"), "title", bad, required=True)
    if "catalogue" in raw and not isinstance(raw["catalogue"], str):
        bad("catalogue", "器具类型代码必须是文本", "catalogue must be a string")
    names = raw.get("context_names", [])
    if not isinstance(names, list) or not all(_is_identifier(n) for n in names):
        bad("context_names", "上下文名称必须是标识符列表", "context_names must be identifiers")
    extra_schema = raw.get("schema_extra")
    if extra_schema is not None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(extra_schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path)
            bad(
                "schema_extra" + (f"/{where}" if where else ""),
                f"附加 JSON Schema 无效：{exc.message}",
                "invalid schema_extra",
            )
    layout = raw.get("layout")
    if not isinstance(layout, list) or not layout:
        bad("layout", "布局必须是非空列表", "layout must be a non-empty list")
    else:
        _check_nodes(layout, "layout", bad)
    return out


def _is_identifier(value: Any) -> bool:
    return isinstance(value, str) and bool(IDENTIFIER.match(value))


def _check_label(label: Any, place: str, bad: Any, required: bool) -> None:
    if label is None:
        if required:
            bad(place, "缺少标签 {zh, en}", "missing label {zh, en}")
        return
    if not isinstance(label, dict) or not isinstance(label.get("zh"), str) or not label["zh"]:
        bad(place, "标签必须是含 zh 文本的对象 {zh, en}", "label must be an object with zh text")
        return
    for lang in set(label) - {"zh", "en"}:
        bad(place, f"标签中未知的语言 “{lang}”", f"unknown label language “{lang}”")


def _check_nodes(nodes: Any, place: str, bad: Any, *, in_row: bool = False) -> None:
    if not isinstance(nodes, list):
        bad(place, "必须是节点列表", "must be a list of nodes")
        return
    for i, node in enumerate(nodes):
        _check_node(node, f"{place}[{i}]", bad, in_row=in_row)


def _check_node(node: Any, place: str, bad: Any, *, in_row: bool = False) -> None:
    if not isinstance(node, dict):
        bad(place, "节点必须是 JSON 对象", "node must be an object")
        return
    kind = node.get("type")
    here = describe(node, place)
    if kind not in ATTRIBUTES:
        bad(here, f"未知的节点类型 “{kind}”", f"unknown node type “{kind}”")
        return
    if in_row and kind not in ("field", "computed", "table"):
        bad(
            here,
            "表格列只能是字段、计算字段或（指标表中的）表格",
            "table columns must be fields or computed",
        )
    for extra in sorted(set(node) - ATTRIBUTES[kind]):
        bad(here, f"未知的属性 “{extra}”", f"unknown attribute “{extra}”")
    keyed = kind in ("field", "computed", "table", "group", "indicator_table")
    if keyed or "key" in node:
        key = node.get("key")
        if key is None and keyed:
            bad(here, "缺少键 key", "missing key")
        elif key is not None and not _is_identifier(key):
            bad(
                here,
                f"键 “{key}” 不是合法标识符（字母开头，仅字母、数字、下划线）",
                f"key “{key}” is not an identifier",
            )
        elif key in RESERVED:
            bad(here, f"键 “{key}” 是保留名称", f"key “{key}” is reserved")
    label_required = kind in ("field", "computed", "table", "group", "indicator_table", "heading")
    _check_label(node.get("label"), here, bad, required=label_required)
    if "help" in node:
        _check_label(node["help"], here + ".help", bad, required=False)
    if "visible_if" in node and not isinstance(node["visible_if"], str):
        bad(here, "visible_if 必须是表达式文本", "visible_if must be an expression string")
    check = _KIND_CHECKS.get(kind)
    if check:
        check(node, place, here, bad)


def _check_section(node: dict, place: str, here: str, bad: Any) -> None:
    _check_nodes(node.get("children"), f"{place}.children", bad)


def _check_columns(node: dict, place: str, here: str, bad: Any) -> None:
    cols = node.get("columns")
    if not isinstance(cols, list) or not cols:
        bad(here, "分栏必须是非空的列表的列表", "columns must be a list of lists")
        return
    for i, col in enumerate(cols):
        _check_nodes(col, f"{place}.columns[{i}]", bad)


def _check_field(node: dict, place: str, here: str, bad: Any) -> None:
    control = node.get("control")
    if control not in CONTROLS:
        bad(here, f"未知的控件类型 “{control}”", f"unknown control “{control}”")
    for attr in ("min", "max"):
        if attr in node and not _is_number_text(node[attr]):
            bad(here, f"{attr} 必须是数值", f"{attr} must be a number")
    if "decimals" in node and (not isinstance(node["decimals"], int) or node["decimals"] < 0):
        bad(here, "decimals 必须是非负整数", "decimals must be a non-negative integer")
    if "pattern" in node:
        try:
            re.compile(node["pattern"])
        except (re.error, TypeError):
            bad(here, "pattern 不是有效的正则表达式", "pattern is not a valid regular expression")
    if "required" in node and not isinstance(node["required"], bool):
        bad(here, "required 必须是 true 或 false", "required must be a boolean")
    if control in ("select", "radio") and not node.get("options"):
        bad(here, "选择控件必须有 options", "select/radio needs options")
    if "options" in node:
        opts = node["options"]
        if not isinstance(opts, list):
            bad(here, "options 必须是列表", "options must be a list")
        else:
            values = []
            for j, opt in enumerate(opts):
                if not isinstance(opt, dict) or not isinstance(opt.get("value"), str):
                    bad(
                        f"{here}.options[{j}]",
                        "选项必须是 {value, label}",
                        "option must be {value, label}",
                    )
                    continue
                values.append(opt["value"])
                _check_label(opt.get("label"), f"{here}.options[{j}]", bad, required=False)
            if len(values) != len(set(values)):
                bad(here, "选项值重复", "duplicate option values")


def _check_computed(node: dict, place: str, here: str, bad: Any) -> None:
    if not isinstance(node.get("expression"), str) or not node["expression"].strip():
        bad(here, "计算字段缺少表达式 expression", "computed field needs an expression")
    if "round" in node:
        _check_step(node["round"], here, bad)


def _check_step(step: Any, here: str, bad: Any) -> None:
    from metrolab.engine.rounding import parse_step

    try:
        if not isinstance(step, str):
            raise ValueError('修约间隔必须写成文本，如 "0.01"')
        parse_step(step)
    except ValueError as exc:
        bad(here, f"round 无效：{exc}", "invalid rounding step")


def _check_table(node: dict, place: str, here: str, bad: Any) -> None:
    cols = node.get("columns")
    if not isinstance(cols, list) or not cols:
        bad(here, "表格必须有列 columns", "table needs columns")
    else:
        _check_nodes(cols, f"{place}.columns", bad, in_row=True)
    for attr in ("min_rows", "max_rows"):
        if attr in node and (not isinstance(node[attr], int) or node[attr] < 0):
            bad(here, f"{attr} 必须是非负整数", f"{attr} must be a non-negative integer")
    if "rows" in node and (
        not isinstance(node["rows"], list) or not all(isinstance(r, dict) for r in node["rows"])
    ):
        bad(here, "rows 必须是对象列表", "rows must be a list of objects")
    if "row_label" in node:
        _check_label(node["row_label"], here + ".row_label", bad, required=False)


def _check_group(node: dict, place: str, here: str, bad: Any) -> None:
    _check_nodes(node.get("children"), f"{place}.children", bad)
    if "repeat" in node and not isinstance(node["repeat"], bool):
        bad(here, "repeat 必须是 true 或 false", "repeat must be a boolean")
    for attr in ("min", "max"):
        if attr in node and (not isinstance(node[attr], int) or node[attr] < 0):
            bad(here, f"{attr} 必须是非负整数", f"{attr} must be a non-negative integer")
    if "row_label" in node:
        _check_label(node["row_label"], here + ".row_label", bad, required=False)


def _check_indicator(node: dict, place: str, here: str, bad: Any) -> None:
    _check_nodes(node.get("point_columns", []), f"{place}.point_columns", bad, in_row=True)
    for attr in ("item_result", "item_conclusion"):
        if attr in node and not isinstance(node[attr], str):
            bad(here, f"{attr} 必须是表达式文本", f"{attr} must be an expression")
    if "items" in node and not (
        isinstance(node["items"], list) and all(isinstance(c, str) for c in node["items"])
    ):
        bad(here, "items 必须是检定项目代码列表", "items must be a list of item codes")
    by_item = node.get("by_item", {})
    if not isinstance(by_item, dict):
        bad(here, "by_item 必须是对象", "by_item must be an object")
        return
    for code, spec in by_item.items():
        where = f"{place}.by_item.{code}"
        if not isinstance(spec, dict):
            bad(where, "必须是对象", "must be an object")
            continue
        for extra in sorted(
            set(spec) - {"point_columns", "item_result", "item_conclusion", "label"}
        ):
            bad(where, f"未知的属性 “{extra}”", f"unknown attribute “{extra}”")
        if "point_columns" in spec:
            _check_nodes(spec["point_columns"], f"{where}.point_columns", bad, in_row=True)


def _check_environment(node: dict, place: str, here: str, bad: Any) -> None:
    fields = node.get("fields", list(ENV_FIELDS))
    if not isinstance(fields, list) or not fields or not set(fields) <= set(ENV_FIELDS):
        bad(
            here,
            f"fields 只能取 {', '.join(ENV_FIELDS)}",
            f"fields must be among {', '.join(ENV_FIELDS)}",
        )


def _check_conclusion(node: dict, place: str, here: str, bad: Any) -> None:
    if "expression" in node and not isinstance(node["expression"], str):
        bad(here, "expression 必须是表达式文本", "expression must be a string")


_KIND_CHECKS = {
    "section": _check_section,
    "columns": _check_columns,
    "field": _check_field,
    "computed": _check_computed,
    "table": _check_table,
    "group": _check_group,
    "indicator_table": _check_indicator,
    "environment": _check_environment,
    "conclusion": _check_conclusion,
}


def _is_number_text(value: Any) -> bool:
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, str):
        try:
            return Decimal(value).is_finite()
        except InvalidOperation:
            return False
    return False
