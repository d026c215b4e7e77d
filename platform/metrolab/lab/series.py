"""One allocator for every numbered series of the lab (委托单 WT…, 原始记录 YS…): a counter row per
series and year, incremented by one upsert inside the caller's transaction. On PostgreSQL the upsert
row-locks the counter until commit, so concurrent callers queue instead of colliding; on SQLite the
transaction is ``BEGIN IMMEDIATE`` (one writer at a time). A rolled-back transaction gives its number
back. Numbers already taken (made before the counter existed) are skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from metrolab.lab.tables import SeriesCounter


def numbering_transaction() -> Any:
    """The transaction to allocate and store a numbered row in (immediate on SQLite)."""
    engine = SeriesCounter._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def next_seq(series: str, year: int) -> int:
    rows = await SeriesCounter.raw(
        "INSERT INTO number_series_counter (key, last_seq) VALUES ({}, 1) "
        "ON CONFLICT (key) DO UPDATE SET last_seq = number_series_counter.last_seq + 1 "
        "RETURNING last_seq",
        f"{series}:{year}",
    )
    return int(rows[0]["last_seq"])


async def allocate(
    series: str, year: int, render: Callable[[int], str], taken: Callable[[str], Awaitable[bool]]
) -> str:
    """The next free number of ``series`` in ``year``; call inside :func:`numbering_transaction`."""
    while True:
        number = render(await next_seq(series, year))
        if not await taken(number):
            return number
