"""The record number searched by its suffixes (PostgreSQL), as the certificate number is
(certificates_2026_12_07t02): "YS2023" shares its trigrams ("202") with every record number, so the
trigram index of records_2026_12_07t10 read and rechecked them all; the suffix index reads the
numbers found, one range of it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "original_record number: suffix index in place of the trigram index"

SUFFIX = "original_record_number_suffix"
TRIGRAM = "original_record_number_trgm"


async def _create() -> None:
    from metrolab.db import suffix_search_ready
    from metrolab.records.tables import OriginalRecord

    engine = OriginalRecord._meta.db
    if not await suffix_search_ready(engine):
        return
    await engine.run_ddl(
        f"CREATE INDEX IF NOT EXISTS {SUFFIX} ON original_record USING gin (metrolab_suffixes(number))"
    )
    await engine.run_ddl(f"DROP INDEX IF EXISTS {TRIGRAM}")
    await engine.run_ddl("ANALYZE original_record")  # the planner's view of the new expression


async def _drop() -> None:
    from metrolab.db import trigram_ready
    from metrolab.records.tables import OriginalRecord

    engine = OriginalRecord._meta.db
    await engine.run_ddl(f"DROP INDEX IF EXISTS {SUFFIX}")
    if await trigram_ready(engine):  # put back what the earlier migration made
        await engine.run_ddl(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM} ON original_record USING gin (number gin_trgm_ops)"
        )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
