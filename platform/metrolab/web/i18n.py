"""Translations. Messages are written in 简体中文 (the product's language) and translated to English
through a Babel catalogue (locale/en/LC_MESSAGES/messages.po), read directly so no build step is needed."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache

from babel.messages.pofile import read_po

from metrolab.paths import PACKAGE_DIR

LANGUAGES = {"zh": "简体中文", "en": "English"}
_current: ContextVar[str] = ContextVar("metrolab_language", default="zh")


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else "zh")


def current_language() -> str:
    return _current.get()


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    path = PACKAGE_DIR / "locale" / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        cat = read_po(f)
    return {
        m.id: m.string
        for m in cat
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


def gettext(message: str, **values: object) -> str:
    lang = _current.get()
    text = message if lang == "zh" else catalogue(lang).get(message, message)
    return text.format(**values) if values else text


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for the catalogue where it is translated later (navigation, titles)."""
    return message


def pick(labels: dict[str, str] | str | None, lang: str | None = None) -> str:
    """Choose the label for the current language from a {"zh":…, "en":…} mapping (definitions' labels)."""
    if labels is None:
        return ""
    if isinstance(labels, str):
        return labels
    lang = lang or _current.get()
    return labels.get(lang) or labels.get("zh") or next(iter(labels.values()), "")
