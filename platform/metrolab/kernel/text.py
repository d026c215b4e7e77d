"""Checks every typed text shares: no invisible control characters (a NUL breaks PostgreSQL, a
form feed breaks a printed certificate), and a bound on length."""

from __future__ import annotations

import re
from typing import Any

from metrolab.kernel.errors import Refused

# C0 controls except tab, line feed and carriage return, which people do type.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_plain_text(value: str, label: str, limit: int) -> None:
    """Refuse, naming the field, a text with a control character or longer than `limit`."""
    if CONTROL_CHARS.search(value or ""):
        raise Refused(f"“{label}”含有不可见的控制字符，请重新输入")
    if len(value or "") > limit:
        raise Refused(f"“{label}”过长（至多 {limit} 字）")


def actor_id(user: Any) -> int | None:
    """The id of whoever acts, given a signed-in user object, a user row (dict) or nobody."""
    if user is None:
        return None
    return user.get("id") if isinstance(user, dict) else getattr(user, "id", None)
