"""Piccolo app for the quotations feature (报价单)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="quotations",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(modules=["metrolab.quotations.tables"], exclude_imported=True),
    migration_dependencies=[
        "metrolab.accounts.piccolo_app",
        "metrolab.customers.piccolo_app",
        "metrolab.business.piccolo_app",
        "metrolab.ledger.piccolo_app",
        "metrolab.certificates.piccolo_app",
    ],
    commands=[],
)
