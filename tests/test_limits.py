"""Resource limits on what users can make the server build: computed texts and lists (issue 12,
"Resource limits"), uploaded office files (zip bombs, giant cells), sandboxed template renders."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from metrolab.engine.expressions import MAX_LIST_SIZE, MAX_TEXT_LENGTH, ExpressionError, evaluate
from metrolab.engine.forms import compute, load_definition

TERMS = 99  # as many `s0 + s0 + …` as the nesting limit lets one expression hold


def _sum_of(name: str) -> str:
    return "+".join([name] * TERMS)


def _growing_texts() -> dict:
    """The reproduction: three computed texts, each 99 copies of the one before (262 MB)."""
    text = {"type": "field", "key": "s0", "control": "text", "example": "x" * 262}
    text["label"] = {"zh": "原文", "en": "Text"}
    computed = [
        {
            "type": "computed",
            "key": f"s{n}",
            "label": {"zh": f"第{n}级拼接", "en": f"Level {n}"},
            "expression": _sum_of(f"s{n - 1}"),
        }
        for n in (1, 2, 3)
    ]
    return {
        "format": "metrolab.form/1",
        "key": "limits_demo",
        "kind": "other",
        "title": {"zh": "限值演示", "en": "Limits demo"},
        "layout": [{"type": "section", "label": {"zh": "拼接"}, "children": [text, *computed]}],
    }


def test_a_text_built_past_its_limit_is_refused_without_being_built():
    s = "x" * 262
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        evaluate(_sum_of("s1"), {"s1": s * TERMS})
    assert caught.value.code == "limit" and "文本结果过长" in str(caught.value)
    assert time.monotonic() - started < 1
    assert len(evaluate(_sum_of("s"), {"s": "ab"})) == 2 * TERMS  # ordinary texts still join


def test_lists_are_bounded_too():
    big = ["a"] * (MAX_LIST_SIZE // 10)
    with pytest.raises(ExpressionError, match="列表结果过大"):
        evaluate("[" + ", ".join(["l"] * 20) + "]", {"l": big})
    assert evaluate("[a, b]", {"a": Decimal(1), "b": None}) == [Decimal(1), None]


def test_decimal_results_stay_bounded():
    with pytest.raises(ExpressionError, match="指数"):
        evaluate("x ** 1000", {"x": Decimal(10)})
    with pytest.raises(ExpressionError, match="超出范围"):
        evaluate("x ** 100 * x ** 100", {"x": Decimal("1e9")})


def test_computing_the_reproduction_names_the_field_and_stays_small():
    result = compute(load_definition(_growing_texts()), {"s0": "x" * 50})
    assert len(result.data["s1"]) == 50 * TERMS  # 4 950 characters: within the limit
    assert result.data.get("s2") is None and result.data.get("s3") is None  # blank, not 49 MB
    [problem] = [p for p in result.problems if p.path == "s2"]
    assert problem.code == "runtime" and problem.label_zh.endswith("第2级拼接")
    assert "文本结果过长" in problem.message_zh and str(MAX_TEXT_LENGTH) in problem.message_zh


def test_designer_preview_of_the_reproduction_answers_small_and_says_why(browser, make_user):
    b = browser.login(make_user("tech_manager"))
    started = time.monotonic()
    r = b.post("/designer/preview", json={"definition": _growing_texts(), "lang": "zh"})
    assert r.status_code == 200 and time.monotonic() - started < 10
    assert len(r.content) < 200_000  # was 262 MB
    body = r.json()
    assert body["ok"] is True
    assert "文本结果过长" in body["html"]
