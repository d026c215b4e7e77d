"""The accounts feature: sign-in, staff, roles, qualifications."""

from datetime import date, timedelta

from piccolo.query.methods.count import Count

from metrolab.accounts.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "staff.view": ("查看工作人员", "View staff"),
    "staff.manage": ("管理工作人员、角色与资质", "Manage staff, roles and qualifications"),
}
NAV = [
    NavItem(N_("办公管理"), N_("工作人员"), "/staff", "staff.view", 80),
    NavItem(N_("办公管理"), N_("角色与权限"), "/roles", "staff.view", 81),
]


def _my_expiring_qualifications(user: CurrentUser) -> Count:
    from metrolab.accounts.tables import Qualification

    soon = date.today() + timedelta(days=60)
    return Qualification.count().where(
        (Qualification.user == user.id) & (Qualification.valid_until <= soon)
    )


TASKS = [
    TaskCounter(
        "my_qualifications_expiring",
        N_("我的资质 60 天内到期"),
        "/me",
        "authenticated",
        _my_expiring_qualifications,
        900,
    )
]


async def _seed_roles() -> int:
    from metrolab.seed import seed_roles

    return await seed_roles()


SEEDERS = [("roles", _seed_roles)]
__all__ = ["router"]
