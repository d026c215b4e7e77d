"""One link per position of an audit chain (chain, seq): two writers can never fork a chain."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T04:06:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit chains: unique (chain, seq)"


async def _unique_links():
    """One link per position of a chain: two writers can never fork it."""
    from metrolab.audit.tables import ChainEntry

    engine = ChainEntry._meta.db
    await engine.run_ddl(
        "CREATE UNIQUE INDEX audit_chain_entry_chain_seq ON audit_chain_entry (chain, seq)"
    )
    await engine.run_ddl(
        "CREATE INDEX audit_chain_entry_chain_object ON audit_chain_entry (chain, object_id)"
    )


async def _drop_unique_links():
    from metrolab.audit.tables import ChainEntry

    engine = ChainEntry._meta.db
    await engine.run_ddl("DROP INDEX IF EXISTS audit_chain_entry_chain_seq")
    await engine.run_ddl("DROP INDEX IF EXISTS audit_chain_entry_chain_object")



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)
    manager.add_raw(_unique_links)
    manager.add_raw_backwards(_drop_unique_links)
    return manager
