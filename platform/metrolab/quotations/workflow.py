"""The quotation's steps on the workflow engine (seed_data/workflows/quotation.json): 提交审核,
审核通过 (signed 审核), 审批通过 (signed 批准: the reviewed 报价单 template version is pinned then),
退回 with a reason, 作废. The signature hashes exactly the quotation signed: customer, lines, totals."""

from __future__ import annotations

from datetime import date
from typing import Any

from metrolab.engine import workflow as engine
from metrolab.kernel.errors import Refused
from metrolab.quotations import services
from metrolab.quotations.tables import Quotation
from metrolab.web.auth import CurrentUser
from metrolab.workflows import services as workflows
from metrolab.workflows.signatures import SignerProof

MAX_REASON = 2000


def context(row: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    return {
        "actor": user.id,
        "author": row["created_by"],
        "reviewer": row["reviewed_by"],
        "lines": len(row["lines"]),
        "expired": row["valid_until"] < date.today(),
    }


async def actions(row: dict[str, Any], user: CurrentUser) -> list[tuple[Any, Any]]:
    """(transition, refusal or None) for what this person may see on the quotation now."""
    defn, _v = await workflows.definition(services.WF)
    return engine.action_status(defn, row["status"], user.roles, context(row, user))


def signed_content(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": row["number"],
        "customer": row["customer_name"],
        "valid_until": row["valid_until"].isoformat(),
        "lines": [
            {k: v for k, v in line.items() if k != "price_source"}
            for line in services.line_view(row["lines"])
        ],
        "total": str(row["total"]),
    }


async def act(
    quotation_id: int,
    action: str,
    user: CurrentUser,
    *,
    reason: str | None = None,
    password: str | SignerProof | None = None,
    expected_lock: int | None = None,
    changes: dict[Any, Any] | None = None,
) -> workflows.Applied:
    """One step of the quotation (the engine checks state, role, guard, reason and signature)."""
    if action == "convert" and changes is None:
        raise Refused("请通过“转为委托单”页面受理委托，报价单随之转为委托", status_code=409)
    row = await services.get(quotation_id)
    reason = (reason or "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or "\x00" in reason):
        raise Refused(f"原因：至多 {MAX_REASON} 字，不能含空字符")
    changes = dict(changes or {})
    if action == "pass_review":
        changes[Quotation.reviewed_by] = user.id
    elif action == "approve":
        from metrolab.quotations.printing import current_template

        version_id, _data = await current_template()
        changes[Quotation.approved_by] = user.id
        changes[Quotation.template_version] = version_id
    elif action in ("return_review", "return_approval"):
        changes[Quotation.reviewed_by] = None
    return await workflows.apply(
        Quotation,
        quotation_id,
        services.WF,
        action,
        user,
        context=context(row, user),
        reason=reason,
        password=password,
        expected_lock=expected_lock,
        signed_content=signed_content(row),
        changes=changes,
    )


async def history(quotation_id: int) -> list[dict[str, Any]]:
    return await workflows.history(Quotation, quotation_id)
