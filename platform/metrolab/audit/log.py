"""Write audit events."""

from __future__ import annotations

from typing import Any

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
    await AuditEvent.insert(
        AuditEvent(
            actor_id=getattr(actor, "id", None),
            actor_name=getattr(actor, "username", "") or "",
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details or {},
            ip=ip,
        )
    )
