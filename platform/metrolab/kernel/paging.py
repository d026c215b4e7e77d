"""A list's size, counted only as far as a page needs.

An exact ``count(*)`` of a million certificates costs more than the page it is shown on (over
100 ms on PostgreSQL, every page). A list counts up to ``COUNT_CAP`` rows (or past the page being
shown, for a deep page) and says "10000+" beyond; an export still takes every row.
"""

from __future__ import annotations

from typing import Any

from piccolo.query.methods.count import Count
from piccolo.query.methods.select import Select
from piccolo.querystring import QueryString

COUNT_CAP = 10_000
# A home-page badge says how much work waits, as an inbox does: "999+" is as useful as "10000+"
# and, at a million certificates, a tenth of the rows to walk for each counter on every home page.
BADGE_CAP = 999


class Total(int):
    """A count that knows whether it stopped at the cap. As an int it is one more than the cap
    when it did, so "is there a next page" stays ``page_no * per_page < total``."""

    capped: bool

    def __new__(cls, n: int, capped: bool = False) -> Total:  # noqa: FBT001, FBT002
        self = super().__new__(cls, n)
        self.capped = capped
        return self

    def __str__(self) -> str:
        return f"{int(self) - 1}+" if self.capped else str(int(self))

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(int(self), spec)

    def pages(self, per_page: int) -> Total:
        """Pages of ``per_page`` rows, at least one ("201+" when the count stopped)."""
        n = max(1, -(-int(self) // per_page))
        return Total(n + 1 if self.capped else n, self.capped)

    def as_json(self, name: str = "total") -> dict[str, Any]:
        """``{name: n, name_capped: bool}``: n is the cap when the count stopped there."""
        return {name: int(self) - 1 if self.capped else int(self), f"{name}_capped": self.capped}


def envelope(items: list[Any], total: Total, page_no: int, per_page: int) -> dict[str, Any]:
    """A page as every API list answers it: ``items``, ``total`` (``total_capped`` when the count
    stopped: "more than"), ``pages`` and ``page``."""
    return {"items": items, **total.as_json(), "pages": int(total.pages(per_page)), "page": page_no}


def capped_count_statement(count: Count, cap: int | None = None) -> QueryString:
    """A Piccolo ``count()`` query that stops at ``cap + 1`` rows, as a statement that can stand
    as a scalar subquery (the home page asks all its counters in one)."""
    cap = COUNT_CAP if cap is None else cap
    table = count.table
    ids = table.select(table._meta.primary_key)
    ids.where_delegate._where = count.where_delegate._where
    inner = ids.limit(cap + 1).querystrings[0]
    return QueryString("SELECT count(*) FROM ({}) AS capped", inner)


def as_total(n: int, cap: int | None = None) -> Total:
    """A count read from a capped statement."""
    cap = COUNT_CAP if cap is None else cap
    return Total(cap + 1, capped=True) if n > cap else Total(n)


async def capped_count(ids: Select, *, shown_up_to: int = 0, cap: int | None = None) -> Total:
    """How many rows ``ids`` (a one-column select, filtered) has, up to ``cap`` (the list cap
    unless told) or up to the last row of the page shown (``shown_up_to``), whichever is further."""
    cap = max(COUNT_CAP if cap is None else cap, shown_up_to)
    table = ids.table
    inner = ids.limit(cap + 1).querystrings[0]
    rows = await table.raw("SELECT count(*) AS n FROM ({}) AS capped", inner)
    return as_total(int(rows[0]["n"]), cap)


async def page_total(
    ids: Select, *, page_no: int, per_page: int, shown: int, cap: int | None = None
) -> Total:
    """The list's size for a page that showed ``shown`` rows: a page that is not full is the
    last, so its rows end the count (a narrow search asks the database once, not twice)."""
    if shown < per_page and (shown or page_no == 1):
        return Total((page_no - 1) * per_page + shown)
    return await capped_count(ids, shown_up_to=page_no * per_page, cap=cap)
