"""The 原始记录 list at a million records (issue 15 target 5): the list is paged and searched as the
certificate lists are (``kernel.listing``), on the record's own columns.

Everywhere: (customer) — the search names the matching customers by id; (verifier, id) — 我的记录
and 我的草稿 walk one verifier's records newest first, not every record. PostgreSQL, where pg_trgm
can be used: a trigram index on the record number, beside those on serial, model and instrument
name (certificates_2026_12_03t17_20), so that a search the newest records do not answer is one
bitmap of the record's indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "original_record (customer), (verifier, id); trigram index on the number"

INDEXES = {
    "original_record_customer": "original_record (customer)",
    "original_record_verifier_id": "original_record (verifier, id)",
}
TRIGRAM = "original_record_number_trgm"


async def _create() -> None:
    from metrolab.db import trigram_ready
    from metrolab.records.tables import OriginalRecord

    engine = OriginalRecord._meta.db
    for name, on in INDEXES.items():
        await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
    if await trigram_ready(engine):
        await engine.run_ddl(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM} ON original_record USING gin (number gin_trgm_ops)"
        )


async def _drop() -> None:
    from metrolab.records.tables import OriginalRecord

    for name in [*INDEXES, TRIGRAM]:
        await OriginalRecord._meta.db.run_ddl(f"DROP INDEX IF EXISTS {name}")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
