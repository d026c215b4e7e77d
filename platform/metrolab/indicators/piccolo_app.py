"""Piccolo app for the indicators feature (指标库)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="indicators",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.indicators.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
