"""Piccolo app for the records feature."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="records",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.records.tables"], exclude_imported=True),
    migration_dependencies=[
        "metrolab.accounts.piccolo_app",
        "metrolab.customers.piccolo_app",
        "metrolab.forms.piccolo_app",
    ],
    commands=[],
)
