"""The Jinja environment shared by every page: template folders of all features, i18n, helpers."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from metrolab.engine import forms as forms_engine
from metrolab.kernel import clock
from metrolab.paths import PACKAGE_DIR
from metrolab.settings import get_settings
from metrolab.web import i18n, labels
from metrolab.web.navigation import SideNav


def template_dirs() -> list[Path]:
    """web/templates first, then every feature's and the engine's `templates/` folders."""
    dirs = [PACKAGE_DIR / "web" / "templates"]
    dirs += sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "web")
    dirs += sorted(PACKAGE_DIR.glob("engine/*/templates"))
    return dirs


def upload_max_mb() -> str:
    """The upload limit as people read it ("10 MB"), for the too-large messages."""
    mb = get_settings().upload_max_bytes / (1024 * 1024)
    return f"{mb:g} MB"


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in template_dirs()]),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Shipped templates do not change under a running server: no stat() of each on every
        # render (debug, as `make run` developers edit them, keeps reloading).
        auto_reload=get_settings().debug,
    )
    env.globals.update(
        _=i18n.gettext,
        pick=i18n.pick,
        current_language=i18n.current_language,
        LANGUAGES=i18n.LANGUAGES,
        role_label=labels.role_label,
        roles_label=labels.roles_label,
        form_kind_label=labels.form_kind_label,
        lab_name=get_settings().lab_name,
        upload_max_mb=upload_max_mb,
        get_upload_max_bytes=lambda: get_settings().upload_max_bytes,
    )
    env.globals["side_nav"] = SideNav(env, i18n.current_language)
    env.filters["local_time"] = clock.shown  # ISO text or datetime: {{ ts.at|local_time }}
    # stored UTC → the lab's zone: {{ (x.at|local).strftime(…) }}
    env.filters["local"] = clock.local
    forms_engine.install(
        env
    )  # the form engine's partial needs its global (engine/*/templates are loaded above)
    return env


def template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(make_environment()))
