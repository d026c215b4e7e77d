from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T00:41:07:299552"
VERSION = "1.38.0"
DESCRIPTION = "printing has one state (the workflow's): print_status goes; reprints say why"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="certificates", description=DESCRIPTION
    )

    async def drop_print_status_index() -> None:
        # SQLite refuses to drop a column that an index still names.
        from metrolab.certificates.tables import Certificate

        await Certificate.raw("DROP INDEX IF EXISTS certificate_print_status")

    manager.add_raw(drop_print_status_index)

    manager.drop_column(
        table_class_name="Certificate",
        tablename="certificate",
        column_name="print_status",
        db_column_name="print_status",
        schema=None,
    )

    manager.add_column(
        table_class_name="PrintLog",
        tablename="certificate_print_log",
        column_name="reason",
        db_column_name="reason",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
