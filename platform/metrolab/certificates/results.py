"""The 检定结果 page of a certificate: one row per verification item — 技术要求 (the limit that applies),
实测值 (with sign and unit), 结论. Pure functions: no database."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _zh(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("zh") or value.get("en") or "")
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _requirement(item: dict[str, Any] | None) -> str:
    """技术要求 as a certificate states it: short; the limit rather than the method."""
    if not item:
        return ""
    text = _zh(item.get("requirement")).strip()
    mpe, unit = item.get("mpe"), item.get("unit") or ""
    if mpe in (None, ""):
        return text
    short = len(text) <= 30
    if short and str(mpe) in text:
        return text
    conformity = (item.get("conformity") or "").replace(" ", "")
    limit = f"{mpe} {unit}".strip()
    bound = f"≤ {limit}" if conformity.startswith("result<=mpe") else f"±{limit}"
    return (
        f"{text.rstrip('。')}（{bound}）" if short else f"不超过 {bound}".replace("不超过 ≤", "≤")
    )


def _measured(result: Any, unit: str | None) -> str:
    text = _text(result)
    if not text:
        return "—"
    if unit and text not in {"合格", "不合格"} and not text.endswith(unit):
        return f"{text} {unit}"
    return text


def _walk_items(data: Any, codes: list[str]) -> list[dict[str, Any]]:
    """Item results found in record data: every indicator table ``{item_code: {result, conclusion}}``."""
    found: list[dict[str, Any]] = []

    def visit(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            present = [c for c in codes if isinstance(node.get(c), dict)]
            if present and all("conclusion" in node[c] or "result" in node[c] for c in present):
                for code in codes:
                    if isinstance(node.get(code), dict):
                        found.append({"code": code, "prefix": prefix, **node[code]})
                return
            for value in node.values():
                visit(value, prefix)
        elif isinstance(node, list):
            many = len(node) > 1
            for i, value in enumerate(node):
                visit(value, f"{prefix}第{i + 1}组 " if many else prefix)

    visit(data, "")
    return found


def result_rows(record: dict[str, Any], instrument_type: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per verification item (per instrument in a multi-nozzle record).

    Uses ``record["items"]`` when given (``ItemResult``-like dicts: code, label_zh, result, unit,
    conclusion — e.g. from ``engine.forms.compute``), else finds the items in ``record["data"]``.
    """
    catalogue = {i["code"]: i for i in instrument_type.get("items", [])}
    items = record.get("items")
    if items is None:
        data = record.get("data") or {}
        if isinstance(data, str):
            data = json.loads(data)
        items = [
            {
                "code": it["code"],
                "label_zh": it["prefix"] + _zh(catalogue.get(it["code"], {}).get("name")),
                "result": it.get("result"),
                "conclusion": it.get("conclusion"),
            }
            for it in _walk_items(data, list(catalogue))
        ]
    rows = []
    for n, it in enumerate(items, start=1):
        it = it if isinstance(it, dict) else vars(it)
        spec = catalogue.get(it.get("code") or "")
        unit = it.get("unit") or (spec or {}).get("unit")
        rows.append(
            {
                "seq": n,
                "item": it.get("label_zh") or it.get("item") or _zh((spec or {}).get("name")),
                "requirement": it.get("requirement") or _requirement(spec),
                "measured": _measured(it.get("measured", it.get("result")), unit),
                "conclusion": _text(it.get("conclusion")) or "—",
            }
        )
    return rows
