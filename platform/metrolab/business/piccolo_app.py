"""Piccolo app for the business feature (entrustments, tasks, releases)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="business",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.business.tables"], exclude_imported=True),
    migration_dependencies=[
        "metrolab.accounts.piccolo_app",
        "metrolab.customers.piccolo_app",
        "metrolab.forms.piccolo_app",
        "metrolab.records.piccolo_app",
        "metrolab.certificates.piccolo_app",
    ],
    commands=[],
)
