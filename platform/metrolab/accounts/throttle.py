"""Failed-attempt throttle shared by signing in and signing (签名): N failures within
`lockout_minutes` of each other lock the key for `lockout_minutes`. Keys: `user:<name>` and `ip:<address>` for sign-in, `sign:<user id>` for signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from metrolab.accounts.tables import LoginThrottle
from metrolab.settings import get_settings


def _now() -> datetime:
    return datetime.now(UTC)


async def locked(key: str, now: datetime | None = None) -> bool:
    row = (
        await LoginThrottle.select(LoginThrottle.locked_until)
        .where(LoginThrottle.key == key)
        .first()
    )
    return bool(row and row["locked_until"] and row["locked_until"] > (now or _now()))


async def note_failure(key: str, limit: int, now: datetime | None = None) -> bool:
    """Count one failure; True when this one locks the key."""
    now = now or _now()
    window = timedelta(minutes=get_settings().lockout_minutes)
    row = await LoginThrottle.objects().where(LoginThrottle.key == key).first()
    if row is None:
        row = LoginThrottle(key=key, failures=0)
    elif row.updated_at and now - row.updated_at > window:
        row.failures = 0  # old failures are forgotten: a typo a week ago counts for nothing
    row.failures = (row.failures or 0) + 1
    row.updated_at = now
    locks = row.failures >= limit
    if locks:
        row.locked_until = now + window
        row.failures = 0
    await row.save()
    return locks


async def clear(key: str) -> None:
    await LoginThrottle.delete().where(LoginThrottle.key == key)
