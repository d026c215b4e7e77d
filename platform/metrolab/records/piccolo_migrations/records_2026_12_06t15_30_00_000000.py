from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "original_record: draft_page, draft_seq (the last autosave kept)"


def _params(default: object, **extra: object) -> dict:
    return {
        "default": default,
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)
    manager.add_column(
        table_class_name="OriginalRecord",
        tablename="original_record",
        column_name="draft_page",
        db_column_name="draft_page",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params("", length=32),
        schema=None,
    )
    manager.add_column(
        table_class_name="OriginalRecord",
        tablename="original_record",
        column_name="draft_seq",
        db_column_name="draft_seq",
        column_class_name="Integer",
        column_class=Integer,
        params=_params(0),
        schema=None,
    )
    return manager
