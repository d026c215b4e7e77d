"""Piccolo app for the ledger feature."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.ledger.tables"], exclude_imported=True),
    migration_dependencies=["metrolab.accounts.piccolo_app", "metrolab.customers.piccolo_app"],
    commands=[],
)
