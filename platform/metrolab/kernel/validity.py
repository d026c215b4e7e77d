"""When a verification stops being valid, and which conclusions conform (DESIGN.md: 有效期至 =
检定日期 + 周期 − 1 天 unless the type says otherwise)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Jan + 1 month → 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(verified_on: date | None, cycle_months: int | None) -> date | None:
    """有效期至 = 检定日期 + 周期 − 1 天; None without a date or a cycle."""
    if verified_on is None or not cycle_months:
        return None
    return add_months(verified_on, int(cycle_months)) - timedelta(days=1)


def conforms(conclusion: str | None) -> bool:
    """合格 (or 符合…级) conforms; anything else does not."""
    text = (conclusion or "").strip()
    return text == "合格" or text.startswith("符合")
