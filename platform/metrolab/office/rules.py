"""Rules the office workflows name (declared in feature.py RULES)."""

from __future__ import annotations

from typing import Any


def plan_reviewer_heads_department(context: dict[str, Any]) -> str | None:
    """A plan is returned or accepted by the head of the author's department, never by its author."""
    if context.get("actor") is None or context.get("actor") == context.get("author"):
        return "不能审阅自己的周工作计划"
    if not context.get("same_department"):
        return "只能审阅本科室人员的周工作计划"
    return None
