"""The records' statistics index (issue 15 target 5): 统计分析 over 原始记录 groups a saved record's
own columns (``statistics.queries``), which this partial index holds, so a year at 1 M records is
one index-only scan instead of reading the table (89 → 20 ms)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "original_record: the statistics index"

POSTGRES = (
    "CREATE INDEX IF NOT EXISTS original_record_statistics ON original_record "
    "(verified_on, conclusion) INCLUDE (instrument_type, customer, verifier) "
    "WHERE status = 'saved'"
)
SQLITE = (  # no INCLUDE: the columns are keys
    "CREATE INDEX IF NOT EXISTS original_record_statistics ON original_record "
    "(verified_on, conclusion, instrument_type, customer, verifier) WHERE status = 'saved'"
)


async def _create() -> None:
    from piccolo.engine.postgres import PostgresEngine

    from metrolab.records.tables import OriginalRecord

    engine = OriginalRecord._meta.db
    await engine.run_ddl(POSTGRES if isinstance(engine, PostgresEngine) else SQLITE)


async def _drop() -> None:
    from metrolab.records.tables import OriginalRecord

    await OriginalRecord._meta.db.run_ddl("DROP INDEX IF EXISTS original_record_statistics")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
