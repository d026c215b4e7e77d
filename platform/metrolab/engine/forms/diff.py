"""Readable differences between two versions of a form definition (for reviewers, §6.1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from metrolab.engine.forms.model import NODE_TYPES_ZH, FormDefinition, node_key, text_of

# Attributes compared on keyed nodes, with their Chinese names.
ATTRS_ZH = {
    "label": "标签",
    "control": "控件",
    "required": "必填",
    "unit": "单位",
    "options": "选项",
    "expression": "表达式",
    "round": "修约间隔",
    "min": "最小值",
    "not_before": "不早于",
    "max": "最大值",
    "pattern": "格式",
    "decimals": "小数位数",
    "default": "默认值",
    "visible_if": "显示条件",
    "item_result": "项目结果表达式",
    "item_conclusion": "项目结论表达式",
    "min_rows": "最少行数",
    "max_rows": "最多行数",
    "rows": "预置行",
    "repeat": "可重复",
    "catalogue": "器具类型",
    "items": "检定项目",
    "fields": "环境参数",
    "help": "说明",
}


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    path: str  # key path, e.g. "nozzles.items.indication.runs.V_J"
    attribute: str | None
    old: Any
    new: Any
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return self.message_zh


def _raw(defn: FormDefinition | dict[str, Any]) -> dict[str, Any]:
    return defn.raw if isinstance(defn, FormDefinition) else defn


def _collect(nodes: Any, prefix: str, out: dict[str, dict[str, Any]]) -> None:
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "section":
            _collect(node.get("children"), prefix, out)
            continue
        if kind == "columns":
            for col in node.get("columns") or []:
                _collect(col, prefix, out)
            continue
        key = node_key(node)
        if not key:
            continue
        path = prefix + key
        out[path] = node
        if kind == "table":
            _collect(node.get("columns"), path + ".", out)
        elif kind == "group":
            _collect(node.get("children"), path + ".", out)
        elif kind == "indicator_table":
            _collect(node.get("point_columns"), path + ".*.", out)
            for code, spec in (node.get("by_item") or {}).items():
                if isinstance(spec, dict):
                    pseudo = {k: v for k, v in spec.items() if k != "point_columns"}
                    out[f"{path}.{code}"] = {
                        "type": "by_item",
                        "label": {"zh": code, "en": code},
                        **pseudo,
                    }
                    _collect(spec.get("point_columns"), f"{path}.{code}.", out)


def _show(value: Any) -> str:
    if isinstance(value, dict) and "zh" in value:
        return value["zh"]
    if isinstance(value, list) and all(isinstance(o, dict) and "value" in o for o in value):
        return "、".join(o["value"] for o in value)
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _what(node: dict[str, Any]) -> str:
    if node.get("type") == "by_item":
        return "检定项目设置"
    return NODE_TYPES_ZH.get(node.get("type", ""), "节点")


def diff_definitions(
    old: FormDefinition | dict[str, Any], new: FormDefinition | dict[str, Any]
) -> list[Change]:
    """Fields added, removed and changed (label, required, unit, options, expressions…)."""
    a, b = _raw(old), _raw(new)
    changes: list[Change] = []
    if a.get("title") != b.get("title"):
        changes.append(
            Change(
                "changed",
                "",
                "title",
                a.get("title"),
                b.get("title"),
                f"表单标题由 “{_show(a.get('title'))}” 改为 “{_show(b.get('title'))}”",
                "title changed",
            )
        )
    nodes_a: dict[str, dict[str, Any]] = {}
    nodes_b: dict[str, dict[str, Any]] = {}
    _collect(a.get("layout"), "", nodes_a)
    _collect(b.get("layout"), "", nodes_b)
    for path, node in nodes_b.items():
        if path not in nodes_a:
            label = text_of(node.get("label"))
            changes.append(
                Change(
                    "added",
                    path,
                    None,
                    None,
                    node,
                    f"新增{_what(node)} “{path}”（{label}）",
                    f"added {node.get('type')} “{path}”",
                )
            )
    for path, node in nodes_a.items():
        if path not in nodes_b:
            label = text_of(node.get("label"))
            changes.append(
                Change(
                    "removed",
                    path,
                    None,
                    node,
                    None,
                    f"删除{_what(node)} “{path}”（{label}）",
                    f"removed {node.get('type')} “{path}”",
                )
            )
    for path, node in nodes_a.items():
        other = nodes_b.get(path)
        if other is None:
            continue
        if node.get("type") != other.get("type"):
            changes.append(
                Change(
                    "changed",
                    path,
                    "type",
                    node.get("type"),
                    other.get("type"),
                    f"“{path}” 的类型由 {_what(node)} 改为 {_what(other)}",
                    f"“{path}” type changed",
                )
            )
            continue
        for attr, zh in ATTRS_ZH.items():
            if node.get(attr) != other.get(attr):
                changes.append(
                    Change(
                        "changed",
                        path,
                        attr,
                        node.get(attr),
                        other.get(attr),
                        f"{_what(node)} “{path}” 的{zh}由 “{_show(node.get(attr))}” 改为 "
                        f"“{_show(other.get(attr))}”",
                        f"{node.get('type')} “{path}”: {attr} changed",
                    )
                )
    if a.get("schema_extra") != b.get("schema_extra"):
        changes.append(
            Change(
                "changed",
                "",
                "schema_extra",
                a.get("schema_extra"),
                b.get("schema_extra"),
                "附加校验规则（schema_extra）已修改",
                "schema_extra changed",
            )
        )
    return changes
