"""The public 业务服务 portal (§5.3): 检定申请, 申请进度, 证书核查, 标准查询, 二维码 — no login;
the clerk accepts applications into entrustments."""

from metrolab.services.routes import router
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "services.applications": (
        "受理或拒绝客户在线提交的检定申请",
        "Accept or decline verification applications sent online",
    ),
    "services.documents": ("发布或撤下门户的下载资料", "Publish or withdraw portal downloads"),
}
NAV = [
    NavItem(N_("系统"), N_("门户资料"), "/services/documents/manage", "services.documents", 90),
    NavItem(N_("业务管理"), N_("检定申请"), "/services/applications", "services.applications", 5),
]


def _pending(user):  # type: ignore[no-untyped-def]
    from metrolab.services.services import pending_count

    return pending_count(user)


TASKS = [
    TaskCounter(
        "services_applications",
        N_("待受理的检定申请"),
        "/services/applications",
        "services.applications",
        _pending,
        0,
    )
]
__all__ = ["router"]
