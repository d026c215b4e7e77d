"""The indicator database feature (指标库, DB1304/T 505 §5.4.2, §5.4.3): instrument types with their
verification items and test points, and the lab's measurement standards."""

from piccolo.query.methods.count import Count

from metrolab.indicators.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "indicators.view": ("查看指标库（器具类型、检定项目、标准器）", "View the indicator database"),
    "indicators.manage": (
        "维护指标库（器具类型、检定项目、标准器）",
        "Maintain the indicator database",
    ),
}
NAV = [
    NavItem(N_("基础数据"), N_("器具类型"), "/instrument-types", "indicators.view", 20),
    NavItem(N_("基础数据"), N_("标准器"), "/standards", "indicators.view", 21),
]


def _expiring_standards(user: CurrentUser) -> Count:  # noqa: ARG001 - the same list for every manager
    from metrolab.indicators.services import count_expiring_standards

    return count_expiring_standards()


TASKS = [
    TaskCounter(
        "standards_expiring",
        N_("标准器 60 天内到期"),
        "/standards/expiring",
        "indicators.manage",
        _expiring_standards,
        300,
    )
]


async def _seed_instrument_types() -> int:
    from metrolab.indicators.services import seed_instrument_types

    return await seed_instrument_types()


async def _seed_standards() -> int:
    from metrolab.indicators.services import seed_standards

    return await seed_standards()


async def _renew_demo_standards() -> int:
    from metrolab.indicators.services import renew_demo_standards

    return await renew_demo_standards()


SEEDERS = [("instrument_types", _seed_instrument_types), ("standards", _seed_standards)]
DEMO_SEEDERS = [("standards_dates", _renew_demo_standards)]
__all__ = ["router"]
