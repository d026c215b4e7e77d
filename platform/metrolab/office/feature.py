"""The office feature (§5.6): 周工作计划 (§5.6.2) — staff register and submit their week's plan, the
department head comments, returns or accepts it; 收文管理 (§5.6.4) — register, 拟办, 审核, 传阅, 办理, 办结."""

from piccolo.query.methods.count import Count

from metrolab.office import rules
from metrolab.office.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "office.plans.write": ("登记、提交本人周工作计划", "Register and submit one's weekly plans"),
    "office.plans.review": (
        "审阅本科室周工作计划（科室负责人）",
        "Review the department's weekly plans (department head)",
    ),
    "office.documents.view": (
        "查询收文、签阅传阅、办理",
        "View, sign off and handle incoming documents",
    ),
    "office.documents.register": (
        "收文登记、拟办、传阅",
        "Register, propose and circulate incoming documents",
    ),
    "office.documents.review": ("审核收文（领导）", "Review incoming documents (leader)"),
    "office.notices.publish": (
        "撰写、发布、撤回、删除消息公告，查看执行情况",
        "Write, publish, withdraw and delete notices; see who has read them",
    ),
}
NAV = [
    NavItem(N_("办公管理"), N_("周工作计划"), "/office/plans", "office.plans.write", 10),
    NavItem(N_("办公管理"), N_("科室周计划"), "/office/plans/week", "office.plans.review", 11),
    NavItem(N_("办公管理"), N_("收文管理"), "/office/documents", "office.documents.view", 12),
    NavItem(N_("办公管理"), N_("消息公告"), "/office/notices", "authenticated", 13),
]


def _plans_to_review(user: CurrentUser) -> Count:  # unawaited: the home page asks all at once
    from metrolab.office.tables import WeeklyPlan

    return WeeklyPlan.count().where(
        (WeeklyPlan.status == "submitted")
        & (WeeklyPlan.department == user.department_id)
        & (WeeklyPlan.author != user.id)
    )


def _plans_returned(user: CurrentUser) -> Count:
    from metrolab.office.tables import WeeklyPlan

    return WeeklyPlan.count().where(
        (WeeklyPlan.status == "returned") & (WeeklyPlan.author == user.id)
    )


def _documents_to_read(user: CurrentUser) -> Count:
    from metrolab.office.tables import DocumentReader, IncomingDocument

    return DocumentReader.count().where(
        (DocumentReader.reader == user.id)
        & DocumentReader.read_at.is_null()
        & DocumentReader.document.is_in(
            IncomingDocument.select(IncomingDocument.id).where(
                IncomingDocument.status == "circulating"
            )
        )
    )


def _documents_to_handle(user: CurrentUser) -> Count:
    from metrolab.office.tables import IncomingDocument

    return IncomingDocument.count().where(
        (IncomingDocument.status == "handling") & (IncomingDocument.assignee == user.id)
    )


def _documents_to_review(user: CurrentUser) -> Count:
    from metrolab.office.tables import IncomingDocument

    return IncomingDocument.count().where(
        (IncomingDocument.status == "proposed") & (IncomingDocument.proposer != user.id)
    )


def _documents_overdue(user: CurrentUser) -> Count:
    from datetime import date

    from metrolab.office.tables import IncomingDocument

    return IncomingDocument.count().where(
        (IncomingDocument.due_date < date.today()) & (IncomingDocument.status != "closed")
    )


def _notices_unread(user: CurrentUser) -> Count:
    from metrolab.office.tables import Notice, NoticeRecipient

    return NoticeRecipient.count().where(
        (NoticeRecipient.person == user.id)
        & NoticeRecipient.read_at.is_null()
        & NoticeRecipient.notice.is_in(Notice.select(Notice.id).where(Notice.status == "published"))
    )


TASKS = [
    TaskCounter(
        "plans_to_review",
        N_("待审阅的周工作计划"),
        "/office/plans/week",
        "office.plans.review",
        _plans_to_review,
        70,
    ),
    TaskCounter(
        "plans_returned",
        N_("被退回的周工作计划"),
        "/office/plans",
        "office.plans.write",
        _plans_returned,
        71,
    ),
    TaskCounter(
        "documents_to_read",
        N_("待签阅的收文"),
        "/office/documents?status=circulating",
        "office.documents.view",
        _documents_to_read,
        72,
    ),
    TaskCounter(
        "documents_to_handle",
        N_("待办理的收文"),
        "/office/documents?status=handling",
        "office.documents.view",
        _documents_to_handle,
        73,
    ),
    TaskCounter(
        "documents_to_review",
        N_("待审核的收文"),
        "/office/documents?status=proposed",
        "office.documents.review",
        _documents_to_review,
        74,
    ),
    TaskCounter(
        "documents_overdue",
        N_("逾期未办结的收文"),
        "/office/documents?overdue=1",
        "office.documents.register",
        _documents_overdue,
        75,
    ),
    TaskCounter(
        "notices_unread",
        N_("未读的消息公告"),
        "/office/notices",
        "authenticated",
        _notices_unread,
        76,
    ),
]
RULES = {"plan_reviewer_heads_department": rules.plan_reviewer_heads_department}
__all__ = ["router"]
