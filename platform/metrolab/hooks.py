"""Named hooks between features: one feature calls ``await hooks.call("certificate.issued", id)``,
others declare ``HOOKS = {"certificate.issued": [fn]}`` in their feature.py (wired by metrolab.features).

The names in use: ``certificate.issued`` (certificate_id) — issued, follow it (the ledger);
``certificate.revised`` (old_id, new_id) — revision N+1 takes over (the entrustment's task);
``record.locked_by`` (record_id) → ``{"message", "href"}`` or None — why a record is read-only;
``record.context`` (record_id) → {name: value} — what a record's form rules may name (received_on);
``record.uncertainty`` (record dict) → ``{"rule", "items"}`` — its uncertainty budgets, or None;
``record.archived`` (record_id) → the 入库 row it was archived with (location, at) or None;
``indicators.record_form_keys`` () → [key] — record forms kept in the database (the type editor offers them);
``customer.links`` (customer_id, user) → [{"label", "href", "count"?}] — other features' pages about a customer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

_HOOKS: dict[str, list[Callable[..., Awaitable[Any]]]] = {}


def add(name: str, *functions: Callable[..., Awaitable[Any]]) -> None:
    _HOOKS.setdefault(name, []).extend(f for f in functions if f not in _HOOKS.get(name, []))


async def call(name: str, *args: Any) -> None:
    from metrolab.features import wire

    wire()
    for function in _HOOKS.get(name, []):
        await function(*args)


async def first(name: str, *args: Any) -> Any:
    """The first answer that is not None (for questions such as ``record.locked_by``)."""
    from metrolab.features import wire

    wire()
    for function in _HOOKS.get(name, []):
        if (answer := await function(*args)) is not None:
            return answer
    return None


async def gather(name: str, *args: Any) -> list[Any]:
    """Every function's answer, in wiring order (for questions many features answer)."""
    from metrolab.features import wire

    wire()
    return [await function(*args) for function in _HOOKS.get(name, [])]
