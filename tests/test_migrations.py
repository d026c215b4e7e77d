"""Migrations match the tables: a column added to a Table without `make migration app=<app>` fails here.

Two views of the same promise, for every Piccolo app of metrolab:
- Piccolo's own auto-migration (what `piccolo migrations new <app> --auto` runs) replays the app's
  migration files into a schema snapshot and diffs it with the Table classes: it must find nothing.
- The database the suite migrated (SQLite or PostgreSQL, by METROLAB_TEST_DB) has exactly the
  tables and columns the Table classes declare.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from conftest import TEST_DB, run
from metrolab.features import PICCOLO_APPS


async def _alter_statements(app: str) -> list[str]:
    from piccolo.apps.migrations.commands.new import AutoMigrationManager
    from piccolo.conf.apps import Finder

    app_config = Finder().get_app_config(app_name=app)
    # auto_input answers Piccolo's "did you rename …?" prompts; the differ prints a summary table.
    with contextlib.redirect_stdout(io.StringIO()):
        found = await AutoMigrationManager(auto_input="n").get_alter_statements(
            app_config=app_config
        )
    return [statement for alter in found for statement in alter.statements]


@pytest.mark.parametrize("app", PICCOLO_APPS)
def test_auto_migration_finds_no_change(app):  # noqa: ANN001
    statements = run(_alter_statements(app))
    assert statements == [], (
        f"the tables of {app} differ from its migrations; "
        f"run `make migration app={app}`:\n" + "\n".join(statements)
    )


async def _database_columns(table) -> set[str]:  # noqa: ANN001
    """The columns a table stores as written; not those the database generates (such as
    certificate.verifier), which a Table does not declare because Piccolo would write them."""
    name = table._meta.tablename
    if TEST_DB == "postgres":
        rows = await table.raw(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = {} AND is_generated = 'NEVER'",
            name,
        )
    else:
        rows = await table.raw("SELECT name FROM pragma_table_info({})", name)
    return {row["name"] for row in rows}


@pytest.mark.parametrize("app", PICCOLO_APPS)
def test_the_migrated_database_has_the_columns_of_every_table(app, database):  # noqa: ANN001, ARG001
    from piccolo.conf.apps import Finder

    for table in Finder().get_app_config(app_name=app).table_classes:  # designer has none
        declared = {column._meta.db_column_name for column in table._meta.columns}
        assert run(_database_columns(table)) == declared, table._meta.tablename
