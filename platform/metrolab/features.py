"""The one place that wires every feature: its routes, its navigation entries, its task counters."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Router

from metrolab.web.auth import CurrentUser
from metrolab.web.navigation import NavItem, TaskCounter, add_nav, add_tasks


async def _my_expiring_qualifications(user: CurrentUser) -> int:
    from metrolab.accounts.tables import Qualification

    soon = date.today() + timedelta(days=60)
    return await Qualification.count().where((Qualification.user == user.id) & (Qualification.valid_until <= soon))


def routers() -> list[Router]:
    from metrolab.accounts.routes import router as accounts
    from metrolab.customers.routes import router as customers
    from metrolab.lab.routes import router as lab

    add_nav(
        NavItem("业务管理", "客户", "/customers", "customers.view", 10),
        NavItem("办公管理", "工作人员", "/staff", "staff.view", 80),
        NavItem("办公管理", "角色与权限", "/roles", "staff.view", 81),
        NavItem("系统", "公共服务页面", "/lab/pages", "lab.manage", 90),
    )
    add_tasks(
        TaskCounter("my_qualifications_expiring", "我的资质 60 天内到期", "/me", "authenticated",
                    _my_expiring_qualifications, 900),
    )
    return [lab, accounts, customers]
