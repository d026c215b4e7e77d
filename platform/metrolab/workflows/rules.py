"""Business rules the shipped workflow definitions name in their `rules` lists (registered with the engine)."""

from __future__ import annotations

from typing import Any

from metrolab.engine.workflow import register_rule


@register_rule("approver_not_requester")
def approver_not_requester(context: dict[str, Any]) -> str | None:
    if context.get("actor") is not None and context.get("actor") == context.get("requester"):
        return "审批人不能是申请人本人"
    return None
