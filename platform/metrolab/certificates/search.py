"""One search for every list of certificates (证书进度, 证书查询/打印): what a person types finds a
certificate by its number, the customer, the instrument's 出厂编号, model or name (the type's name too)."""

from __future__ import annotations

from piccolo.custom_types import Combinable

from metrolab.certificates.tables import Certificate

MAX_SEARCH = 200


def searchable(text: str) -> str:
    """Search text as a database can take it: printable characters, at most 200."""
    return "".join(ch for ch in (text or "") if ch.isprintable())[:MAX_SEARCH].strip()


async def matching(text: str) -> Combinable | None:
    """The condition for ``text`` (None when nothing was typed)."""
    from metrolab.forms import catalogue

    q = searchable(text)
    if not q:
        return None
    like = f"%{q}%"
    where: Combinable = (
        Certificate.number.ilike(like)
        | Certificate.customer.name.ilike(like)
        | Certificate.record.serial.ilike(like)
        | Certificate.record.model.ilike(like)
        | Certificate.record.instrument_name.ilike(like)
    )
    types = [
        t["code"]
        for t in await catalogue.list_types()
        if q.lower() in catalogue.type_name(t).lower() or q.lower() == t["code"].lower()
    ]
    if types:
        where = where | Certificate.instrument_type.is_in(types)
    return where
