"""Business rules the shipped workflow definitions name in their `rules` lists (registered with the engine)."""

from __future__ import annotations

from typing import Any

from metrolab.engine.workflow import register_rule


@register_rule("approver_not_requester")
def approver_not_requester(context: dict[str, Any]) -> str | None:
    if context.get("actor") is not None and context.get("actor") == context.get("requester"):
        return "审批人不能是申请人本人"
    return None


# ── certificate separation of duties (§5.8.3–§5.8.6, §7). Rules are synchronous: the caller puts
# the facts in the context (metrolab.business.services.certificate_context): verifier_name,
# verifier_qualified, verified_on, instrument_type, expired_standards, actor_name, roles.


@register_rule("verifier_qualified")
def verifier_qualified(context: dict[str, Any]) -> str | None:
    if not context.get("verifier_qualified"):
        return (f"检定员 {context.get('verifier_name') or context.get('verifier') or '（未指定）'} "
                f"在检定日期 {context.get('verified_on') or '（未填）'} 没有 "
                f"{context.get('instrument_type_name') or context.get('instrument_type') or ''} 的有效检定员证")
    return None


@register_rule("standards_valid")
def standards_valid(context: dict[str, Any]) -> str | None:
    if "expired_standards" not in context:
        return "未提供所用计量标准的有效期信息"
    expired = context.get("expired_standards") or []
    if expired:
        listed = "、".join(str(s) for s in expired)
        return f"计量标准 {listed} 在检定日期 {context.get('verified_on') or ''} 不在有效期内"
    return None


@register_rule("checker_not_verifier")
def checker_not_verifier(context: dict[str, Any]) -> str | None:
    if context.get("actor") is None or context.get("actor") == context.get("verifier"):
        return f"核验人 {context.get('actor_name') or ''} 是本证书的检定员，不能核验自己检定的证书"
    return None


@register_rule("approver_authorised")
def approver_authorised(context: dict[str, Any]) -> str | None:
    if "signatory" not in (context.get("roles") or []):
        return f"批准人 {context.get('actor_name') or ''} 不是授权签字人"
    return None


@register_rule("approver_not_verifier")
def approver_not_verifier(context: dict[str, Any]) -> str | None:
    if context.get("actor") is None or context.get("actor") == context.get("verifier"):
        return f"批准人 {context.get('actor_name') or ''} 是本证书的检定员，不能批准自己检定的证书"
    return None
