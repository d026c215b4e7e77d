"""The audit feature: the tamper-evident log every feature writes (log.py, chain.py) and the page
that reads it (查看审计日志, declared with the lab's permissions)."""

from metrolab.audit.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem

NAV = [NavItem(N_("系统"), N_("审计日志"), "/audit", "audit.view", 91)]
__all__ = ["router"]
