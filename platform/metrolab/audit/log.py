"""Write audit events. Each event is sealed in the audit chain together with the state of the row it
names (metrolab.audit.chain), in one transaction: no event, and no change it reports, goes unsealed."""

from __future__ import annotations

from typing import Any

from metrolab.audit import chain
from metrolab.audit.tables import AuditEvent


async def record(
    action: str,
    *,
    actor: Any | None = None,
    target_type: str = "",
    target_id: object = "",
    details: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    target = str(target_id)
    async with chain.sealing():
        rows = await AuditEvent.insert(
            AuditEvent(
                actor_id=getattr(actor, "id", None),
                actor_name=getattr(actor, "username", "") or "",
                action=action,
                target_type=target_type,
                target_id=target,
                details=details or {},
                ip=ip,
            )
        ).returning(AuditEvent.id)
        await chain.seal_event(rows[0]["id"], target_type, target)
