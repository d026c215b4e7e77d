"""The 委托单 and 检定任务 lists at a million tasks (issue 15 target 5): paged and searched as the
certificate and record lists are (``kernel.listing``, ``business.lists``).

Everywhere: a task's entrustment, certificate and record — an entrustment's page, a certificate's
task and a search's matching entrustments and certificates look tasks up by them, which read every
task without; (assigned_to, id) — 只看我的 and 待编制 walk one verifier's tasks newest first; an
entrustment's customer. PostgreSQL: the 委托单号's suffix index (as the certificate number's), and
where pg_trgm can be used trigram indexes on the rest the search boxes read (the contact and phone;
a task's 出厂编号, name and model), so that a search the newest rows do not answer is one bitmap of
the list's indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes of the task and entrustment lists; trigram indexes of their searches"

INDEXES = {
    "verification_task_entrustment": "verification_task (entrustment)",
    "verification_task_certificate": "verification_task (certificate)",
    "verification_task_record": "verification_task (record)",
    "verification_task_assigned_to_id": "verification_task (assigned_to, id)",
    "entrustment_customer": "entrustment (customer)",
}
SUFFIX = "entrustment_number_suffix"
TRIGRAMS = {
    "entrustment_contact_trgm": "entrustment (contact)",
    "entrustment_phone_trgm": "entrustment (phone)",
    "verification_task_serial_trgm": "verification_task (serial)",
    "verification_task_name_trgm": "verification_task (name)",
    "verification_task_model_trgm": "verification_task (model)",
}


async def _create() -> None:
    from metrolab.business.tables import VerificationTask
    from metrolab.db import suffix_search_ready, trigram_ready

    engine = VerificationTask._meta.db
    for name, on in INDEXES.items():
        await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
    if await suffix_search_ready(engine):
        await engine.run_ddl(
            f"CREATE INDEX IF NOT EXISTS {SUFFIX} ON entrustment USING gin (metrolab_suffixes(number))"
        )
    if await trigram_ready(engine):
        for name, on in TRIGRAMS.items():
            table, column = on.split(" ", 1)
            await engine.run_ddl(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column[1:-1]} gin_trgm_ops)"
            )


async def _drop() -> None:
    from metrolab.business.tables import VerificationTask

    for name in [*INDEXES, SUFFIX, *TRIGRAMS]:
        await VerificationTask._meta.db.run_ddl(f"DROP INDEX IF EXISTS {name}")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="business", description=DESCRIPTION)
    manager.add_raw(_create)
    manager.add_raw_backwards(_drop)
    return manager
