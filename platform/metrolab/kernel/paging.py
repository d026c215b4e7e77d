"""A list's size, counted only as far as a page needs.

An exact ``count(*)`` of a million certificates costs more than the page it is shown on (over
100 ms on PostgreSQL, every page). A list counts up to ``COUNT_CAP`` rows (or past the page being
shown, for a deep page) and says "10000+" beyond; an export still takes every row.
"""

from __future__ import annotations

from typing import Any

from piccolo.query.methods.select import Select

COUNT_CAP = 10_000


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

    def as_json(self) -> dict[str, Any]:
        return {"total": int(self) - 1 if self.capped else int(self), "total_capped": self.capped}


async def capped_count(ids: Select, *, shown_up_to: int = 0) -> Total:
    """How many rows ``ids`` (a one-column select, filtered) has, up to the cap or up to the last
    row of the page shown (``shown_up_to``), whichever is further."""
    cap = max(COUNT_CAP, shown_up_to)
    table = ids.table
    inner = ids.limit(cap + 1).querystrings[0]
    rows = await table.raw("SELECT count(*) AS n FROM ({}) AS capped", inner)
    n = int(rows[0]["n"])
    return Total(cap + 1, capped=True) if n > cap else Total(n)
