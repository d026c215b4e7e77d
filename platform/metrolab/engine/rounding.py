"""Numerical rounding per GB/T 8170-2008 (数值修约规则).

The rules implemented here:

* round once, from the exact decimal value (never successively, never through float);
* 四舍六入五成双 — ``ROUND_HALF_EVEN`` applied to the exact decimal: a discarded part above
  half rounds up, below half rounds down, exactly half rounds to the even retained digit;
* the rounding interval (修约间隔) is 1, 2 or 5 times a power of ten:
  - ``10^n`` (1, 0.1, 0.01, 10, …): round directly;
  - 0.5-unit (0.5, 0.05, 5, 50, …): multiply by 2, round to the unit ``10^(n+1)``, divide by 2;
  - 0.2-unit (0.2, 0.02, 2, 20, …): multiply by 5, round to the unit ``10^(n+1)``, divide by 5;
* a negative number is rounded by its absolute value and the sign is restored.

The result carries the step's exponent for steps below 1 (``round_gb(60.25, 0.5) == 60.0`` shown
as ``Decimal("60.0")``) and is an integer for steps of 1 or more (``Decimal("1270")``, not
``1.27E+3``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

__all__ = ["round_gb", "parse_step", "as_decimal", "MAX_DIGITS"]

# More digits than any measurement needs; keeps quantize() bounded for absurd inputs.
MAX_DIGITS = 60


def as_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{what}必须是数值，不能是布尔值 ({what} must be a number, not a boolean)")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what}不是数值：“{value}” ({what} is not a number)") from None
    else:
        # float is refused on purpose: 0.35 as a float is 0.34999…, which rounds the wrong way.
        raise ValueError(
            f"{what}必须是十进制数（Decimal），不接受 {type(value).__name__} "
            f"({what} must be a Decimal, not {type(value).__name__})"
        )
    if not result.is_finite():
        raise ValueError(f"{what}不是有限数值 ({what} is not finite)")
    return result


def parse_step(step: object) -> tuple[int, int]:
    """Return ``(digit, exponent)`` with ``step == digit × 10^exponent`` and digit in {1, 2, 5}.

    Raises ``ValueError`` (message in Chinese first) for zero, negative or other steps.
    """
    value = as_decimal(step, "修约间隔")
    if value <= 0:
        raise ValueError(f"修约间隔必须大于零：{step} (rounding step must be positive)")
    sign, digits, exponent = value.normalize().as_tuple()
    if len(digits) != 1 or digits[0] not in (1, 2, 5):
        raise ValueError(
            f"修约间隔必须是 1、2 或 5 乘以 10 的整数次幂（如 0.01、0.5、0.2、10）：{step} "
            "(rounding step must be 1, 2 or 5 times a power of ten)"
        )
    assert isinstance(exponent, int)
    return digits[0], exponent


def round_gb(x: Decimal | int | str | None, step: Decimal | int | str) -> Decimal | None:
    """Round ``x`` to the interval ``step`` once, per GB/T 8170-2008. ``None`` stays ``None``."""
    digit, exponent = parse_step(step)
    if x is None:
        return None
    value = as_decimal(x, "修约数")
    magnitude = abs(value)
    # 0.5-unit and 0.2-unit rounding: scale so the interval becomes a unit of 10^(exponent+1).
    factor = {1: 1, 5: 2, 2: 5}[digit]
    unit_exponent = exponent if digit == 1 else exponent + 1
    needed = max(magnitude.adjusted(), 0) - min(unit_exponent, 0) + 3
    if needed > MAX_DIGITS:
        raise ValueError(f"数值超出修约范围：{x} (value out of range for rounding)")
    with localcontext() as ctx:
        ctx.prec = MAX_DIGITS + 2
        ctx.rounding = ROUND_HALF_EVEN
        scaled = magnitude * factor
        rounded = scaled.quantize(Decimal(1).scaleb(unit_exponent), rounding=ROUND_HALF_EVEN)
        result = rounded / factor
        result = result.quantize(Decimal(1).scaleb(min(exponent, 0)))
    if value < 0 and result != 0:
        result = -result
    return result
