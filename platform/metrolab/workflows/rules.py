"""Rules of the workflows feature's own processes and the generic ones any definition may name
(delay requests, template reviews); declared in feature.py RULES."""

from __future__ import annotations

from typing import Any


def approver_not_requester(context: dict[str, Any]) -> str | None:
    if context.get("actor") is not None and context.get("actor") == context.get("requester"):
        return "审批人不能是申请人本人"
    return None


def reviewer_not_author(context: dict[str, Any]) -> str | None:
    """Nobody approves or returns a template they wrote or submitted (§6.1)."""
    if context.get("actor") is None or context.get("actor") in (
        context.get("author"),
        context.get("submitter"),
    ):
        return "不能审批自己编写或提交的模板"
    return None
