"""A list of one table's rows, newest first, with a search box, fast at a million rows.

A search is two conditions that find the same rows (``Found``): one cheap to test row by row
while the newest rows are walked, one that the indexes can answer for rows that are few or old.
``newest_first`` walks first — the page among the newest ``PAGE_WINDOW`` rows, the count among
the newest ``COUNT_WINDOW`` — and asks the indexes only when the walk cannot finish the page: a
search the newest rows answer costs the same at any size, and one they do not costs what the
indexes find, never a walk past every newer row. Rows are ordered by the primary key (a lab
numbers what it makes in time order), which keeps the walk an index range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.columns import Column, ForeignKey
from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.query import OrderByRaw
from piccolo.query.methods.select import Select
from piccolo.table import Table

from metrolab.kernel import paging
from metrolab.kernel.literal import sql_literal

MAX_SEARCH = 200  # characters of a search box a query takes
# A search's or a filter's list counts to 1000 and says "1000+" beyond: "2023" matches a year of
# certificates, and walking them to 10000 costs ten times the page (a verifier's 待编制 through its
# certificates' states: 45 ms to 10000 at 1 M tasks). Deeper pages still count past themselves.
SEARCH_COUNT_CAP = 1000
TRIGRAM = 3  # characters a trigram index needs to look a search up
# Up to this many matching rows of another table (customers, records) are named by id, an indexed
# `= ANY` on the list's own column; more are asked as a sub-select (the same rows, a slower plan).
MAX_IDS = 1000
PAGE_WINDOW = 2_000
COUNT_WINDOW = 10_000


def searchable(text: str) -> str:
    """Search text as a database can take it: printable characters, at most 200."""
    return "".join(ch for ch in (text or "") if ch.isprintable())[:MAX_SEARCH].strip()


def equals(column: Column, value: int | str) -> WhereRaw:
    """``column = value`` with the value written into the statement (``kernel.literal`` says
    why: for a verifier with no records the generic plan walked every one, 173 ms at 1 M)."""
    return WhereRaw(f"{_own(column)} = {_in_template(sql_literal(value))}")


def among(column: Column, values: tuple[int | str, ...]) -> WhereRaw:
    """``column IN (values)``, written into the statement as ``equals`` is."""
    listed = ", ".join(_in_template(sql_literal(v)) for v in values)
    return WhereRaw(f"{_own(column)} IN ({listed})")


def _in_template(literal: str) -> str:
    """A literal as a Piccolo template holds it: its braces are text, not placeholders."""
    return literal.replace("{", "{{").replace("}", "}}")


def _own(column: Column) -> str:
    """The list's own column as SQL: a raw condition on a joined one would not bring its join."""
    if column._meta.call_chain:
        raise TypeError(f"{column._meta.name}: a literal filter names the list's own column")
    return column._meta.get_full_name(with_alias=False)


def through(foreign_key: ForeignKey, condition: Combinable) -> WhereRaw:
    """Whether the row ``foreign_key`` names matches ``condition`` (on that row's table), asked
    row by row: as the newest rows are walked each looks its one row up by key and only when the
    arms before it did not match, where a join may first read all of the other table (the planner
    hashed every entrustment to test the newest 10 000 tasks: 42 ms of 68)."""
    target = foreign_key._foreign_key_meta.resolved_references
    name, key = target._meta.tablename, target._meta.primary_key._meta.db_column_name
    fk = foreign_key._meta.get_full_name(with_alias=False)
    return WhereRaw(
        f'(SELECT {{}} FROM "{name}" WHERE "{name}"."{key}" = {fk})', condition.querystring
    )


async def ids_matching(
    table: type[Table], condition: Combinable, text: str | None = None
) -> list[int] | Select:
    """The ids of ``table``'s rows that match, or — more than ``MAX_IDS`` — the sub-select.
    ``text`` (what ``condition`` looks for in a big table) under three characters has no trigram
    to look up: naming its rows would read them all ("压测" at a million records: 1.2 s), so it
    stays the sub-select, for rows walked one by one."""
    key = table._meta.primary_key
    if text is not None and len(text) < TRIGRAM:
        return table.select(key).where(condition)
    ids = await table.select(key).where(condition).limit(MAX_IDS + 1).output(as_list=True)
    if len(ids) > MAX_IDS:
        return table.select(key).where(condition)
    return ids


@dataclass(frozen=True)
class Found:
    """What was typed, as two conditions that find the same rows."""

    row_by_row: Combinable
    indexed: Combinable
    # False when the indexed condition's count would read much more than it finds (a sub-select
    # of every record matching two digits): a count the walk cannot finish then says "more than n".
    countable: bool = True


async def _newest_from(table: type[Table], n: int) -> int | None:
    """The id from which the newest ``n`` rows start (None: there are fewer, so every row is
    among them)."""
    key = table._meta.primary_key
    row = await table.select(key).order_by(key, ascending=False).offset(n - 1).first()
    return row[key._meta.name] if row else None


async def newest_first(
    table: type[Table],
    columns: list[Any],
    where: list[Combinable],
    found: Found | None,
    *,
    page_no: int,
    per_page: int,
    load_json: bool = False,
    count_to: int | None = None,
) -> tuple[list[dict[str, Any]], paging.Total]:
    """A page of ``table``'s ``columns`` (newest first) with ``where`` and the search ``found``,
    and the list's count: "10000+" of every row, "1000+" with a search or a filter."""
    key = table._meta.primary_key
    page_no = max(1, page_no)
    shown_up_to = page_no * per_page
    # ``count_to``: a list that shows no count (the audit log) asks only past the page shown, which
    # is all that "is there a next page" needs.
    search_cap = SEARCH_COUNT_CAP if count_to is None else count_to
    list_cap = (SEARCH_COUNT_CAP if where else paging.COUNT_CAP) if count_to is None else count_to

    def chosen(*clauses: Combinable, shown: list[Any] | None = None) -> Select:
        """The rows with ``where`` and ``clauses``: a new query each time (a Piccolo query is
        changed by each clause added to it)."""
        query = table.select(*(columns if shown is None else shown))
        for clause in [*where, *clauses]:
            query = query.where(clause)
        return query

    # Through the indexes the rows are found first and then sorted: ordered by the key itself,
    # PostgreSQL may walk the key from the newest testing every row instead (a year's record
    # numbers at 1 M: 450 ms walking, 115 ms found then sorted).
    found_first = OrderByRaw(f"{key._meta.get_full_name(with_alias=False)} + 0")

    def ids(*clauses: Combinable) -> Select:
        return chosen(*clauses, shown=[key])

    async def page(*clauses: Combinable, indexed: bool = False) -> list[dict[str, Any]]:
        order = found_first if indexed else key
        if page_no == 1 and not indexed:  # the newest rows: joined as they are walked
            query = chosen(*clauses)
        else:
            # The page's keys first, then its rows: the joins of what is shown are made for
            # those rows alone, not for every row passed over or sorted ("YS2023" at 1 M
            # records: the customers and verifiers of 170 k records joined before the newest
            # 50 were taken).
            page_ids = await (
                ids(*clauses)
                .order_by(order, ascending=False)
                .limit(per_page)
                .offset((page_no - 1) * per_page)
                .output(as_list=True)
            )
            if not page_ids:
                return []
            query = table.select(*columns).where(key.is_in(page_ids))
        return await (
            query.order_by(order, ascending=False).limit(per_page).output(load_json=load_json)
        )

    async def total(ids: Select, shown: int, cap: int) -> paging.Total:
        return await paging.page_total(
            ids, page_no=page_no, per_page=per_page, shown=shown, cap=cap
        )

    if found is None:
        rows = await page()
        return rows, await total(ids(), len(rows), list_cap)
    # When the indexes would read far more than they find, walk further first.
    floor = await _newest_from(table, PAGE_WINDOW if found.countable else COUNT_WINDOW)
    if floor is None:  # every row is among the newest
        rows = await page(found.row_by_row)
        return rows, await total(ids(found.row_by_row), len(rows), search_cap)
    rows = await page(found.row_by_row & (key >= floor))
    if len(rows) < per_page:  # not a page among the newest: through the indexes
        rows = await page(found.indexed, indexed=True)
        return rows, await total(ids(found.indexed), len(rows), search_cap)
    floor = await _newest_from(table, COUNT_WINDOW)
    newest = found.row_by_row if floor is None else found.row_by_row & (key >= floor)
    counted = await paging.capped_count(ids(newest), shown_up_to=shown_up_to, cap=search_cap)
    if counted.capped or floor is None:
        return rows, counted
    if not found.countable:  # all the matching rows would be read: "at least" these
        return rows, paging.Total(int(counted), capped=True)
    # Fewer than the cap among the newest: the indexes count them all.
    return rows, await paging.capped_count(
        ids(found.indexed), shown_up_to=shown_up_to, cap=search_cap
    )
