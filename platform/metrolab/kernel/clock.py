"""The lab's clock. Times are stored in UTC (timestamptz); people read them, and certificates turn
them into dates, in the lab's time zone — METROLAB_TIMEZONE, default Asia/Shanghai, whatever the
host's own zone is. The process runs in that zone (set once with the settings), so ``date.today()``,
``datetime.now()`` and ``astimezone()`` all mean the lab's day; :func:`local` brings a stored UTC
time into it (a Beijing approval at 07:30 is dated that day, not the UTC day before)."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"


def use_zone(name: str) -> None:
    """Run this process in the lab's zone (refuses an unknown zone name at start-up)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(f"METROLAB_TIMEZONE：未知的时区 “{name}”（例如 Asia/Shanghai）") from exc
    if os.environ.get("TZ") != name:
        os.environ["TZ"] = name
        time.tzset()


def local(value: Any) -> Any:
    """A stored (aware) time in the lab's zone; anything else unchanged, so templates may pass None."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone()
    return value


def local_date(value: datetime | date) -> date:
    """The lab's calendar day of a stored time (a date is its own day)."""
    if isinstance(value, datetime):
        return local(value).date()
    return value


def shown(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored time — a datetime or ISO text (a signature's timestamp) — as people read it, in the
    lab's zone; text that is not a time is shown as it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return local(value).strftime(fmt)
    return "" if value is None else str(value)
