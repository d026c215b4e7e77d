"""One search for every list of certificates (证书进度, 证书查询/打印): what a person types finds a
certificate by its number, the customer, the instrument's 出厂编号, model or name (the type's name too).
What is typed is taken literally (``kernel.matching``): % and _ are characters, not wildcards."""

from __future__ import annotations

import functools
import operator
from typing import Any

from piccolo.custom_types import Combinable

from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer
from metrolab.kernel import listing, paging
from metrolab.kernel.matching import contains, number_contains


async def conditions(text: str) -> listing.Found | None:
    """The conditions for ``text`` (None when nothing was typed).

    Only the certificate's own columns are tested: the customers and records that match are
    found first (each one small query), so that PostgreSQL combines the certificate's indexes
    (the number's suffixes, its customer and record columns) instead of reading every
    certificate through two joins; the rows found are the same."""
    from metrolab.forms import catalogue
    from metrolab.records.tables import OriginalRecord

    q = listing.searchable(text)
    if not q:
        return None
    # The id tests come first: PostgreSQL tests an OR's arms in the order written, and a row
    # that has the customer asked for is then kept without testing its number.
    found: list[Combinable] = []
    if customers := await listing.ids_matching(Customer, contains(Customer.name, q)):
        found.append(Certificate.customer.is_in(customers))
    record_matches = (
        contains(OriginalRecord.serial, q)
        | contains(OriginalRecord.model, q)
        | contains(OriginalRecord.instrument_name, q)
    )
    records = await listing.ids_matching(OriginalRecord, record_matches, q)
    if types := await catalogue.types_named(q):
        found.append(Certificate.instrument_type.is_in(types))
    row_by_row, indexed = list(found), list(found)
    if isinstance(records, list):
        if records:
            row_by_row.append(Certificate.record.is_in(records))
            indexed.append(Certificate.record.is_in(records))
    else:  # many records: each certificate's own looked up (a walk), or all of them (a hash)
        row_by_row.append(listing.through(Certificate.record, record_matches))
        indexed.append(Certificate.record.is_in(records))
    row_by_row.append(contains(Certificate.number, q))
    indexed.append(number_contains(Certificate.number, q))
    return listing.Found(
        functools.reduce(operator.or_, row_by_row),
        functools.reduce(operator.or_, indexed),
        countable=isinstance(records, list),
    )


async def listed(
    columns: list[Any],
    where: list[Combinable],
    text: str,
    *,
    page_no: int,
    per_page: int,
    load_json: bool = False,
) -> tuple[list[dict[str, Any]], paging.Total]:
    """A page of certificates (``columns``, newest first) with ``where`` and the search ``text``,
    and the list's count (``kernel.listing.newest_first``)."""
    found = await conditions(text)
    return await listing.newest_first(
        Certificate, columns, where, found, page_no=page_no, per_page=per_page, load_json=load_json
    )
