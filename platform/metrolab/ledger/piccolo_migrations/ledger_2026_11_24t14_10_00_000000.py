"""The lab-wide due-date queries (task counter, due list): in-use instruments by next_due_on."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table


class LedgerInstrument(Table, tablename="ledger_instrument", schema=None):
    pass

ID = "2026-11-24T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_instrument (status, next_due_on) index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_index():
        await LedgerInstrument.raw(
            "CREATE INDEX IF NOT EXISTS ledger_instrument_status_due ON ledger_instrument (status, next_due_on)"
        )

    async def drop_index():
        await LedgerInstrument.raw("DROP INDEX IF EXISTS ledger_instrument_status_due")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
