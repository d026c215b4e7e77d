"""SQLite: short reads run on the event loop's thread, long ones on a worker thread (db.InlineReads).
What a user would notice: a page sees what was just saved, and one slow report does not hold
everyone else's pages."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import TEST_DB, run
from metrolab.customers.tables import Customer

pytestmark = pytest.mark.skipif(TEST_DB != "sqlite", reason="the SQLite engine's read path")

# About a second of SQLite work, in one SELECT (a CTE inside a subquery: the statement is a read).
SLOW = (
    "SELECT n FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 3000000) SELECT count(*) AS n FROM c)"
)


def test_a_read_sees_what_was_just_written(db):
    async def go() -> list[str]:
        await Customer.insert(Customer(name="读写一致煤矿"))
        await Customer.update({Customer.address: "邯郸市"}).where(Customer.name == "读写一致煤矿")
        rows = await Customer.select(Customer.address).where(Customer.name == "读写一致煤矿")
        return [r["address"] for r in rows]

    assert run(go()) == ["邯郸市"]


def test_a_slow_read_does_not_hold_the_short_ones(db):
    """Without the budget the slow statement would run on the loop's thread and every other
    query would wait for it."""

    async def go() -> tuple[int, bool, float]:
        slow = asyncio.ensure_future(Customer.raw(SLOW).run())
        await asyncio.sleep(0.05)  # the slow read is under way
        started = time.perf_counter()
        await Customer.count()
        short_took = time.perf_counter() - started
        overtaken = not slow.done()
        rows = await slow
        return rows[0]["n"], overtaken, short_took

    n, overtaken, short_took = run(go())
    assert n == 3000000  # interrupted on the loop, the slow read still answered in full
    assert overtaken, "the short count waited for the slow read"
    assert short_took < 0.5


def test_a_bad_statement_reports_its_error(db):
    async def go() -> None:
        await Customer.raw("SELECT no_such_column FROM customer")

    with pytest.raises(Exception, match="no_such_column"):
        run(go())
