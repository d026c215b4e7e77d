"""Typed strings ↔ values: readings are stored exactly as typed and parsed to Decimal to compute."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

INVALID = object()  # a number field whose text is not a number


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def parse_number(value: Any) -> Decimal | None | object:
    """``" 19.93 "`` → ``Decimal("19.93")``; blank → ``None``; not a number → :data:`INVALID`.

    Full-width digits and signs (１９．９３, －) are accepted, as typed with a Chinese IME.
    """
    if blank(value):
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, Decimal):
        return value if value.is_finite() else INVALID
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return INVALID
    text = unicodedata.normalize("NFKC", value).strip().replace("−", "-")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return INVALID
    return number if number.is_finite() else INVALID


def field_value(node: dict[str, Any], value: Any) -> Any:
    """The value a field contributes to expressions."""
    control = node.get("control")
    if control == "number":
        number = parse_number(value)
        return None if number is INVALID else number
    if control == "checkbox" and not node.get("options"):
        if blank(value):
            return False
        return str(value).lower() in ("true", "on", "1", "yes", "是")
    if blank(value):
        return None
    if control in ("select", "radio") and numeric_options(node):
        number = parse_number(value)
        return value if number is INVALID else number
    return value


def numeric_options(node: dict[str, Any]) -> bool:
    """A select whose option values are all numbers (accuracy classes) gives expressions numbers."""
    options = node.get("options") or []
    return bool(options) and all(
        parse_number(o.get("value")) not in (INVALID, None) for o in options if isinstance(o, dict)
    )


def to_text(value: Any) -> Any:
    """How a computed value is stored: Decimals as plain strings, lists element-wise."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return [to_text(v) for v in value]
    return value
