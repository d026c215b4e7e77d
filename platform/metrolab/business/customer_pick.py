"""委托单位 is picked from the customer file (§5.7.1): a suggestion list while typing, a new customer only
when the clerk says so — and, when a similar name is on file, only after confirming it is not that one.
The picked customer's address, contact and phone fill what the clerk left blank."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from metrolab.customers.tables import Contact, Customer
from metrolab.kernel.matching import contains

SUGGESTIONS = 10
# Names this alike are probably one customer typed twice (峰峰集团大淑村矿 / 峰峰集团大淑村煤矿).
SIMILAR = 0.75


async def suggest(q: str) -> list[dict[str, Any]]:
    """Customers whose name contains what was typed, with what the entrustment fills from them."""
    q = (q or "").strip()
    if not q:
        return []
    rows = (
        await Customer.select(Customer.id, Customer.name, Customer.address, Customer.phone)
        .where(contains(Customer.name, q))
        .order_by(Customer.name)
        .limit(SUGGESTIONS)
    )
    return [await _with_contact(r) for r in rows]


async def _with_contact(row: dict[str, Any]) -> dict[str, Any]:
    first = (
        await Contact.select(Contact.name, Contact.phone)
        .where(Contact.customer == row["id"])
        .order_by(Contact.id)
        .first()
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "contact": first["name"] if first else "",
        "phone": (first["phone"] if first and first["phone"] else row["phone"]),
    }


async def by_name(name: str) -> dict[str, Any] | None:
    row = (
        await Customer.select(Customer.id, Customer.name, Customer.address, Customer.phone)
        .where(Customer.name == name.strip())
        .first()
    )
    return await _with_contact(row) if row else None


async def similar_names(name: str) -> list[str]:
    """Names on file that look like ``name`` (one contains the other, or nearly the same)."""
    name = name.strip()
    out = []
    for r in await Customer.select(Customer.name):
        other = r["name"]
        if other == name:
            continue
        if name in other or other in name or SequenceMatcher(None, name, other).ratio() >= SIMILAR:
            out.append(other)
    return sorted(out)[:SUGGESTIONS]


async def customer_problems(
    data: dict[str, Any], new_customer: bool, confirm_similar: bool
) -> list[tuple[str, str]]:
    """(path, 中文 message) for the 委托单位 field: unknown without 新建, or 新建 of a look-alike name
    not yet confirmed. Nothing when the name is on file (or blank: the form's own check says so)."""
    name = str(data.get("customer") or "").strip()
    if not name or await by_name(name):
        return []
    if not new_customer:
        return [
            (
                "customer",
                f"客户档案中没有“{name}”：请从建议列表中选择已有单位，或勾选“新建委托单位”",
            )
        ]
    alike = await similar_names(name)
    if alike and not confirm_similar:
        return [
            (
                "customer",
                f"已有名称相近的单位：{'、'.join(alike)}。如确为另一单位，请勾选“确认新建”后再提交",
            )
        ]
    return []


async def fill_from_customer(data: dict[str, Any]) -> dict[str, Any]:
    """The customer's address, first contact and phone where the clerk left them blank."""
    found = await by_name(str(data.get("customer") or ""))
    if not found:
        return data
    filled = dict(data)
    for key in ("address", "contact", "phone"):
        if not str(filled.get(key) or "").strip() and found[key]:
            filled[key] = found[key]
    return filled
