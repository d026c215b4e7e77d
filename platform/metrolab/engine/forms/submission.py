"""Posted form data → record data, validation with field-level messages, row add/remove actions.

Input names are data paths: ``nozzles.0.items.indication.points.0.runs.2.V_J``. Names starting
with ``_`` (``_action``, ``_csrf``…) are not data. Every typed string is kept as typed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from metrolab.engine.forms.compute import ComputeResult, compute
from metrolab.engine.forms.model import FormDefinition, text_of
from metrolab.engine.forms.problems import FieldProblem, problem
from metrolab.engine.forms.schema import derive_schema
from metrolab.engine.forms.scopes import Entry, Scope, build, per_definition
from metrolab.engine.forms.values import INVALID, blank, field_value, parse_number
from metrolab.engine.forms.walk import visit

MULTI_CONTROLS = ("standard_picker",)
MAX_ROWS = 1000  # posted row indices beyond this are ignored


def _is_multi(node: dict[str, Any]) -> bool:
    return node.get("control") in MULTI_CONTROLS or (
        node.get("control") == "checkbox" and bool(node.get("options"))
    )


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_submission(
    defn: FormDefinition, formdata: Mapping[str, Any], catalogue: Any = None
) -> dict[str, Any]:
    """Nest posted names into record data, keeping what was typed; unknown names are dropped."""
    raw: dict[str, Any] = {}
    get = getattr(formdata, "getall", None) or getattr(formdata, "getlist", None)
    if hasattr(formdata, "multi_items"):
        pairs: list[tuple[str, Any]] = list(formdata.multi_items())
    elif get is not None:
        pairs = [(k, v) for k in formdata for v in get(k)]
    else:
        pairs = []
        for name, value in formdata.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((name, v) for v in values)
    for name, value in pairs:
        if not isinstance(name, str) or name.startswith("_") or not name:
            continue
        node = raw
        parts = name.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        bucket = node.get(parts[-1])
        if not isinstance(bucket, list):
            bucket = node[parts[-1]] = []
        bucket.append("" if value is None else str(value))
    root, _ = build(defn, catalogue)
    return _shape(root, raw)


def _as_rows(value: Any) -> list[Any]:
    """``{"0": …, "2": …}`` → rows at their posted positions (a gap becomes an empty row)."""
    if not isinstance(value, dict):
        return []
    indexed = {int(k): v for k, v in value.items() if k.isdigit() and int(k) < MAX_ROWS}
    if not indexed:
        return []
    return [indexed.get(i, {}) for i in range(max(indexed) + 1)]


def _shape(scope: Scope, raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    out: dict[str, Any] = {}
    for key, entry in scope.entries.items():
        if key not in raw:
            continue
        value = raw[key]
        if entry.kind == "field":
            values = value if isinstance(value, list) else []
            if _is_multi(entry.node):
                out[key] = [v for v in values if v != ""]
            else:
                out[key] = values[-1] if values else ""
        elif entry.kind == "environment" and isinstance(value, dict):
            out[key] = {k: v[-1] for k, v in value.items() if isinstance(v, list) and v}
        elif entry.kind in ("table", "group") and entry.inner is not None:
            if entry.repeat:
                out[key] = [_shape(entry.inner, row) for row in _as_rows(value)]
            else:
                out[key] = _shape(entry.inner, value)
        elif entry.kind == "indicator" and isinstance(value, dict):
            specs = {s.code: s for s in entry.items}
            items: dict[str, Any] = {}
            for code, idata in value.items():
                spec = specs.get(code) or specs.get("*")
                if spec is None or not isinstance(idata, dict):
                    continue
                items[code] = {
                    "points": [_shape(spec.point_scope, p) for p in _as_rows(idata.get("points"))]
                }
            out[key] = items
    return out


# ---------------------------------------------------------------------------------------------
# Validation

_MESSAGES = {
    "minimum": ("不得小于 {v}", "must not be less than {v}"),
    "maximum": ("不得大于 {v}", "must not be greater than {v}"),
    "exclusiveMinimum": ("必须大于 {v}", "must be greater than {v}"),
    "exclusiveMaximum": ("必须小于 {v}", "must be less than {v}"),
    "pattern": ("格式不符合要求", "does not match the required format"),
    "enum": ("不是可选的值", "is not one of the options"),
    "minItems": ("至少需要 {v} 项", "needs at least {v} entries"),
    "maxItems": ("最多 {v} 项", "at most {v} entries"),
    "required": ("必填", "required"),
    "type": ("类型不正确", "has the wrong type"),
    "format": ("格式不正确", "has the wrong format"),
}


def validate_submission(
    defn: FormDefinition,
    data: dict[str, Any],
    catalogue: Any = None,
    context: dict[str, Any] | None = None,
    computed: ComputeResult | None = None,
) -> list[FieldProblem]:
    """Field-level problems: not a number, required, and every JSON Schema rule (2020-12).
    ``computed`` is ``compute`` of the same arguments when the caller has it already (it is
    not changed); otherwise it is computed here, since computing pads fixed rows and test points."""
    root, _ = build(defn, catalogue)
    if computed is None:
        computed = compute(defn, data, catalogue, context)
        typed = computed.data
    else:
        typed = copy.deepcopy(computed.data)  # typed in place below; the caller keeps its result
    hidden = computed.hidden
    problems: list[FieldProblem] = []
    labels: dict[str, tuple[Any, Any]] = {}  # path → (prefix, label)
    typed_root = typed

    def is_hidden(path: str) -> bool:
        return any(path == h or path.startswith(h + ".") for h in hidden)

    for v in visit(root, typed_root):
        labels[v.path] = (v.labels, v.entry.node.get("label"))
        if v.entry.kind == "environment" and isinstance(v.value, dict):
            for name, text in list(v.value.items()):
                number = parse_number(text)
                if number is INVALID:
                    problems.append(
                        problem(
                            f"{v.path}.{name}",
                            v.labels,
                            _env_label(name),
                            "必须是数字",
                            "must be a number",
                            code="number",
                        )
                    )
                if number is None or number is INVALID:
                    del v.value[name]
                else:
                    v.value[name] = number
            continue
        if v.entry.kind != "field":
            if v.entry.kind == "computed":
                v.container.pop(v.entry.key, None)
            continue
        node, key = v.entry.node, v.entry.key
        if is_hidden(v.path):
            v.container.pop(key, None)
            continue
        if blank(v.value):
            v.container.pop(key, None)
            if node.get("required"):
                problems.append(
                    problem(
                        v.path, v.labels, node.get("label"), "必填", "required", code="required"
                    )
                )
            continue
        if node.get("control") == "number":
            number = parse_number(v.value)
            if number is INVALID:
                problems.append(
                    problem(
                        v.path,
                        v.labels,
                        node.get("label"),
                        "必须是数字",
                        "must be a number",
                        code="number",
                    )
                )
                v.container.pop(key, None)
            else:
                v.container[key] = number
        elif node.get("control") == "checkbox" and not node.get("options"):
            v.container[key] = field_value(node, v.value)
        elif node.get("control") == "standard_picker":
            problems.extend(_expired_standards(v, context or {}))
        if node.get("control") == "date" and node.get("not_before"):
            problems.extend(_not_before(v, context or {}))
    # Missing required fields in absent rows/keys are caught by the walk only if the key exists;
    # required keys that are absent altogether come back from the schema as "required".
    seen = {(p.path, p.code) for p in problems}
    for error in _validator(defn, catalogue).iter_errors(typed):
        path = ".".join(str(p) for p in error.absolute_path)
        code = str(error.validator)
        if code == "required":
            missing = [k for k in error.validator_value if k not in error.instance]
            for key in missing:
                full = f"{path}.{key}" if path else key
                if (full, "required") in seen or (full, "number") in seen or is_hidden(full):
                    continue
                seen.add((full, "required"))
                prefix, label = labels.get(full) or _label_for(root, full)
                problems.append(problem(full, prefix, label, "必填", "required", code="required"))
            continue
        if is_hidden(path) or (path, "number") in seen:
            continue
        prefix, label = labels.get(path) or _label_for(root, path)
        zh, en = _MESSAGES.get(code, ("不符合要求：{m}", "{m}"))
        value = error.validator_value
        problems.append(
            problem(
                path,
                prefix,
                label,
                zh.format(v=value, m=error.message),
                en.format(v=value, m=error.message),
                code=code,
            )
        )
    return problems


@per_definition
def _validator(defn: FormDefinition, catalogue: Any = None) -> Draft202012Validator:
    return Draft202012Validator(derive_schema(defn, catalogue))


def _expired_standards(v: Any, context: dict[str, Any]) -> list[FieldProblem]:
    """An expired standard cannot be used: ``context["standards"]`` lists what may be picked
    (``id`` or ``code``, ``valid_until`` ISO date, ``label``); ``context["today"]`` is the
    verification date (default: today)."""
    import datetime

    known = {str(s.get("id") or s.get("code")): s for s in context.get("standards", [])}
    today = str(context.get("today") or datetime.date.today().isoformat())
    chosen = v.value if isinstance(v.value, list) else [v.value]
    out = []
    for value in chosen:
        std = known.get(str(value))
        if std is None:
            if known:
                out.append(
                    problem(
                        v.path,
                        v.labels,
                        v.entry.node.get("label"),
                        f"未知的计量标准 “{value}”",
                        f"unknown standard “{value}”",
                        code="standard",
                    )
                )
            continue
        until = str(std.get("valid_until") or "")
        if std.get("expired") or (until and until < today):
            name = std.get("label") or std.get("code") or value
            out.append(
                problem(
                    v.path,
                    v.labels,
                    v.entry.node.get("label"),
                    f"计量标准 “{name}” 已过有效期（{until}），不得使用",
                    f"standard “{name}” expired on {until}",
                    code="expired",
                )
            )
    return out


def _not_before(v: Any, context: dict[str, Any]) -> list[FieldProblem]:
    """A date field's cross-field rule ``"not_before": {"context": key | "field": key, "label":
    {zh, en}}``: the date may not be earlier than a date the host gives in ``context`` (a record's
    entrustment receipt date, ``received_on``) or another field of the same row. Nothing to compare
    (absent, not a date) passes."""
    import datetime

    rule = v.entry.node["not_before"]
    if not isinstance(rule, dict):
        return []
    if "context" in rule:
        bound = context.get(str(rule["context"]))
    else:
        bound = (
            v.container.get(str(rule.get("field") or "")) if isinstance(v.container, dict) else None
        )
    try:
        low = datetime.date.fromisoformat(str(bound)[:10]) if bound else None
        typed = datetime.date.fromisoformat(str(v.value))
    except ValueError:
        return []
    if low is None or typed >= low:
        return []
    label = rule.get("label") or {}
    zh = label.get("zh", "") if isinstance(label, dict) else str(label)
    en = (label.get("en") or zh) if isinstance(label, dict) else str(label)
    return [
        problem(
            v.path,
            v.labels,
            v.entry.node.get("label"),
            f"不得早于{zh}（{low.isoformat()}）",
            f"must not be before {en} ({low.isoformat()})",
            code="not_before",
        )
    ]


def _env_label(name: str) -> dict[str, str]:
    from metrolab.engine.forms.compute import ENV_LABELS

    return ENV_LABELS[name][0]


def _label_for(root: Scope, path: str) -> tuple[Any, Any]:
    entry = entry_for_path(root, path)
    if entry is None:
        return (), {"zh": path, "en": path}
    return (), entry.node.get("label") or {"zh": entry.key, "en": entry.key}


def entry_for_path(root: Scope, path: str) -> Entry | None:
    """The definition entry a data path points at (row indices skipped)."""
    scope: Scope | None = root
    entry: Entry | None = None
    parts = [p for p in path.split(".") if p and not p.isdigit()]
    i = 0
    while i < len(parts) and scope is not None:
        entry = scope.entries.get(parts[i])
        if entry is None:
            return None
        i += 1
        if entry.kind == "indicator" and i < len(parts):
            spec = next((s for s in entry.items if s.code == parts[i]), None)
            i += 1
            if spec is None or i >= len(parts) or parts[i] != "points":
                return entry
            i += 1
            scope = spec.point_scope
        else:
            scope = entry.inner
    return entry


# ---------------------------------------------------------------------------------------------
# Row actions


def apply_row_action(
    defn: FormDefinition, data: dict[str, Any], action: str, catalogue: Any = None
) -> dict[str, Any]:
    """``add_row:<path>`` appends an empty row, ``remove_row:<path>.<i>`` removes one.

    Respects the node's min/max; an unknown action or path leaves the data unchanged.
    """
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    verb, _, path = (action or "").partition(":")
    root, _ = build(defn, catalogue)
    parts = path.split(".") if path else []
    index = None
    if verb == "remove_row" and parts and parts[-1].isdigit():
        index = int(parts.pop())
    entry = entry_for_path(root, ".".join(parts))
    if entry is None or not entry.repeat or verb not in ("add_row", "remove_row"):
        return out
    if entry.kind == "table" and entry.inner is not None and entry.inner.rows_param:
        return out  # row count fixed by a test-point parameter
    target: Any = out
    for part in parts[:-1]:
        target = (
            target[int(part)]
            if isinstance(target, list) and part.isdigit()
            else (target.setdefault(part, {}) if isinstance(target, dict) else None)
        )
        if target is None:
            return out
    if not isinstance(target, dict):
        return out
    rows = target.get(parts[-1])
    rows = rows if isinstance(rows, list) else []
    node = entry.node
    low = node.get("min_rows" if entry.kind == "table" else "min", 0)
    high = node.get("max_rows" if entry.kind == "table" else "max")
    if verb == "add_row" and (high is None or len(rows) < high):
        rows.append({})
    elif verb == "remove_row" and index is not None and 0 <= index < len(rows) and len(rows) > low:
        rows.pop(index)
    target[parts[-1]] = rows
    return out


def label_text(label: Any, lang: str) -> str:
    return text_of(label, lang)
