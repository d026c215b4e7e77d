"""The 检定结果 page of a certificate: one row per verification item — 技术要求 (the limit that applies
to this instrument), 实测值 (with sign and unit), 结论 — and the instrument's range and class.

Pure functions: no database. The limit is evaluated from the record's own values with the same
expression engine and the same names the item's conformity rule reads (``within(result, mpe_abs)``
→ the record's ``mpe_abs``), so the printed limit is the one the conclusion was judged against:

* ``within(result, X)``, ``abs(result) <= X`` → ``±X`` (a signed quantity: 实测值 carries its sign);
* ``result <= X`` / ``result < X`` / ``result >= X`` → ``≤ X`` / ``< X`` / ``≥ X`` (a magnitude);
* an item's optional ``limit`` expression names the limit when the rule cannot (a ratio rule such
  as ``max(points.q) <= 1``); a list (``points.mpe_p``) gives one limit per test point.

An item without a limit shows its requirement text when that is short and not a formula, else
"符合 <规程> 要求". Negative numbers use U+2212 (MINUS SIGN) everywhere on this page.
"""

from __future__ import annotations

import ast
import json
import re
from collections import ChainMap
from decimal import Decimal, InvalidOperation
from typing import Any

MINUS = "\u2212"
PASS_FAIL = {"合格", "不合格", "待定"}
_FORMULA = re.compile(
    r"[=×·÷|√∑]|\b[A-Za-z]\w*_\w+|\bMPE\b|[A-Za-z]\s*[+\-−*/]\s*\d|\d\s*[+\-−*/]\s*[A-Za-z](?![A-Za-z/])"
)
_SHORT = 40


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


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip().replace(MINUS, "-"))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(d: Decimal) -> str:
    return format(d, "f")


def signed(value: Decimal | str, unit: str | None = None, sign: bool = True) -> str:
    """ "+0.012 MPa", "−0.23 %", "0 s": the reported digits kept, U+2212 for minus."""
    text = str(value).strip()
    number = _number(text)
    if number is None:
        return text
    digits = text.lstrip("+-" + MINUS)
    if number < 0:
        digits = MINUS + digits
    elif number > 0 and sign:
        digits = "+" + digits
    return f"{digits} {unit}".strip() if unit else digits


# ── the limit: from the conformity rule (or the item's `limit`), evaluated on the record ─────


def _segment(source: str, node: ast.AST) -> str:
    """Source text of a sub-expression (ast offsets are UTF-8 bytes; `if(` is rewritten in place)."""
    line = source.encode("utf-8")
    return line[node.col_offset : node.end_col_offset].decode("utf-8")


def _is_result(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "result"


def _bound_of(rule: str | None) -> tuple[str, str] | None:
    """(bound, limit source) of a conformity rule, or None when the rule states no single limit."""
    if not rule or "\n" in rule:
        return None
    from metrolab.engine.expressions import ExpressionError, compile_expression

    try:
        body = compile_expression(rule).tree.body
    except ExpressionError:
        return None
    if (
        isinstance(body, ast.Call)
        and isinstance(body.func, ast.Name)
        and body.func.id == "within"
        and len(body.args) == 2
        and _is_result(body.args[0])
    ):
        return "±", _segment(rule, body.args[1])
    if isinstance(body, ast.Compare) and len(body.ops) == 1:
        left, op, right = body.left, body.ops[0], body.comparators[0]
        is_abs = (
            isinstance(left, ast.Call)
            and isinstance(left.func, ast.Name)
            and left.func.id == "abs"
            and len(left.args) == 1
            and _is_result(left.args[0])
        )
        if is_abs and isinstance(op, ast.LtE | ast.Lt):
            return "±", _segment(rule, right)
        if _is_result(left):
            symbol = {ast.LtE: "≤", ast.Lt: "<", ast.GtE: "≥", ast.Gt: ">"}.get(type(op))
            if symbol:
                return symbol, _segment(rule, right)
    return None


def _values(node: Any) -> Any:
    """Stored record data as the evaluator sees it: numeric text → Decimal."""
    from metrolab.engine.forms.scopes import to_value

    if isinstance(node, dict):
        return {k: _values(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_values(v) for v in node]
    return to_value(node)


def _item_env(data: dict[str, Any], path: str, spec: dict[str, Any]) -> ChainMap | None:
    """The names an item's rule reads: the item (points with their parameters, result, mpe…),
    then every enclosing scope (a nozzle's row, the record) — as the form engine lays them out."""
    parts = path.split(".")
    if len(parts) < 2:
        return None
    node: Any = _values(data)
    scopes = [node]
    for part in parts[:-2]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
        if isinstance(node, dict):
            scopes.append(node)
    table = node.get(parts[-2]) if isinstance(node, dict) else None
    idata = table.get(parts[-1]) if isinstance(table, dict) else None
    if not isinstance(idata, dict):
        return None
    params = {p.get("code"): p.get("params") or {} for p in spec.get("points") or []}
    points = [
        {**_values(params.get(p.get("point"), {})), **p}
        for p in idata.get("points") or []
        if isinstance(p, dict)
    ]
    item = {
        **idata,
        "points": points,
        "item": spec.get("code"),
        "unit": spec.get("unit"),
        "mpe": _values(spec.get("mpe")),
        "resolution": _values(spec.get("resolution")),
    }
    return ChainMap(item, *reversed(scopes))


def _evaluate(source: str, env: ChainMap) -> Any:
    from metrolab.engine.expressions import ExpressionError, evaluate

    try:
        return evaluate(source, env)
    except (ExpressionError, ArithmeticError, TypeError, ValueError):
        return None


def _stated(limit: Decimal) -> Decimal:
    """A computed limit as a certificate states it: at most two significant figures (GB/T 8170);
    fewer digits and whole numbers as they are (0.0256 → 0.026, 0.00400 → 0.004, 0.30, 0.5, 60)."""
    from metrolab.engine.rounding import round_gb

    if limit == limit.to_integral_value() or len(limit.as_tuple().digits) <= 2:
        return limit
    step = Decimal(1).scaleb(min(limit.adjusted() - 1, -1))
    stated = round_gb(limit, step) or limit
    return limit.normalize() if stated == limit else stated  # 0.00400 → 0.004, not 0.0040


def _agrees(bound: str, limit: Decimal, measured: Decimal | None, conclusion: str | None) -> bool:
    """Whether the printed limit tells the same verdict the rule gave on the printed value."""
    if measured is None or conclusion not in ("合格", "不合格"):
        return True
    ok = {
        "±": abs(measured) <= limit,
        "≤": measured <= limit,
        "<": measured < limit,
        "≥": measured >= limit,
        ">": measured > limit,
    }[bound]
    return ok == (conclusion == "合格")


def _limit_text(bound: str, limit: Decimal, unit: str | None) -> str:
    number = _plain(limit)
    text = f"±{number}" if bound == "±" else f"{bound} {number}"
    return f"{text} {unit}".strip() if unit else text


def _limit(
    spec: dict[str, Any],
    env: ChainMap | None,
    unit: str | None,
    measured: Any,
    conclusion: str | None,
) -> tuple[str, str] | None:
    """(bound, text) of the limit that applies to this instrument, or None."""
    rule = _bound_of(spec.get("conformity"))
    bound, source = rule or ("±", None)
    if spec.get("limit"):
        source = spec["limit"]
    if source is None or env is None:
        return None
    value = _evaluate(source, env)
    if isinstance(value, list):
        return _per_point(bound, value, spec, unit)
    exact = _number(value) if not isinstance(value, bool) else None
    if exact is None or exact < 0:  # a negative limit is a wrong range, never a requirement
        return None
    exact = abs(exact)
    stated = _stated(exact)
    if not _agrees(bound, stated, _number(measured), conclusion):
        stated = exact  # rounding the limit would contradict the verdict: print it exactly
    return bound, _limit_text(bound, stated, unit)


def _per_point(
    bound: str, values: list[Any], spec: dict[str, Any], unit: str | None
) -> tuple[str, str] | None:
    limits = [_number(v) for v in values]
    points = spec.get("points") or []
    if not limits or any(v is None or v < 0 for v in limits) or len(limits) != len(points):
        return None
    texts = [_limit_text(bound, _stated(v), unit) for v in limits if v is not None]
    if len(set(texts)) == 1:
        return bound, texts[0]
    labels = [_zh(p.get("label")) or p.get("code", "") for p in points]
    return bound, "；".join(f"{label}：{text}" for label, text in zip(labels, texts, strict=True))


def _requirement_text(spec: dict[str, Any] | None, instrument_type: dict[str, Any]) -> str:
    """Requirement text that can stand on a certificate: short and not a formula."""
    text = _zh((spec or {}).get("requirement")).strip().rstrip("。")
    if text and len(text) <= _SHORT and not _FORMULA.search(text):
        return text
    regulation = instrument_type.get("regulation") or {}
    code = regulation.get("code", "")
    if code and regulation.get("edition") and regulation["edition"] not in code:
        code = f"{code}-{regulation['edition']}"
    return f"符合 {code} 要求" if code else "符合检定规程要求"


# ── the instrument as recorded: range, unit and accuracy class ───────────────────────────────


def _recorded(data: dict[str, Any], field: str | None) -> str:
    value = data.get(field) if field else None
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()


def instrument_unit(data: dict[str, Any], instrument_type: dict[str, Any]) -> str:
    """The unit of the instrument's quantity: recorded (a gauge in MPa or kPa), else the type's."""
    fields = instrument_type.get("record_fields") or {}
    return _recorded(data, fields.get("unit")) or str(
        (instrument_type.get("range") or {}).get("unit") or ""
    )


def instrument_range(data: dict[str, Any], instrument_type: dict[str, Any]) -> dict[str, str]:
    """``range`` "(0～1.6) MPa" and ``accuracy`` "1.6 级": the particular instrument's as recorded,
    else the type's. A type that records them per instrument never prints its list of choices."""
    fields = instrument_type.get("record_fields") or {}
    type_range = instrument_type.get("range") or {}
    if fields.get("lower"):
        low, high = _recorded(data, fields["lower"]), _recorded(data, fields.get("upper"))
        unit = instrument_unit(data, instrument_type)
        span = (
            f"({signed(low, sign=False)}～{signed(high, sign=False)}) {unit}".strip()
            if low and high
            else ""
        )
    elif type_range.get("lower") and type_range.get("upper"):
        # The type's numeric range; its description ("按铭牌", "按罐容量表") is for the type page.
        low, high = (signed(type_range[k], sign=False) for k in ("lower", "upper"))
        span = f"({low}～{high}) {type_range.get('unit', '')}".strip()
    else:
        span = ""
    if fields.get("accuracy"):
        accuracy = _recorded(data, fields["accuracy"])
        if accuracy and _number(accuracy) is not None:
            accuracy = f"{accuracy} 级"
    else:
        accuracy = _text(instrument_type.get("accuracy"))
    return {"range": span, "accuracy": accuracy}


# ── rows ──────────────────────────────────────────────────────────────────────────────────────


def _walk_items(data: Any, codes: list[str]) -> list[dict[str, Any]]:
    """Item results found in record data: every indicator table ``{item_code: {result, conclusion}}``."""
    found: list[dict[str, Any]] = []

    def visit(node: Any, prefix: str, path: str) -> None:
        if isinstance(node, dict):
            present = [c for c in codes if isinstance(node.get(c), dict)]
            if present and all("conclusion" in node[c] or "result" in node[c] for c in present):
                for code in codes:
                    if isinstance(node.get(code), dict):
                        found.append(
                            {"code": code, "prefix": prefix, "path": f"{path}.{code}", **node[code]}
                        )
                return
            for key, value in node.items():
                visit(value, prefix, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            many = len(node) > 1
            for i, value in enumerate(node):
                visit(value, f"{prefix}第{i + 1}组 " if many else prefix, f"{path}.{i}")

    visit(data, "", "")
    return found


def result_rows(
    record: dict[str, Any],
    instrument_type: dict[str, Any],
    standards: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One row per verification item (per instrument in a multi-nozzle record): ``seq``, ``item``,
    ``requirement`` (the limit or short text), ``measured`` (sign and unit), ``conclusion``;
    ``value`` and ``unit``: the measured figure as data ("-0.23", "%"; both "" when it is text).

    An item whose budget says ``"certificate": true`` adds ``uncertainty`` ({"U", "k", "unit"},
    decimal text: the largest U of its points), ``uncertainty_points`` and ``uncertainty_text``
    ("U = 0.035 %CH₄ (k = 2)"); ``standards`` (with their ``calibration``) feed the budgets. The
    type's decision rule may change a row's conclusion; its notes are in ``rule_notes``.

    Uses ``record["items"]`` when given (``ItemResult``-like dicts from ``engine.forms.compute``:
    path, code, label_zh, result, unit, conclusion), else finds the items in ``record["data"]``.
    """
    catalogue = {i["code"]: i for i in instrument_type.get("items", [])}
    data = record.get("data") or {}
    if isinstance(data, str):
        data = json.loads(data)
    items = record.get("items")
    if items is None:
        items = [
            {
                "code": it["code"],
                "path": it["path"],
                "label_zh": it["prefix"] + _zh(catalogue.get(it["code"], {}).get("name")),
                "result": it.get("result"),
                "conclusion": it.get("conclusion"),
            }
            for it in _walk_items(data, list(catalogue))
        ]
    own_unit = instrument_unit(data, instrument_type)
    rows = []
    for n, it in enumerate(items, start=1):
        it = it if isinstance(it, dict) else vars(it)
        spec = catalogue.get(it.get("code") or "") or {}
        unit = it.get("unit") or spec.get("unit") or own_unit or None
        result, conclusion = it.get("result"), _text(it.get("conclusion")) or None
        env = _item_env(data, it.get("path") or "", spec) if spec else None
        limit = _limit(spec, env, unit, result, conclusion) if spec else None
        extra: dict[str, Any] = {}
        if spec.get("uncertainty"):
            from metrolab.certificates import uncertainty

            budgets = uncertainty.item_budgets(env, spec, standards or [])
            decided, notes = uncertainty.decide(instrument_type, spec, env, budgets, conclusion)
            if decided != conclusion:
                extra["rule_changed"] = True
                conclusion = decided
            entry = uncertainty.uncertainty_entry(budgets)
            if entry and spec["uncertainty"].get("certificate"):
                extra.update(entry)
            if notes:
                extra["rule_notes"] = notes
        numeric = _number(result) is not None and _text(result) not in PASS_FAIL
        if numeric:
            measured = signed(_text(result), unit, sign=limit is not None and limit[0] == "±")
        else:
            measured = _text(result) or "—"
        # the same figure as data (the DCC's value and unit): the reported digits, "-" for minus
        figure = _number(result) if numeric else None
        value = "" if figure is None else _plain(figure)
        rows.append(
            {
                "seq": n,
                "item": it.get("label_zh") or it.get("item") or _zh(spec.get("name")),
                "requirement": limit[1] if limit else _requirement_text(spec, instrument_type),
                "measured": measured,
                "value": value,
                "unit": (unit or "") if numeric else "",
                "conclusion": conclusion or "—",
                "uncertainty_text": "",
                **extra,
            }
        )
    return rows
