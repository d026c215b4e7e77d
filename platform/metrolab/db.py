"""The database engine from the settings' URL (SQLite file or PostgreSQL), and its health check."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from metrolab.settings import redact_url


class DatabaseUnavailable(RuntimeError):
    pass


def engine_from_url(url: str) -> Engine:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: several requests may write at once on a small LAN.
        return SQLiteEngine(path=str(path), timeout=30)
    if scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": url}, log_queries=False)
    raise DatabaseUnavailable(
        f"不支持的数据库地址 {redact_url(url)}（应为 sqlite:///路径 或 postgresql://…）"
    )


async def check_database(engine: Engine, url: str) -> None:
    """Raise DatabaseUnavailable with the URL (password hidden) when the database cannot be reached."""
    try:
        await engine.run_ddl("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable" here
        raise DatabaseUnavailable(
            f"无法连接数据库 {redact_url(url)}：{exc.__class__.__name__}: {exc}"
        ) from exc
