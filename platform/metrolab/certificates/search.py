"""One search for every list of certificates (证书进度, 证书查询/打印): what a person types finds a
certificate by its number, the customer, the instrument's 出厂编号, model or name (the type's name too).
What is typed is taken literally (``kernel.matching``): % and _ are characters, not wildcards."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.engine.postgres import PostgresEngine
from piccolo.query.methods.select import Select
from piccolo.table import Table

from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer
from metrolab.kernel import paging
from metrolab.kernel.matching import contains

MAX_SEARCH = 200
# A search's list counts to 1000 and says "1000+" beyond: "2023" matches a year of certificates,
# and walking them to 10000 costs ten times the page. (Deeper pages still count past themselves.)
COUNT_CAP = 1000


def searchable(text: str) -> str:
    """Search text as a database can take it: printable characters, at most 200."""
    return "".join(ch for ch in (text or "") if ch.isprintable())[:MAX_SEARCH].strip()


def _number_contains(q: str) -> Combinable:
    """Certificates whose number contains ``q``, through PostgreSQL's suffix index: a number
    contains q when one of its suffixes begins with q, so the numbers are one range of the index,
    a few pages for a rare q at any size (its cost grows with the numbers found)."""
    if not isinstance(Certificate._meta.db, PostgresEngine):
        return contains(Certificate.number, q)
    return WhereRaw('metrolab_suffixes("certificate"."number") @@ metrolab_prefix_query({})', q)


# Up to this many matching customers / records are named by id (an indexed `= ANY` on the
# certificate's own column); more are asked as a sub-select (the same rows, a slower plan).
MAX_IDS = 1000


TRIGRAM = 3  # characters a trigram index needs to look a search up


async def _ids(table: type[Table], condition: Combinable) -> list[int] | Select:
    key = table._meta.primary_key
    ids = await table.select(key).where(condition).limit(MAX_IDS + 1).output(as_list=True)
    if len(ids) > MAX_IDS:
        return table.select(key).where(condition)
    return ids


@dataclass(frozen=True)
class Conditions:
    """What was typed, as two conditions that find the same certificates: one cheap to test row
    by row while walking the newest certificates, one through the indexes for a search whose
    certificates are few or old (the walk would pass every newer one first)."""

    row_by_row: Combinable
    indexed: Combinable
    # False when more records match than are named by id: counting through the indexes would
    # then read every matching record (two digits of a serial match a tenth of a million).
    records_by_id: bool = True


async def conditions(text: str) -> Conditions | None:
    """The conditions for ``text`` (None when nothing was typed).

    Only the certificate's own columns are tested: the customers and records that match are
    found first (each one small query), so that PostgreSQL combines the certificate's indexes
    (the number's suffixes, its customer and record columns) instead of reading every
    certificate through two joins; the rows found are the same."""
    from metrolab.forms import catalogue
    from metrolab.records.tables import OriginalRecord

    q = searchable(text)
    if not q:
        return None
    # The id tests come first: PostgreSQL tests an OR's arms in the order written, and a row
    # that has the customer asked for is then kept without testing its number.
    found: list[Combinable] = []
    if customers := await _ids(Customer, contains(Customer.name, q)):
        found.append(Certificate.customer.is_in(customers))
    record_matches = (
        contains(OriginalRecord.serial, q)
        | contains(OriginalRecord.model, q)
        | contains(OriginalRecord.instrument_name, q)
    )
    # Fewer than three characters have no trigram for the records' indexes to look up: naming
    # the matching records would read them all ("压测" at a million records: 1.2 s), so each
    # certificate's record is looked up as the newest are walked.
    if len(q) >= TRIGRAM:
        records = await _ids(OriginalRecord, record_matches)
    else:
        records = OriginalRecord.select(OriginalRecord.id).where(record_matches)
    types = [
        t["code"]
        for t in await catalogue.list_types()
        if q.lower() in catalogue.type_name(t).lower() or q.lower() == t["code"].lower()
    ]
    if types:
        found.append(Certificate.instrument_type.is_in(types))
    row_by_row, indexed = list(found), list(found)
    if isinstance(records, list):
        if records:
            row_by_row.append(Certificate.record.is_in(records))
            indexed.append(Certificate.record.is_in(records))
    else:  # many records: each certificate's own looked up (a walk), or all of them (a hash)
        row_by_row.append(
            WhereRaw(
                '(SELECT {} FROM "original_record" '
                'WHERE "original_record"."id" = "certificate"."record")',
                record_matches.querystring,
            )
        )
        indexed.append(Certificate.record.is_in(records))
    row_by_row.append(contains(Certificate.number, q))
    indexed.append(_number_contains(q))
    return Conditions(
        functools.reduce(operator.or_, row_by_row),
        functools.reduce(operator.or_, indexed),
        records_by_id=isinstance(records, list),
    )


# A search first walks the newest certificates, a bounded cost: its page among the newest
# PAGE_WINDOW (about a millisecond at any size), its count among the newest COUNT_WINDOW ("1000+"
# when they hold that many). A search whose page is not among them (few or old certificates:
# "JD2023" at the end of 2026) asks the indexes, whose cost grows with the certificates found.
PAGE_WINDOW = 2_000
COUNT_WINDOW = 10_000


async def _newest_from(n: int) -> int | None:
    """The id from which the newest ``n`` certificates start (None: there are fewer, so every
    certificate is among them)."""
    row = (
        await Certificate.select(Certificate.id)
        .order_by(Certificate.id, ascending=False)
        .offset(n - 1)
        .first()
    )
    return row["id"] if row else None


async def listed(
    columns: list[Any],
    where: list[Combinable],
    text: str,
    *,
    page_no: int,
    per_page: int,
    load_json: bool = False,
) -> tuple[list[dict[str, Any]], paging.Total]:
    """A page of certificates (``columns``, newest first, by the primary key so that a list at a
    million certificates stays fast) with ``where`` and the search ``text``, and the list's count:
    "10000+" without a search, "1000+" with one (a year's certificates match "2023")."""
    page_no = max(1, page_no)
    shown_up_to = page_no * per_page

    def chosen(*extra: Combinable) -> tuple[Select, Select]:
        query, ids = Certificate.select(*columns), Certificate.select(Certificate.id)
        for clause in [*where, *extra]:
            query, ids = query.where(clause), ids.where(clause)
        return query, ids

    async def page(query: Select) -> list[dict[str, Any]]:
        return await (
            query.order_by(Certificate.id, ascending=False)
            .limit(per_page)
            .offset((page_no - 1) * per_page)
            .output(load_json=load_json)
        )

    async def total(ids: Select, shown: int, cap: int) -> paging.Total:
        return await paging.page_total(
            ids, page_no=page_no, per_page=per_page, shown=shown, cap=cap
        )

    found = await conditions(text)
    if found is None:
        query, ids = chosen()
        rows = await page(query)
        return rows, await total(ids, len(rows), paging.COUNT_CAP)
    # When many records match, the indexes would read every one of them: walk further first.
    floor = await _newest_from(PAGE_WINDOW if found.records_by_id else COUNT_WINDOW)
    if floor is None:  # every certificate is among the newest
        query, ids = chosen(found.row_by_row)
        rows = await page(query)
        return rows, await total(ids, len(rows), COUNT_CAP)
    query, _ = chosen(found.row_by_row & (Certificate.id >= floor))
    rows = await page(query)
    if len(rows) < per_page:  # not a page among the newest: through the indexes
        query, ids = chosen(found.indexed)
        rows = await page(query)
        return rows, await total(ids, len(rows), COUNT_CAP)
    floor = await _newest_from(COUNT_WINDOW)
    newest = [found.row_by_row] if floor is None else [found.row_by_row & (Certificate.id >= floor)]
    _query, ids = chosen(*newest)
    counted = await paging.capped_count(ids, shown_up_to=shown_up_to, cap=COUNT_CAP)
    if counted.capped or floor is None:
        return rows, counted
    if not found.records_by_id:  # all the matching records would be read: "at least" these
        return rows, paging.Total(int(counted), capped=True)
    _query, ids = chosen(found.indexed)  # fewer than the cap among the newest: count them all
    return rows, await paging.capped_count(ids, shown_up_to=shown_up_to, cap=COUNT_CAP)
