"""One search for every list of certificates (证书进度, 证书查询/打印): what a person types finds a
certificate by its number, the customer, the instrument's 出厂编号, model or name (the type's name too)."""

from __future__ import annotations

from piccolo.custom_types import Combinable
from piccolo.query.methods.select import Select
from piccolo.table import Table

from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer

MAX_SEARCH = 200


def searchable(text: str) -> str:
    """Search text as a database can take it: printable characters, at most 200."""
    return "".join(ch for ch in (text or "") if ch.isprintable())[:MAX_SEARCH].strip()


# Up to this many matching customers / records are named by id (an indexed `= ANY` on the
# certificate's own column); more are asked as a sub-select (the same rows, a slower plan).
MAX_IDS = 1000


async def _ids(table: type[Table], condition: Combinable) -> list[int] | Select:
    key = table._meta.primary_key
    ids = await table.select(key).where(condition).limit(MAX_IDS + 1).output(as_list=True)
    if len(ids) > MAX_IDS:
        return table.select(key).where(condition)
    return ids


async def matching(text: str) -> Combinable | None:
    """The condition for ``text`` (None when nothing was typed).

    Only the certificate's own columns are tested: the customers and records that match are
    found first (each one small query), so that PostgreSQL combines the certificate's indexes
    (trigram on the number, its customer and record columns) instead of reading every
    certificate through two joins; the rows found are the same."""
    from metrolab.forms import catalogue
    from metrolab.records.tables import OriginalRecord

    q = searchable(text)
    if not q:
        return None
    like = f"%{q}%"
    where: Combinable = Certificate.number.ilike(like)
    customers = await _ids(Customer, Customer.name.ilike(like))
    if customers:
        where = where | Certificate.customer.is_in(customers)
    records = await _ids(
        OriginalRecord,
        OriginalRecord.serial.ilike(like)
        | OriginalRecord.model.ilike(like)
        | OriginalRecord.instrument_name.ilike(like),
    )
    if records:
        where = where | Certificate.record.is_in(records)
    types = [
        t["code"]
        for t in await catalogue.list_types()
        if q.lower() in catalogue.type_name(t).lower() or q.lower() == t["code"].lower()
    ]
    if types:
        where = where | Certificate.instrument_type.is_in(types)
    return where
