"""Separation of duties on a certificate (§5.8.3–§5.8.6, §7): the rules certificate.json names.

Rules are synchronous: ``metrolab.certificates.workflow.certificate_context`` puts the facts in the
context (verifier, checker, actor and their names, verifier_qualified, verified_on, instrument_type,
expired_standards; the engine adds roles). Declared in feature.py RULES.
"""

from __future__ import annotations

from typing import Any


def verifier_qualified(context: dict[str, Any]) -> str | None:
    if not context.get("verifier_qualified"):
        return (
            f"检定员 {context.get('verifier_name') or context.get('verifier') or '（未指定）'} "
            f"在检定日期 {context.get('verified_on') or '（未填）'} 没有 "
            f"{context.get('instrument_type_name') or context.get('instrument_type') or ''} 的有效检定员证"
        )
    return None


def standards_valid(context: dict[str, Any]) -> str | None:
    if "expired_standards" not in context:
        return "未提供所用计量标准的有效期信息"
    expired = context.get("expired_standards") or []
    if expired:
        listed = "、".join(str(s) for s in expired)
        return f"计量标准 {listed} 在检定日期 {context.get('verified_on') or ''} 不在有效期内"
    return None


def checker_not_verifier(context: dict[str, Any]) -> str | None:
    if context.get("actor") is None or context.get("actor") == context.get("verifier"):
        return f"核验人 {context.get('actor_name') or ''} 是本证书的检定员，不能核验自己检定的证书"
    return None


def approver_authorised(context: dict[str, Any]) -> str | None:
    if "signatory" not in (context.get("roles") or []):
        return f"批准人 {context.get('actor_name') or ''} 不是授权签字人"
    return None


def approver_not_verifier(context: dict[str, Any]) -> str | None:
    if context.get("actor") is None or context.get("actor") == context.get("verifier"):
        return f"批准人 {context.get('actor_name') or ''} 是本证书的检定员，不能批准自己检定的证书"
    return None


def approver_not_checker(context: dict[str, Any]) -> str | None:
    """One person may hold checker and signatory roles, but not check and approve one certificate."""
    if context.get("actor") is None or context.get("actor") == context.get("checker"):
        return f"批准人 {context.get('actor_name') or ''} 核验了本证书，同一人不能既核验又批准同一份证书"
    return None


def recall_requester_responsible(context: dict[str, Any]) -> str | None:
    """内部追回 is asked for by who answers for the certificate — its verifier or its compiler — or
    by someone who may withdraw certificates anyway (certificates.void); not by any verifier."""
    actor = context.get("actor")
    if actor is not None and (
        actor in (context.get("verifier"), context.get("compiler")) or context.get("actor_may_void")
    ):
        return None
    return (
        f"{context.get('actor_name') or ''} 不是本证书的检定员或编制人，不能申请追回；"
        f"请由检定员 {context.get('verifier_name') or ''} 申请"
    )
