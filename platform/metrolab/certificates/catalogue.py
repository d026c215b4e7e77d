"""Instrument types and standards, from the indicators feature (imported lazily: it owns them),
else from the shipped seed_data files."""

from __future__ import annotations

import json
from functools import lru_cache
from types import ModuleType
from typing import Any

from metrolab.paths import data_folder


def _indicators() -> ModuleType | None:
    try:
        from metrolab.indicators import services
    except ImportError:
        return None
    return services if hasattr(services, "get_catalogue") else None


@lru_cache(maxsize=1)
def _shipped_types() -> dict[str, dict[str, Any]]:
    folder = data_folder("seed_data") / "instrument_types"
    types = [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))]
    return {t["code"]: t for t in types}


@lru_cache(maxsize=1)
def _shipped_standards() -> dict[str, dict[str, Any]]:
    data = json.loads((data_folder("seed_data") / "standards.json").read_text("utf-8"))
    found = {s["code"]: {**s, "kind": "device"} for s in data.get("facilities", [])}
    found.update({s["code"]: {**s, "kind": "instrument"} for s in data.get("instruments", [])})
    return found


async def instrument_type(code: str) -> dict[str, Any] | None:
    if (svc := _indicators()) is not None and (found := await svc.get_catalogue(code)):
        return found
    return _shipped_types().get(code)


async def instrument_types() -> list[dict[str, Any]]:
    if (svc := _indicators()) is not None and (found := await svc.list_types()):
        return list(found)
    return list(_shipped_types().values())


async def standards(codes: list[str]) -> list[dict[str, Any]]:
    """Standards by code, in the order asked; ``kind`` "device" (计量标准装置) or "instrument"."""
    if (svc := _indicators()) is not None and hasattr(svc, "get_standards"):
        found = list(await svc.get_standards(list(codes)))
        if found:
            return found
    shipped = _shipped_standards()
    return [shipped[c] for c in codes if c in shipped]
