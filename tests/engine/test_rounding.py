"""GB/T 8170-2008 rounding: the standard's own examples and properties."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrolab.engine.rounding import parse_step, round_gb


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        # the brief's cases
        ("1.050", "0.1", "1.0"),
        ("0.35", "0.1", "0.4"),
        ("60.28", "0.5", "60.5"),
        ("8.53459", "0.01", "8.53"),
        ("-0.365", "0.01", "-0.36"),
        # GB/T 8170-2008 §3.2 examples
        ("12.1498", "0.1", "12.1"),
        ("12.1498", "1", "12"),
        ("10.5002", "1", "11"),
        ("10.502", "1", "11"),
        ("1268", "10", "1270"),
        ("1268", "100", "1300"),
        ("0.0025", "0.001", "0.002"),
        ("2500", "1000", "2000"),
        ("3500", "1000", "4000"),
        ("1.15", "0.1", "1.2"),
        ("1.25", "0.1", "1.2"),
        ("-355", "10", "-360"),
        ("-325", "10", "-320"),
        ("-0.0365", "0.001", "-0.036"),
        # 0.5-unit rounding (×2, round, ÷2)
        ("60.25", "0.5", "60.0"),
        ("60.38", "0.5", "60.5"),
        ("-60.75", "0.5", "-61.0"),
        ("0.125", "0.05", "0.10"),
        # 0.2-unit rounding (×5, round, ÷5)
        ("830", "20", "840"),
        ("842", "20", "840"),
        ("-930", "20", "-920"),
        ("0.31", "0.2", "0.4"),
        ("0.29", "0.2", "0.2"),
        ("1.03", "0.02", "1.04"),
    ],
)
def test_standard_examples(value: str, step: str, expected: str) -> None:
    result = round_gb(D(value), D(step))
    assert result == D(expected)
    assert str(result) == expected


def test_round_once_not_successively() -> None:
    # 15.4546 → 15 in one step; rounding successively (15.455 → 15.46 → 15.5 → 16) is wrong.
    assert round_gb(D("15.4546"), D("1")) == D("15")


def test_blank_stays_blank_and_zero_has_no_sign() -> None:
    assert round_gb(None, D("0.1")) is None
    assert str(round_gb(D("-0.001"), D("0.01"))) == "0.00"


@pytest.mark.parametrize("step", ["0", "-0.1", "0.3", "0.25", "3", "15"])
def test_invalid_steps_refused_in_chinese(step: str) -> None:
    with pytest.raises(ValueError, match="修约间隔"):
        round_gb(D("1.23"), D(step))


def test_float_refused() -> None:
    with pytest.raises(ValueError, match="Decimal"):
        round_gb(0.35, D("0.1"))  # type: ignore[arg-type]


def test_parse_step() -> None:
    assert parse_step(D("0.50")) == (5, -1)
    assert parse_step(D("20")) == (2, 1)
    assert parse_step(D("0.01")) == (1, -2)


steps = st.sampled_from(
    [
        D(s)
        for s in [
            "0.001",
            "0.01",
            "0.02",
            "0.05",
            "0.1",
            "0.2",
            "0.5",
            "1",
            "2",
            "5",
            "10",
            "20",
            "50",
        ]
    ]
)
values = st.decimals(min_value=D("-100000"), max_value=D("100000"), places=5, allow_nan=False)


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(values, steps)
def test_result_is_a_multiple_of_the_step_and_within_half_a_step(value: D, step: D) -> None:
    result = round_gb(value, step)
    assert result is not None
    assert result % step == 0
    assert abs(result - value) <= step / 2


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(values, steps)
def test_symmetric_for_negative_numbers(value: D, step: D) -> None:
    assert round_gb(-value, step) == -round_gb(value, step)  # type: ignore[operator]


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(values, steps)
def test_idempotent(value: D, step: D) -> None:
    once = round_gb(value, step)
    assert round_gb(once, step) == once
