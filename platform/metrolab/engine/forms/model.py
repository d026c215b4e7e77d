"""Form definitions: the JSON document, its parsing and its shape check.

A definition is data (``metrolab.form/1``): a layout tree of nodes. This module parses the JSON
(refusing duplicate object keys), checks every node's shape and reports *all* problems at once,
each naming its place (``layout[2].children[0] (字段 “V_J”)``). Name, function and cycle checks
that need the scopes live in :mod:`metrolab.engine.forms.checks`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

FORMAT = "metrolab.form/1"
KINDS = ("record", "entrustment", "self_check", "other")
KIND_LABELS = {  # what a person reads for each category
    "record": ("原始记录", "Original record"),
    "entrustment": ("委托受理单", "Entrustment"),
    "self_check": ("自查表", "Self-check"),
    "other": ("其他", "Other"),
}
CONTROLS = (
    "text",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "textarea",
    "standard_picker",
    "signature",
    "file",
    "image",
)
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Names the engine binds inside indicator tables; a field may not take them.
RESERVED = frozenset({"points", "mpe", "unit", "resolution", "result", "item", "point"})

NODE_TYPES_ZH = {
    "section": "分区",
    "heading": "标题",
    "columns": "分栏",
    "field": "字段",
    "computed": "计算字段",
    "table": "表格",
    "group": "分组",
    "indicator_table": "指标表",
    "environment": "环境条件",
    "conclusion": "结论",
}

_COMMON = {"type", "visible_if", "label", "help", "id"}
ATTRIBUTES: dict[str, set[str]] = {
    "section": _COMMON | {"children"},
    "heading": _COMMON,
    "columns": _COMMON | {"columns"},
    "field": _COMMON
    | {
        "key",
        "control",
        "required",
        "unit",
        "decimals",
        "min",
        "max",
        "pattern",
        "options",
        "default",
        "placeholder",
        "readonly",
        "example",
        "not_before",
    },
    "computed": _COMMON | {"key", "expression", "round", "unit"},
    "table": _COMMON
    | {"key", "columns", "min_rows", "max_rows", "rows", "rows_param", "row_label"},
    "group": _COMMON | {"key", "repeat", "min", "max", "children", "row_label"},
    "indicator_table": _COMMON
    | {
        "key",
        "catalogue",
        "items",
        "point_columns",
        "item_result",
        "item_conclusion",
        "by_item",
    },
    "environment": _COMMON | {"key", "fields", "required"},
    "conclusion": _COMMON | {"key", "expression"},
}
DEFAULT_KEYS = {"environment": "environment", "conclusion": "conclusion"}
ENV_FIELDS = ("temperature", "humidity", "pressure")


@dataclass(frozen=True)
class DefinitionProblem:
    """One problem in a definition: where, and what (中文 first, then English)."""

    place: str
    message_zh: str
    message_en: str = ""

    def __str__(self) -> str:
        text = f"{self.place}：{self.message_zh}"
        return f"{text} ({self.message_en})" if self.message_en else text


class DefinitionInvalid(ValueError):
    """A definition was refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[DefinitionProblem]) -> None:
        self.problems = list(problems)
        super().__init__(
            "表单定义无效 (form definition invalid):\n" + "\n".join(map(str, problems))
        )


@dataclass
class FormDefinition:
    """A parsed, shape-checked definition. ``raw`` is the JSON document as loaded."""

    key: str
    kind: str
    title: dict[str, str]
    layout: list[dict[str, Any]]
    catalogue: str | None = None
    schema_extra: dict[str, Any] | None = None
    context_names: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def label(self, lang: str = "zh") -> str:
        return text_of(self.title, lang)

    def to_json(self) -> dict[str, Any]:
        return self.raw


def text_of(label: Any, lang: str = "zh") -> str:
    """A ``{"zh","en"}`` label in one language, falling back to Chinese."""
    if isinstance(label, dict):
        return str(label.get(lang) or label.get("zh") or label.get("en") or "")
    return "" if label is None else str(label)


def node_key(node: dict[str, Any]) -> str | None:
    key = node.get("key")
    if key is None:
        return DEFAULT_KEYS.get(node.get("type", ""))
    return key if isinstance(key, str) else None


def describe(node: Any, place: str) -> str:
    """``layout[2].children[0] (字段 “V_J”)``."""
    if not isinstance(node, dict):
        return place
    kind = NODE_TYPES_ZH.get(node.get("type", ""), "节点")
    name = node.get("key") or text_of(node.get("label"))
    return f"{place} ({kind} “{name}”)" if name else f"{place} ({kind})"


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` refusing duplicate object keys, as a :class:`DefinitionInvalid`."""
    try:
        return json.loads(data, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise DefinitionInvalid(
            [
                DefinitionProblem(
                    "JSON", f"对象中的键 “{exc.key}” 重复", f"duplicate JSON object key “{exc.key}”"
                )
            ]
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DefinitionInvalid(
            [DefinitionProblem("JSON", f"不是有效的 JSON：{exc}", "not valid JSON")]
        ) from None


def load_definition(data: dict[str, Any] | str | bytes, catalogue: Any = None) -> FormDefinition:
    """Parse and check a definition; raise :class:`DefinitionInvalid` listing every problem.

    Checks the shape of every node, identifiers and duplicate keys per scope, ``schema_extra``,
    and every expression (syntax, whitelist, functions, known names, cycles). Names that can only
    come from an instrument type's parameters are checked when ``catalogue`` is given (and always
    by :func:`~metrolab.engine.forms.checks.validate_for_publish`).
    """
    from metrolab.engine.forms.checks import check_definition
    from metrolab.engine.forms.shape import shape_problems

    raw = parse_json(data) if isinstance(data, (str, bytes)) else data
    problems = shape_problems(raw)
    if problems:
        raise DefinitionInvalid(problems)
    defn = FormDefinition(
        key=raw["key"],
        kind=raw["kind"],
        title=raw["title"],
        layout=raw["layout"],
        catalogue=raw.get("catalogue"),
        schema_extra=raw.get("schema_extra"),
        context_names=list(raw.get("context_names", [])),
        raw=raw,
    )
    problems = check_definition(defn, catalogue, strict=False)
    if problems:
        raise DefinitionInvalid(problems)
    return defn
