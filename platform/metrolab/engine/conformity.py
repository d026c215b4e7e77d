"""Conformity decisions: a result against a maximum permissible error (MPE).

* :func:`within` — the everyday rule: round the result to the MPE's resolution (GB/T 8170),
  then ``|result| ≤ |MPE|``.
* :func:`decide` — JJF 1094-2002 with the expanded uncertainty ``U``: when ``U ≤ |MPE|/3`` the
  uncertainty is ignored and :func:`within` decides; otherwise ``|e| ≤ |MPE| − U`` passes,
  ``|e| ≥ |MPE| + U`` fails and anything between is undetermined (待定).
* :func:`overall` — a record's overall conclusion from its items' conclusions.

A blank (``None``) input gives a blank (``None``) answer: a missing reading never becomes a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from metrolab.engine.rounding import as_decimal, round_gb

__all__ = ["PASS", "FAIL", "UNDETERMINED", "within", "decide", "overall", "resolution_of"]

PASS = "合格"
FAIL = "不合格"
UNDETERMINED = "待定"


def resolution_of(mpe: Decimal | int | str) -> Decimal:
    """The reporting resolution implied by how the MPE is written: 0.30 → 0.01, 2 → 1."""
    exponent = as_decimal(mpe, "最大允许误差").as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(exponent)


def within(value: Decimal | int | None, mpe: Decimal | int | None) -> bool | None:
    """``|round_gb(value, resolution of mpe)| ≤ |mpe|``; ``None`` when either is blank."""
    if value is None or mpe is None:
        return None
    limit = abs(as_decimal(mpe, "最大允许误差"))
    rounded = round_gb(as_decimal(value, "测量结果"), resolution_of(mpe))
    assert rounded is not None
    return abs(rounded) <= limit


def decide(
    value: Decimal | int | None, mpe: Decimal | int | None, uncertainty: Decimal | int | None
) -> str | None:
    """合格 / 不合格 / 待定 per JJF 1094-2002; a blank uncertainty means "decide by MPE only".

    The result is rounded to the MPE's resolution first, as in :func:`within`, so the decision
    is made on the value that is reported.
    """
    if value is None or mpe is None:
        return None
    if uncertainty is None:
        return PASS if within(value, mpe) else FAIL
    limit = abs(as_decimal(mpe, "最大允许误差"))
    u = as_decimal(uncertainty, "扩展不确定度")
    if u < 0:
        raise ValueError(f"扩展不确定度不能为负：{uncertainty} (uncertainty must not be negative)")
    if u * 3 <= limit:
        return PASS if within(value, mpe) else FAIL
    rounded = round_gb(as_decimal(value, "测量结果"), resolution_of(mpe))
    assert rounded is not None
    error = abs(rounded)
    if error <= limit - u:
        return PASS
    if error >= limit + u:
        return FAIL
    return UNDETERMINED


_ACCEPTED = {True: PASS, False: FAIL, PASS: PASS, FAIL: FAIL, UNDETERMINED: UNDETERMINED}


def overall(conclusions: Iterable[str | bool | None] | None) -> str | None:
    """Any 不合格 → 不合格; else any 待定 → 待定; else any blank → ``None`` (not finished);
    all 合格 → 合格; nothing at all → ``None``."""
    if conclusions is None:
        return None
    seen: set[str | None] = set()
    for item in conclusions:
        if item is None:
            seen.add(None)
            continue
        if not isinstance(item, (bool, str)) or item not in _ACCEPTED:
            raise ValueError(f"未知的结论：“{item}” (unknown conclusion)")
        seen.add(_ACCEPTED[item])
    if FAIL in seen:
        return FAIL
    if UNDETERMINED in seen:
        return UNDETERMINED
    if None in seen or not seen:
        return None
    return PASS
