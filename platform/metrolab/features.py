"""The one place that wires every feature. Each feature package has a `feature.py` declaring what it
adds to the app: `router`, `PERMISSIONS`, `NAV`, `TASKS`, `SEEDERS` and `DEMO_SEEDERS`, and how it
meets the others: `RULES` and `EFFECTS` (named in workflow definitions) and `HOOKS` (called by another
feature, e.g. ``{"certificate.issued": [fn]}``; `CUSTOMER_REFERENCES` keep a customer from deletion) — all optional but the router. Nothing registers itself
at import time. Adding a feature = one line here (its Piccolo app is found from the same list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

from litestar import Router

from metrolab.web import permissions
from metrolab.web.navigation import add_nav, add_tasks

FEATURES = [
    "lab",
    "accounts",
    "customers",
    "workflows",
    "indicators",
    "forms",
    "records",
    "certificates",
    "designer",
    "ledger",
    "business",
    "quotations",
    "services",
    "statistics",
    "office",
    "audit",
]
# Piccolo apps, in migration order (a feature without tables has no piccolo_app module); audit first.
PICCOLO_APPS = [
    name
    for name in dict.fromkeys(["audit", *FEATURES])
    if find_spec(f"metrolab.{name}.piccolo_app")
]


def modules() -> list[ModuleType]:
    return [import_module(f"metrolab.{name}.feature") for name in FEATURES]


def register_all() -> list[Router]:
    """Register every feature's permissions, navigation and task counters; return the routers."""
    wire()
    routers = []
    for feature in modules():
        for code, labels in getattr(feature, "PERMISSIONS", {}).items():
            permissions.register(code, *labels)
        add_nav(*getattr(feature, "NAV", []))
        add_tasks(*getattr(feature, "TASKS", []))
        routers.append(feature.router)
    return routers


_wired = False


def wire() -> None:
    """Hand every feature's RULES, EFFECTS and HOOKS to the registries that run them (once)."""
    global _wired
    if _wired:
        return
    from metrolab import hooks
    from metrolab.customers.services import REFERENCES
    from metrolab.engine import workflow as engine
    from metrolab.web import labels
    from metrolab.workflows import services as wf

    engine.role_names = labels.roles_label  # refusals name roles by their labels
    for feature in modules():
        engine.RULES.update(getattr(feature, "RULES", {}))
        wf.EFFECTS.update(getattr(feature, "EFFECTS", {}))
        for name, functions in getattr(feature, "HOOKS", {}).items():
            hooks.add(name, *functions)
        REFERENCES.extend(getattr(feature, "CUSTOMER_REFERENCES", []))
    _wired = True


def seeders(demo: bool = False) -> list[tuple[str, Callable[[], Awaitable[int]]]]:
    attr = "DEMO_SEEDERS" if demo else "SEEDERS"
    return [s for feature in modules() for s in getattr(feature, attr, [])]
