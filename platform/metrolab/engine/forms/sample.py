"""Plausible sample data so a designer's preview computes something.

A field's ``example`` is used first, then its ``default``; otherwise a value that passes its own
rules (the first option, a number between min and max, today's date).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from metrolab.engine.forms.compute import compute
from metrolab.engine.forms.model import FormDefinition, text_of
from metrolab.engine.forms.scopes import build, to_value
from metrolab.engine.forms.walk import visit


def sample_value(node: dict[str, Any]) -> Any:
    if "example" in node:
        return node["example"]
    if "default" in node:
        return node["default"]
    control = node.get("control")
    options = [o["value"] for o in node.get("options", [])]
    if control in ("select", "radio"):
        return options[0] if options else ""
    if control == "checkbox":
        return options[:1] if options else "true"
    if control == "number":
        low, high = to_value(node.get("min")), to_value(node.get("max"))
        if isinstance(low, Decimal) and isinstance(high, Decimal):
            number = (low + high) / 2
        elif isinstance(low, Decimal):
            number = low + 1
        elif isinstance(high, Decimal):
            number = high - 1 if high > 1 else high
        else:
            number = Decimal(1)
        return format(number.quantize(Decimal(1).scaleb(-node.get("decimals", 0))), "f")
    if control == "date":
        return datetime.date.today().isoformat()
    if control == "standard_picker":
        return []
    if control in ("signature", "file", "image"):
        return ""
    return f"示例{text_of(node.get('label'))}"


def _fill(root: Any, data: dict[str, Any]) -> bool:
    added = False
    for v in visit(root, data):
        if v.entry.kind == "field" and v.entry.key not in v.container:
            v.container[v.entry.key] = sample_value(v.entry.node)
            added = True
        elif v.entry.kind == "environment" and not isinstance(v.value, dict):
            v.container[v.entry.key] = {
                "temperature": "20.0",
                "humidity": "50",
                "pressure": "101.3",
            }
            added = True
    return added


def sample_data(defn: FormDefinition, catalogue: Any = None) -> dict[str, Any]:
    """Sample inputs (computed values filled in) for previews."""
    root, _ = build(defn, catalogue)
    data: dict[str, Any] = {}
    for _ in range(6):  # each pass may create rows (groups, test points, runs) to fill
        _fill(root, data)
        data = compute(defn, data, catalogue).data
        if not _fill(root, data):
            break
    return compute(defn, data, catalogue).data
