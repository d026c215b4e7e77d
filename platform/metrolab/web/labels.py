"""Labels of the codes every page may show: roles and form categories. A page never shows the code.

Role names are the role table's (seeded from seed_data/roles.json; the administrator edits a role's
permissions, not its name), read once when the app starts (`load_roles`). Form categories are the
form engine's (`engine.forms.model.KIND_LABELS`)."""

from __future__ import annotations

from collections.abc import Iterable

from metrolab.engine.forms.model import KIND_LABELS
from metrolab.web.i18n import current_language

_ROLES: dict[str, tuple[str, str]] = {}  # key → (中文, English)


async def load_roles() -> None:
    from metrolab.accounts.tables import Role

    rows = await Role.select(Role.key, Role.name_zh, Role.name_en)
    _ROLES.clear()
    _ROLES.update({r["key"]: (r["name_zh"], r["name_en"] or r["name_zh"]) for r in rows})


def role_label(code: str, lang: str | None = None) -> str:
    zh, en = _ROLES.get(code) or (code, code)  # a role not in the table has only its code
    return en if (lang or current_language()) == "en" else zh


def roles_label(codes: Iterable[str], lang: str | None = None) -> str:
    lang = lang or current_language()
    return (", " if lang == "en" else "、").join(role_label(c, lang) for c in codes)


def form_kind_label(kind: str, lang: str | None = None) -> str:
    zh, en = KIND_LABELS.get(kind) or ("其他", "Other")
    return en if (lang or current_language()) == "en" else zh
