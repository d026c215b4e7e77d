from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date

ID = "2026-11-24T14:56:34:947358"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="certificates", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Certificate",
        tablename="certificate",
        column_name="verified_on",
        db_column_name="verified_on",
        params={"index": True},
        old_params={"index": False},
        column_class=Date,
        old_column_class=Date,
        schema=None,
    )

    return manager
