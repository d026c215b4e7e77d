"""Conformity to an MPE, JJF 1094 decisions and overall conclusions."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrolab.engine.conformity import FAIL, PASS, UNDETERMINED, decide, overall, within


@pytest.mark.parametrize(
    ("value", "mpe", "expected"),
    [
        ("0.33", "0.30", False),
        ("0.30", "0.30", True),
        ("-0.30", "0.30", True),
        ("0.304", "0.30", True),  # rounds to 0.30 at the MPE's resolution
        ("0.305", "0.30", True),  # 0.305 → 0.30 (五成双)
        ("0.315", "0.30", False),  # 0.315 → 0.32
        ("0.306", "0.30", False),
        ("-0.306", "-0.30", False),
        ("0.34", "0.3", True),  # MPE 0.3 → resolution 0.1 → 0.3
        ("2.4", "2", True),
        ("2.6", "2", False),
    ],
)
def test_within(value: str, mpe: str, expected: bool) -> None:
    assert within(D(value), D(mpe)) is expected


def test_within_blank() -> None:
    assert within(None, D("0.3")) is None
    assert within(D("0.1"), None) is None


@pytest.mark.parametrize(
    ("value", "mpe", "u", "expected"),
    [
        ("0.25", "0.30", "0.05", PASS),  # U ≤ MPE/3: decided by within
        ("0.31", "0.30", "0.10", FAIL),  # U = |MPE|/3 counts as ≤ MPE/3: U ignored, 0.31 > 0.30
        ("0.15", "0.30", "0.12", PASS),  # ≤ 0.30 − 0.12 = 0.18
        ("0.18", "0.30", "0.12", PASS),
        ("0.19", "0.30", "0.12", UNDETERMINED),
        ("0.41", "0.30", "0.12", UNDETERMINED),
        ("0.42", "0.30", "0.12", FAIL),  # ≥ 0.30 + 0.12
        ("-0.50", "0.30", "0.12", FAIL),
    ],
)
def test_decide(value: str, mpe: str, u: str, expected: str) -> None:
    assert decide(D(value), D(mpe), D(u)) == expected


def test_decide_without_uncertainty_and_blank() -> None:
    assert decide(D("0.2"), D("0.3"), None) == PASS
    assert decide(None, D("0.3"), D("0.1")) is None
    with pytest.raises(ValueError):
        decide(D("0.2"), D("0.3"), D("-0.1"))


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([PASS, PASS, True], PASS),
        ([PASS, FAIL, UNDETERMINED], FAIL),
        ([PASS, False], FAIL),
        ([PASS, UNDETERMINED], UNDETERMINED),
        ([PASS, None], None),
        ([None, FAIL], FAIL),
        ([], None),
        (None, None),
    ],
)
def test_overall(items: list, expected: str | None) -> None:
    assert overall(items) == expected


def test_overall_refuses_unknown_words() -> None:
    with pytest.raises(ValueError, match="未知的结论"):
        overall(["ok"])
    with pytest.raises(ValueError):
        overall([1])  # type: ignore[list-item]


mpes = st.sampled_from([D(s) for s in ["0.30", "0.5", "1", "0.05", "2.0"]])
errors = st.decimals(min_value=D("-5"), max_value=D("5"), places=4, allow_nan=False)


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(errors, mpes, st.decimals(min_value=D("0"), max_value=D("2"), places=3))
def test_decide_agrees_with_within_when_clear(value: D, mpe: D, u: D) -> None:
    verdict = decide(value, mpe, u)
    if verdict == PASS:
        assert within(value, mpe)
    if verdict == FAIL:
        assert not within(value, mpe)


@settings(deadline=None)  # no timing flakes on a loaded CI machine
@given(errors, mpes)
def test_within_is_symmetric(value: D, mpe: D) -> None:
    assert within(value, mpe) == within(-value, mpe) == within(value, -mpe)
