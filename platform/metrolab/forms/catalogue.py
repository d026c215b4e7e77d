"""The indicator database (指标库) as forms and records see it: instrument types and standards.

A thin, lazily imported door to ``metrolab.indicators.services`` (that feature owns the data).
"""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any


def _service() -> ModuleType:  # the indicators services module, imported when first needed
    from metrolab.indicators import services

    return services


async def get_catalogue(code: str) -> dict[str, Any] | None:
    """One instrument type in the seed_data/instrument_types shape, or None."""
    return await _service().get_catalogue(code) if code else None


async def list_types() -> list[dict[str, Any]]:
    return list(await _service().list_types())


async def get_standards(codes: list[str]) -> list[dict[str, Any]]:
    return list(await _service().get_standards(list(codes))) if codes else []


async def standards_for_picker(
    on: date, instrument_type: str | None = None
) -> list[dict[str, Any]]:
    """``[{code, label, valid_until, expired}]`` as the form engine's context["standards"]."""
    return list(await _service().standards_for_picker(on, instrument_type))


async def types_named(text: str) -> list[str]:
    """The codes of the instrument types whose name contains ``text`` (any case) or whose code
    it is: what a search box finds by the type's name."""
    q = text.lower()
    return [
        t["code"] for t in await list_types() if q in type_name(t).lower() or q == t["code"].lower()
    ]


def type_name(t: dict[str, Any] | None) -> str:
    if not t:
        return ""
    name = t.get("name")
    return name.get("zh", "") if isinstance(name, dict) else str(name or t.get("code", ""))
