"""One search for every list of certificates (证书进度, 证书查询/打印): what a person types finds a
certificate by its number, the customer, the instrument's 出厂编号, model or name (the type's name too).
What is typed is taken literally (``kernel.matching``): % and _ are characters, not wildcards."""

from __future__ import annotations

import functools
import json
import operator

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


def counted(ids: Select, text: str) -> tuple[Select, int]:
    """How a list of certificates is counted: ``ids`` and the cap. A search counts to its own
    cap, newest first as its pages show them — left to itself, PostgreSQL may count in the
    number index's order, where "2023" starts behind every JD2020-… to JD2022-…"""
    if not searchable(text):
        return ids, paging.COUNT_CAP
    return ids.order_by(Certificate.id, ascending=False), COUNT_CAP


def searchable(text: str) -> str:
    """Search text as a database can take it: printable characters, at most 200."""
    return "".join(ch for ch in (text or "") if ch.isprintable())[:MAX_SEARCH].strip()


# A number search the planner expects to match fewer certificates than this goes through the
# number's suffix index (its cost grows with the rows found); more, and walking the newest
# certificates until the page and the count are full is quicker (its cost falls as they grow).
SUFFIX_INDEX_ROWS = 15_000


async def _number_contains(q: str) -> Combinable:
    """Certificates whose number contains ``q``.

    On PostgreSQL a rare ``q`` is one range of the suffix index (a number contains q when one of
    its suffixes begins with q). Each suffix is unique, so the planner cannot tell a rare q from
    one shared by a year's numbers ("JD2023") and would read 100 k rows through the index for the
    latter; its estimate for the plain ILIKE, from the column's histogram, can, so it is asked
    first (one planning round trip, no rows read)."""
    plain = contains(Certificate.number, q)
    if not isinstance(Certificate._meta.db, PostgresEngine):
        return plain
    explained = await Certificate.raw(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM certificate WHERE " + plain.querystring.template,
        *plain.querystring.args,
    )
    expected = json.loads(next(iter(explained[0].values())))[0]["Plan"]["Plan Rows"]
    if expected >= SUFFIX_INDEX_ROWS:
        return plain
    return WhereRaw('metrolab_suffixes("certificate"."number") @@ metrolab_prefix_query({})', q)


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
    (the number's suffixes, its customer and record columns) instead of reading every
    certificate through two joins; the rows found are the same."""
    from metrolab.forms import catalogue
    from metrolab.records.tables import OriginalRecord

    q = searchable(text)
    if not q:
        return None
    # The id tests come first: PostgreSQL tests an OR's arms in the order written, and a row
    # that has the customer asked for is then kept without building its number's suffixes.
    found: list[Combinable] = []
    if customers := await _ids(Customer, contains(Customer.name, q)):
        found.append(Certificate.customer.is_in(customers))
    records = await _ids(
        OriginalRecord,
        contains(OriginalRecord.serial, q)
        | contains(OriginalRecord.model, q)
        | contains(OriginalRecord.instrument_name, q),
    )
    if records:
        found.append(Certificate.record.is_in(records))
    types = [
        t["code"]
        for t in await catalogue.list_types()
        if q.lower() in catalogue.type_name(t).lower() or q.lower() == t["code"].lower()
    ]
    if types:
        found.append(Certificate.instrument_type.is_in(types))
    found.append(await _number_contains(q))
    return functools.reduce(operator.or_, found)
