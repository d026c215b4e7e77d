"""The audit log at millions of events (issue 15 target 5): its list is walked as every growing
list is (``kernel.listing``); an actor the newest events do not have is found through the indexes —
on PostgreSQL, where pg_trgm can be used, a trigram index on the actor's name as it was recorded
(a person since renamed or deleted is still found by the name they acted under)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit_event: trigram index on actor_name"

TRIGRAM = "audit_event_actor_name_trgm"


async def _create() -> None:
    from metrolab.audit.tables import AuditEvent
    from metrolab.db import trigram_ready

    engine = AuditEvent._meta.db
    if await trigram_ready(engine):
        await engine.run_ddl(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM} ON audit_event USING gin (actor_name gin_trgm_ops)"
        )


async def _drop() -> None:
    from metrolab.audit.tables import AuditEvent

    await AuditEvent._meta.db.run_ddl(f"DROP INDEX IF EXISTS {TRIGRAM}")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
