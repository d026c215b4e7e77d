"""The customers feature."""

from metrolab.customers.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem

PERMISSIONS = {
    "customers.view": ("查看客户", "View customers"),
    "customers.manage": ("维护客户", "Maintain customers"),
}
NAV = [NavItem(N_("业务管理"), N_("客户"), "/customers", "customers.view", 10)]


async def _seed_customers() -> int:
    from metrolab.seed import seed_customers

    return await seed_customers()


DEMO_SEEDERS = [("customers", _seed_customers)]
__all__ = ["router"]
