"""The workflows feature: definitions and diagrams, transitions, e-signatures, delay requests."""

from piccolo.query.methods.count import Count

from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter
from metrolab.workflows import rules
from metrolab.workflows.routes import router

PERMISSIONS = {
    "workflows.view": ("查看工作流定义与流程图", "View workflow definitions and diagrams"),
    "delays.view": ("查询延时申请", "View delay requests"),
    "delays.request": ("登记延时申请", "Register delay requests"),
    "delays.approve": ("审批延时申请", "Approve delay requests"),
}
NAV = [
    NavItem(N_("检定业务"), N_("申请延时"), "/delays", "delays.view", 40),
    NavItem(N_("系统"), N_("工作流"), "/workflows", "workflows.view", 95),
]


def _delays_to_approve(user: CurrentUser) -> Count:
    from metrolab.workflows.tables import DelayRequest

    return DelayRequest.count().where(
        (DelayRequest.status == "registered") & (DelayRequest.requester != user.id)
    )


TASKS = [
    TaskCounter(
        "delays_to_approve",
        N_("待审批的延时申请"),
        "/delays?status=registered",
        "delays.approve",
        _delays_to_approve,
        60,
    )
]


async def _seed() -> int:
    from metrolab.workflows.services import seed_workflows

    return await seed_workflows()


SEEDERS = [("workflows", _seed)]
RULES = {
    "approver_not_requester": rules.approver_not_requester,
    "reviewer_not_author": rules.reviewer_not_author,
}
__all__ = ["router"]
