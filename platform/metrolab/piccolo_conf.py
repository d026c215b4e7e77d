"""Piccolo's configuration: the engine from the settings and every feature's app."""

from piccolo.conf.apps import AppRegistry

from metrolab.db import engine_from_url
from metrolab.settings import get_settings

DB = engine_from_url(get_settings().database_url)

from metrolab.features import PICCOLO_APPS  # noqa: E402

APP_REGISTRY = AppRegistry(apps=[f"metrolab.{name}.piccolo_app" for name in PICCOLO_APPS])
