"""JSON Schema (Draft 2020-12) derived from a definition's layout.

The schema describes the *typed view* of a record: number fields as JSON numbers, blanks left out.
Stored records keep readings as typed strings; :func:`submission.validate_submission` converts
before validating, so the schema's ``minimum``/``maximum`` apply to the numbers. Computed values
are ``readOnly`` and unconstrained. Conditionally visible fields are never ``required`` here
(the engine checks them when visible).
"""

from __future__ import annotations

from typing import Any

from metrolab.engine.forms.model import FormDefinition, text_of
from metrolab.engine.forms.scopes import Entry, Scope, build, to_value

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def derive_schema(defn: FormDefinition, catalogue: Any = None) -> dict[str, Any]:
    root, _ = build(defn, catalogue)
    schema = _object(root)
    schema["$schema"] = DIALECT
    schema["title"] = text_of(defn.title)
    if defn.schema_extra:
        return {
            "$schema": DIALECT,
            "title": schema["title"],
            "allOf": [{k: v for k, v in schema.items() if k != "$schema"}, defn.schema_extra],
        }
    return schema


def _object(scope: Scope) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for key, entry in scope.entries.items():
        props[key] = _entry(entry)
        if entry.kind == "field" and entry.node.get("required") and not entry.conds:
            required.append(key)
        if (
            entry.repeat
            and entry.node.get("min_rows" if entry.kind == "table" else "min", 0) > 0
            and not entry.conds
        ):
            required.append(key)
    for row in scope.fixed_rows:
        for key in row:
            props.setdefault(key, {})
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _number(value: Any) -> Any:
    number = to_value(value)
    return int(number) if number == number.to_integral_value() else float(number)


def field_schema(node: dict[str, Any]) -> dict[str, Any]:
    control = node.get("control")
    out: dict[str, Any] = {"title": text_of(node.get("label"))}
    options = [o["value"] for o in node.get("options", [])]
    if control == "number":
        out["type"] = "number"
        if "min" in node:
            out["minimum"] = _number(node["min"])
        if "max" in node:
            out["maximum"] = _number(node["max"])
    elif control in ("select", "radio"):
        out["enum"] = options
    elif control == "checkbox":
        if options:
            out.update(type="array", items={"enum": options}, uniqueItems=True)
        else:
            out["type"] = "boolean"
    elif control == "standard_picker":
        out.update(type="array", items={"type": "string"})
        if node.get("required"):
            out["minItems"] = 1
    else:
        out["type"] = "string"
        if control == "date":
            out["format"] = "date"
        if "pattern" in node:
            out["pattern"] = node["pattern"]
    return out


def _entry(entry: Entry) -> dict[str, Any]:
    node = entry.node
    if entry.kind == "field":
        return field_schema(node)
    if entry.kind in ("computed", "conclusion"):
        return {"title": text_of(node.get("label")), "readOnly": True}
    if entry.kind == "environment":
        return {
            "type": "object",
            "properties": {
                name: {"type": "number"}
                for name in node.get("fields", ["temperature", "humidity", "pressure"])
            },
        }
    if entry.kind in ("table", "group"):
        assert entry.inner is not None
        inner = _object(entry.inner)
        if not entry.repeat:
            return inner | {"title": text_of(node.get("label"))}
        out: dict[str, Any] = {"type": "array", "title": text_of(node.get("label")), "items": inner}
        low = node.get("min_rows" if entry.kind == "table" else "min")
        high = node.get("max_rows" if entry.kind == "table" else "max")
        if low:
            out["minItems"] = low
        if high:
            out["maxItems"] = high
        return out
    # indicator table: one property per item code (when the instrument type is known)
    props: dict[str, Any] = {}
    for spec in entry.items:
        if spec.code == "*":
            continue
        points = _object(spec.point_scope)
        points["properties"]["point"] = {"type": "string"}
        props[spec.code] = {
            "type": "object",
            "title": text_of(spec.item.get("name")),
            "properties": {
                "points": {"type": "array", "items": points, "maxItems": len(spec.points)},
                "result": {"readOnly": True},
                "conclusion": {"readOnly": True},
            },
        }
    return {"type": "object", "title": text_of(node.get("label")), "properties": props}
