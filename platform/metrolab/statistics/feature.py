"""The statistics feature (§5.4.7)."""

from metrolab.statistics.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem

PERMISSIONS = {"statistics.view": ("统计查询", "Statistics")}
NAV = [
    NavItem(N_("统计"), N_("统计查询"), "/statistics", "statistics.view", 70),
    NavItem(N_("统计"), N_("客户明细查询"), "/statistics/customers", "statistics.view", 71),
]
__all__ = ["router"]
