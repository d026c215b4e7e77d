"""The database engine from the settings' URL (SQLite file or PostgreSQL), and its health check."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

from metrolab.settings import get_settings, redact_url


class DatabaseUnavailable(RuntimeError):
    pass


def engine_from_url(url: str) -> Engine:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _use_wal(path)
        # A generous busy timeout: several requests may write at once on a small LAN.
        return HeldSQLiteEngine(path=str(path), timeout=30)
    if scheme in {"postgres", "postgresql"}:
        return LoopPooledPostgresEngine(config={"dsn": url}, log_queries=False)
    raise DatabaseUnavailable(
        f"不支持的数据库地址 {redact_url(url)}（应为 sqlite:///路径 或 postgresql://…）"
    )


def _use_wal(path: Path) -> None:
    """Write-ahead logging: readers no longer wait for a writer (the mode is kept in the file)."""
    with sqlite3.connect(path, timeout=30) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


class HeldSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine opens a connection, and a thread, for every query (about 1 ms each,
    most of a page's time). This one keeps up to `HELD` connections open and reuses them for queries
    outside a transaction; a transaction still gets a connection of its own, as in Piccolo.

    A SELECT outside a transaction first runs on the event loop's own thread, on a plain sqlite3
    connection (`InlineReads`): a page's reads take tens of microseconds, while the hop to an
    aiosqlite thread and back (queue, wake-up, the GIL handed over twice) cost several times that.
    A read that runs past `InlineReads.BUDGET_S`, or meets a lock, is stopped and run again on a
    held connection's thread, so a long statistics query never holds the other requests."""

    HELD = 16  # at 4, ten busy clients kept opening and closing the rest: 485 → 782 req/s home

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._inline = InlineReads(self.connection_kwargs)

    async def _take(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        connection = aiosqlite.connect(**self.connection_kwargs)
        # A held connection lives as long as the process: its worker thread must not keep the
        # process from exiting (committed data is safe in the WAL file; nothing is pending).
        connection._thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        if len(self._idle) < self.HELD:
            self._idle.append(connection)
        else:
            await connection.close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if (inline := self._inline.select(query, args or [])) is not None:
            return inline
        connection = await self._take()
        rows: Any
        try:
            if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING yet
                async with connection.execute(query, args or []) as cursor:
                    await connection.commit()
                    column = table._meta.primary_key._meta.db_column_name
                    rows = [{column: await self._get_inserted_pk(cursor, table)}]
            else:
                # One trip to the connection's thread (execute + fetch), and a commit only when
                # the statement opened a transaction: a read costs one hop, not four.
                rows = await connection.execute_fetchall(query, args or [])
                if connection.in_transaction:
                    await connection.commit()
        except BaseException:
            await (
                connection.close()
            )  # a failed statement may leave it mid-transaction: start afresh
            raise
        await self._give_back(connection)
        return rows

    async def close_held(self) -> None:
        self._inline.close()
        while self._idle:
            await self._idle.pop().close()


class InlineReads:
    """Short SELECTs on the calling thread, one plain sqlite3 connection per thread (each event
    loop's). `select` answers None when the statement is not a plain read, ran past the budget or
    found the database locked: the caller then runs it on a worker thread as before. WAL mode
    gives each statement a snapshot of what was committed, as on any other connection."""

    BUDGET_S = 0.002  # longer reads are interrupted and go to a thread
    STEPS = 1000  # SQLite VM instructions between looks at the clock (a few microseconds)

    def __init__(self, connection_kwargs: dict[str, Any]) -> None:
        # No busy wait on the loop: a lock (rare in WAL, e.g. during a checkpoint) goes to a thread.
        self._kwargs = {**connection_kwargs, "timeout": 0}
        self._local = threading.local()

    def select(self, query: str, args: list[Any]) -> list[dict] | None:
        if query.lstrip()[:6].upper() != "SELECT":
            return None
        connection = self._connection()
        deadline = time.perf_counter() + self.BUDGET_S
        stopped = False

        def past_budget() -> int:
            nonlocal stopped
            stopped = time.perf_counter() > deadline
            return stopped

        connection.set_progress_handler(past_budget, self.STEPS)
        try:
            return connection.execute(query, args).fetchall()
        except sqlite3.OperationalError as error:
            if stopped or "locked" in str(error):
                return None
            raise
        finally:
            connection.set_progress_handler(None, 0)

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(**self._kwargs)
            connection.row_factory = dict_factory
            connection.execute("PRAGMA foreign_keys = 1")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        if (connection := getattr(self._local, "connection", None)) is not None:
            connection.close()
            self._local.connection = None


class LoopPooledPostgresEngine(PostgresEngine):
    """Piccolo's engine keeps one pool, but an asyncpg pool works only on the event loop that made
    it. This one keeps a pool per loop, so every app lifespan (`metrolab serve`'s single loop, a
    test client's portal, a live server's thread) opens and closes its own; a loop without one
    (a script's asyncio.run) connects per query, as Piccolo does without a pool."""

    def __init__(self, **kwargs: Any) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        super().__init__(**kwargs)

    @property
    def pool(self) -> Any:
        try:
            return self._pools.get(asyncio.get_running_loop())
        except RuntimeError:
            return None

    @pool.setter
    def pool(self, value: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # Piccolo's __init__ (no loop yet): no pool
        if value is None:
            self._pools.pop(loop, None)
        else:
            self._pools[loop] = value


async def open_pool() -> None:
    """The PostgreSQL connection pool of this event loop, as `metrolab serve` runs (unless
    METROLAB_DB_POOL=0). Benchmarks open it too, so they measure what is served."""
    from metrolab.piccolo_conf import DB

    if isinstance(DB, PostgresEngine) and get_settings().db_pool and DB.pool is None:
        await DB.start_connection_pool(min_size=1, max_size=20, reset=_reset_on_release)


async def _reset_on_release(connection: Any) -> None:
    """What a connection given back to the pool needs here: no open transaction. asyncpg's default
    reset (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET ALL) is a round trip after every pooled
    query — a third of an approval's; this app takes only transaction-scoped locks
    (pg_advisory_xact_lock), sets no session state and listens on its own connections
    (procrastinate's psycopg pool)."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def close_pool() -> None:
    from metrolab.piccolo_conf import DB

    if isinstance(DB, PostgresEngine) and DB.pool is not None:
        await DB.close_connection_pool()


async def check_database(engine: Engine, url: str) -> None:
    """Raise DatabaseUnavailable with the URL (password hidden) when the database cannot be reached."""
    try:
        await engine.run_ddl("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable" here
        raise DatabaseUnavailable(
            f"无法连接数据库 {redact_url(url)}：{exc.__class__.__name__}: {exc}"
        ) from exc


# Number search by suffix (certificates_2026_12_07t02 says why): the functions an index of every
# suffix of a number is made with, and its query "a suffix begins with q".
SUFFIX_FUNCTIONS = (
    # Every suffix of the lower-cased text, each a lexeme as it is (array_to_tsvector does not
    # parse, so '-' and spaces stay); STRICT: an unnumbered row has no entry.
    "CREATE OR REPLACE FUNCTION metrolab_suffixes(text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT array_to_tsvector(ARRAY(SELECT substr(lower($1), i) "
    "FROM generate_series(1, length($1)) AS i)) $$",
    # The query "a suffix begins with lower(q)": q as one quoted lexeme with a prefix match, its
    # quotes and backslashes escaped, lower-cased by the same lower() as the index.
    "CREATE OR REPLACE FUNCTION metrolab_prefix_query(text) RETURNS tsquery "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT ('''' || replace(replace(lower($1), '\\', '\\\\'), '''', '''''') || ''':*')::tsquery $$",
)


async def suffix_search_ready(engine: Engine) -> bool:
    """Whether a number's suffix index can be made here (PostgreSQL: its functions are made or
    replaced now, by whichever migration asks first). SQLite searches numbers by LIKE."""
    if not isinstance(engine, PostgresEngine):
        return False
    for sql in SUFFIX_FUNCTIONS:
        await engine.run_ddl(sql)
    return True


async def trigram_ready(engine: Engine) -> bool:
    """Whether pg_trgm's index operators can be used (made here when the role may create it):
    migrations that add trigram search indexes ask first. Without it searches stay correct, only
    slower, and the migration says so."""
    if not isinstance(engine, PostgresEngine):
        return False
    rows = await engine.run_ddl(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed, "
        "EXISTS (SELECT 1 FROM pg_available_extension_versions WHERE name = 'pg_trgm' "
        "AND (trusted OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))) "
        "AND has_database_privilege(current_database(), 'CREATE') AS creatable"
    )
    if rows[0]["installed"]:
        return True
    if rows[0]["creatable"]:
        await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    print("pg_trgm cannot be created here: searches scan (no trigram index)")
    return False
