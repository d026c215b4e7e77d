"""Piccolo app for the office feature."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="office",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.office.tables"], exclude_imported=True),
    migration_dependencies=["metrolab.accounts.piccolo_app"],
    commands=[],
)
