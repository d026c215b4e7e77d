"""Route permissions. Every route declares one (deny by default); roles grant them as data.

Declare with `opt=perm("customers.view")`, `opt=AUTHENTICATED` (any signed-in user) or
`opt=PUBLIC` (the explicit public allowlist: login, health, static, public pages, verification).
"""

from __future__ import annotations

from typing import Any

# The catalogue of permission codes, filled by each feature's `feature.py` (see metrolab.features).
# Roles (seed_data/roles.json, editable) grant subsets of these.
PERMISSIONS: dict[str, tuple[str, str]] = {}

AUTHENTICATED = {"permission": "authenticated"}
PUBLIC = {"public": True}


def perm(code: str) -> dict[str, Any]:
    """Declare a route's permission; the route-permission test checks the code is in the catalogue."""
    return {"permission": code}


def register(code: str, zh: str, en: str) -> None:
    PERMISSIONS.setdefault(code, (zh, en))
