"""The office feature (§5.6): 周工作计划 (§5.6.2) — staff register and submit their week's plan, the
department head comments, returns or accepts it."""

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
}
NAV = [
    NavItem(N_("办公管理"), N_("周工作计划"), "/office/plans", "office.plans.write", 10),
    NavItem(N_("办公管理"), N_("科室周计划"), "/office/plans/week", "office.plans.review", 11),
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
]
RULES = {"plan_reviewer_heads_department": rules.plan_reviewer_heads_department}
__all__ = ["router"]
