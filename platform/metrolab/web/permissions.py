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


def perm(code: str, *, api: str = "") -> dict[str, Any]:
    """Declare a route's permission; the route-permission test checks the code is in the catalogue.

    A page action names its JSON twin, `api="POST /api/v1/customers"`: tests/test_api_parity.py
    proves the twin exists and asks for the same permission, so no action is page-only by accident."""
    return {"permission": code, "api": api} if api else {"permission": code}


def authenticated(*, api: str = "") -> dict[str, Any]:
    """Any signed-in user (`AUTHENTICATED`), with the page action's JSON twin named as in `perm`."""
    return {**AUTHENTICATED, "api": api} if api else AUTHENTICATED


def register(code: str, zh: str, en: str) -> None:
    PERMISSIONS.setdefault(code, (zh, en))
