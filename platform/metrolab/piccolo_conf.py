"""Piccolo's configuration: the engine from the settings and every feature's app."""

from piccolo.conf.apps import AppRegistry

from metrolab.db import engine_from_url
from metrolab.settings import get_settings

DB = engine_from_url(get_settings().database_url)

FEATURE_APPS = [
    "metrolab.audit.piccolo_app",
    "metrolab.accounts.piccolo_app",
    "metrolab.lab.piccolo_app",
    "metrolab.customers.piccolo_app",
]

APP_REGISTRY = AppRegistry(apps=FEATURE_APPS)
