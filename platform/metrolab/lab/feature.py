"""The lab feature: public pages, the home page, health, the lab's settings (机构信息)."""

from metrolab.lab.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem

PERMISSIONS = {
    "lab.manage": ("维护机构信息与公共服务页面", "Maintain lab information and public pages"),
    "audit.view": ("查看审计日志", "View the audit log"),
    "lab.settings": (
        "维护机构信息（证书所印单位名称、授权、检定专用章、编号格式）",
        "Maintain the lab's certificate particulars (name, authorisation, seal, numbering)",
    ),
}
NAV = [
    NavItem(N_("系统"), N_("公共服务页面"), "/lab/pages", "lab.manage", 90),
    NavItem(N_("系统"), N_("机构信息"), "/lab/settings", "lab.settings", 89),
]


async def _seed_lab() -> int:
    from metrolab.seed import seed_lab

    return await seed_lab()


async def _seed_settings() -> int:
    from metrolab.lab.services import seed_settings

    return await seed_settings()


async def _seed_demo_settings() -> int:
    from metrolab.lab.services import seed_demo_settings

    return await seed_demo_settings()


SEEDERS = [("lab", _seed_lab), ("lab_settings", _seed_settings)]
# Before the business demo issues its certificates, so they print the demo lab's particulars.
DEMO_SEEDERS = [("lab_settings", _seed_demo_settings)]
__all__ = ["router"]
