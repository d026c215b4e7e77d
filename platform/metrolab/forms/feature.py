"""The forms feature: versioned form definitions, their review and publication (§5.1, §6.1)."""

from typing import TYPE_CHECKING

from piccolo.query.methods.count import Count

from metrolab.forms.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.navigation import NavItem, TaskCounter

if TYPE_CHECKING:
    from metrolab.workflows.services import EffectCall

PERMISSIONS = {
    "forms.view": ("查看表单定义", "View form definitions"),
    "forms.design": (
        "设计表单（新建、修改、提交审核、停用）",
        "Design forms (draft, submit, retire)",
    ),
    "forms.review": ("审核表单模板", "Review form templates"),
}
NAV = [NavItem("系统", "表单定义", "/forms", "forms.view", 70)]


def _in_review(user: CurrentUser) -> Count:
    from metrolab.forms.services import count_in_review

    return count_in_review(exclude_author=user.id)


def _returned(user: CurrentUser) -> Count:
    from metrolab.forms.services import count_returned

    return count_returned(user.id)


TASKS = [
    TaskCounter(
        "forms_in_review", "待审核的表单模板", "/forms/review", "forms.review", _in_review, 30
    ),
    TaskCounter(
        "forms_returned", "被退回的表单草稿", "/forms/returned", "forms.design", _returned, 31
    ),
]


async def _seed_forms() -> int:
    from metrolab.forms.services import seed_shipped_forms

    return await seed_shipped_forms()


SEEDERS = [("forms", _seed_forms)]


async def _retire_previous(call: "EffectCall") -> None:
    from metrolab.forms.services import retire_previous

    await retire_previous(call)


EFFECTS = {"retire_previous_form_version": _retire_previous}


async def _record_form_keys() -> list[str]:
    from metrolab.forms.tables import FormDefinition

    return [
        r["key"]
        for r in await FormDefinition.select(FormDefinition.key).where(
            FormDefinition.kind == "record"
        )
    ]


# The indicators editor suggests record-form keys: these are the ones kept in the database.
HOOKS = {"indicators.record_form_keys": [_record_form_keys]}
__all__ = ["router"]
