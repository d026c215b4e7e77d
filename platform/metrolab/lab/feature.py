"""The lab feature: public pages, the home page, health."""

from metrolab.lab.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem

PERMISSIONS = {"lab.manage": ("维护机构信息与公共服务页面", "Maintain lab information and public pages"),
               "audit.view": ("查看审计日志", "View the audit log")}
NAV = [NavItem(N_("系统"), N_("公共服务页面"), "/lab/pages", "lab.manage", 90)]


async def _seed_lab() -> int:
    from metrolab.seed import seed_lab

    return await seed_lab()


SEEDERS = [("lab", _seed_lab)]
__all__ = ["router"]
