"""Route permissions. Every route declares one (deny by default); roles grant them as data.

Declare with `opt=perm("customers.view")`, `opt=AUTHENTICATED` (any signed-in user) or
`opt=PUBLIC` (the explicit public allowlist: login, health, static, public pages, verification).
"""

from __future__ import annotations

from typing import Any

# The catalogue of permission codes. Roles (seed_data/roles.json, editable) grant subsets of these.
PERMISSIONS: dict[str, tuple[str, str]] = {
    "staff.view": ("查看工作人员", "View staff"),
    "staff.manage": ("管理工作人员、角色与资质", "Manage staff, roles and qualifications"),
    "lab.manage": ("维护机构信息与公共服务页面", "Maintain lab information and public pages"),
    "audit.view": ("查看审计日志", "View the audit log"),
    "customers.view": ("查看客户", "View customers"),
    "customers.manage": ("维护客户", "Maintain customers"),
}

AUTHENTICATED = {"permission": "authenticated"}
PUBLIC = {"public": True}


def perm(code: str) -> dict[str, Any]:
    if code not in PERMISSIONS:
        raise KeyError(f"unknown permission code {code!r}: add it to PERMISSIONS")
    return {"permission": code}


def register(code: str, zh: str, en: str) -> None:
    """Features add their own permission codes at import time of their routes module."""
    PERMISSIONS.setdefault(code, (zh, en))
