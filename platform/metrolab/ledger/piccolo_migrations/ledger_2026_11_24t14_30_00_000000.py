"""One customer's due instruments: (customer, status, next_due_on) replaces (customer, next_due_on).
Without the status column SQLite's planner prefers (status, next_due_on) and scans the whole lab."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table


class LedgerInstrument(Table, tablename="ledger_instrument", schema=None):
    pass


ID = "2026-11-24T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_instrument (customer, status, next_due_on) index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def create_index():
        await LedgerInstrument.raw(
            "CREATE INDEX IF NOT EXISTS ledger_instrument_customer_status_due "
            "ON ledger_instrument (customer, status, next_due_on)"
        )
        await LedgerInstrument.raw("DROP INDEX IF EXISTS ledger_instrument_customer_due")

    async def drop_index():
        await LedgerInstrument.raw(
            "CREATE INDEX IF NOT EXISTS ledger_instrument_customer_due ON ledger_instrument (customer, next_due_on)"
        )
        await LedgerInstrument.raw("DROP INDEX IF EXISTS ledger_instrument_customer_status_due")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
