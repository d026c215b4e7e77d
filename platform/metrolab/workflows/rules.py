"""Rules of the workflows feature's own processes (delay requests); declared in feature.py RULES."""

from __future__ import annotations

from typing import Any


def approver_not_requester(context: dict[str, Any]) -> str | None:
    if context.get("actor") is not None and context.get("actor") == context.get("requester"):
        return "审批人不能是申请人本人"
    return None
