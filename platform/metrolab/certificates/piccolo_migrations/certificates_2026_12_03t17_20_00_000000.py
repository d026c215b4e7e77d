"""Certificate lists and counters at a million certificates (issue 15 target 5).

Everywhere: (status, record) — the 待核验 / 待批准 counters join the record's verifier from this
index alone; (customer) and (record) — the search names matching customers and records by id.
PostgreSQL only (SQLite has no trigram index and scans, as before): pg_trgm GIN indexes for the
search's ILIKE '%…%' on the certificate number, the customer name and the record's serial, model
and instrument name. Without the right to create pg_trgm they are left out (searches stay correct,
only slower) and the migration says so."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T17:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "certificate (status, record), (customer), (record); trigram search indexes on PostgreSQL"

INDEXES = {
    "certificate_status_record": "certificate (status, record)",
    "certificate_customer": "certificate (customer)",
    "certificate_record": "certificate (record)",
}
TRIGRAM = {
    "certificate_number_trgm": ("certificate", "number"),
    "customer_name_trgm": ("customer", "name"),
    "original_record_serial_trgm": ("original_record", "serial"),
    "original_record_model_trgm": ("original_record", "model"),
    "original_record_instrument_name_trgm": ("original_record", "instrument_name"),
}


async def _create() -> None:
    from metrolab.certificates.tables import Certificate
    from metrolab.db import trigram_ready

    engine = Certificate._meta.db
    for name, on in INDEXES.items():
        await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
    if await trigram_ready(engine):
        for name, (table, column) in TRIGRAM.items():
            await engine.run_ddl(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
            )


async def _drop() -> None:
    from metrolab.certificates.tables import Certificate

    engine = Certificate._meta.db
    for name in [*INDEXES, *TRIGRAM]:
        await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="certificates", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
