"""Piccolo app for the public services portal (检定申请)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="services",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.services.tables"], exclude_imported=True),
    migration_dependencies=["metrolab.business.piccolo_app", "metrolab.accounts.piccolo_app"],
    commands=[],
)
