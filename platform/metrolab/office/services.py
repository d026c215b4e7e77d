"""周工作计划 (§5.6.2): register a week's plan, fill its items, submit; the department head reads the
department's week, comments, returns or accepts (workflow ``weekly_plan``). Pages and API call these."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from metrolab.accounts.tables import Department, User
from metrolab.audit.log import record
from metrolab.engine import workflow as engine
from metrolab.kernel.errors import Conflict, Forbidden, NotFound, Refused
from metrolab.office.tables import WeeklyPlan
from metrolab.web.auth import CurrentUser
from metrolab.workflows import services as workflows

PLAN_WF = "weekly_plan"
REVIEW = "office.plans.review"
MAX_ITEMS = 30
ITEM_FIELDS = {"content": 500, "planned": 200, "done": 500, "remarks": 500}
EDITABLE = ("draft", "returned")
INT32_MAX = 2**31 - 1


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(raw: Any) -> date:
    """The Monday of the week ``raw`` (a date, or ISO text from a form) falls in."""
    from metrolab.web.i18n import _

    if isinstance(raw, date):
        return monday(raw)
    try:
        return monday(date.fromisoformat(str(raw or "").strip()[:10]))
    except ValueError:
        raise Refused(
            _("周次：日期格式应为 YYYY-MM-DD"),
            extra=[{"key": "week", "message": _("日期格式错误")}],
        ) from None


def clean_items(raw: Any) -> list[dict[str, str]]:
    """Items with every field a bounded, printable text; blank rows dropped; 400 naming the row."""
    from metrolab.web.i18n import _

    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise Refused(_("计划条目：至多 {n} 项", n=MAX_ITEMS))
    items = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise Refused(_("计划条目第 {n} 项格式错误", n=n))
        row = {}
        for name, limit in ITEM_FIELDS.items():
            text = item.get(name) or ""
            if not isinstance(text, str):
                raise Refused(_("计划条目第 {n} 项格式错误", n=n))
            text = text.replace("\r\n", "\n").strip()
            if len(text) > limit or any(not (c.isprintable() or c == "\n") for c in text):
                raise Refused(
                    _("计划条目第 {n} 项：至多 {limit} 字，不能含控制字符", n=n, limit=limit)
                )
            row[name] = text
        if any(row.values()):
            if not row["content"]:
                raise Refused(_("计划条目第 {n} 项：请填写工作内容", n=n))
            items.append(row)
    return items


def items_from_form(form: dict[str, str]) -> list[dict[str, str]]:
    """The page's rows ``content_0``, ``planned_0``, … as items."""
    return [
        {name: form.get(f"{name}_{i}", "") for name in ITEM_FIELDS}
        for i in range(MAX_ITEMS)
        if any(form.get(f"{name}_{i}") for name in ITEM_FIELDS)
    ]


async def get_plan(plan_id: int) -> dict[str, Any]:
    row = None
    if 0 < plan_id <= INT32_MAX:
        row = (
            await WeeklyPlan.select(
                *WeeklyPlan.all_columns(),
                WeeklyPlan.author.full_name.as_alias("author_name"),
                WeeklyPlan.department.name.as_alias("department_name"),
            )
            .where(WeeklyPlan.id == plan_id)
            .first()
            .output(load_json=True)
        )
    if row is None:
        raise NotFound("周工作计划不存在")
    return row


def may_review(row: dict[str, Any], user: CurrentUser) -> bool:
    return user.can(REVIEW) and row["department"] == user.department_id


async def plan_for(plan_id: int, user: CurrentUser) -> dict[str, Any]:
    """The plan, if this person wrote it or heads its department (403 otherwise)."""
    row = await get_plan(plan_id)
    if row["author"] != user.id and not may_review(row, user):
        raise Forbidden("只能查看本人或本科室的周工作计划")
    return row


def context(row: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    return {
        "author": row["author"],
        "actor": user.id,
        "items": len(row["items"] or []),
        "same_department": row["department"] is not None
        and row["department"] == user.department_id,
    }


async def my_plans(user: CurrentUser) -> list[dict[str, Any]]:
    """This person's plans, newest week first (the history)."""
    return (
        await WeeklyPlan.select(*WeeklyPlan.all_columns())
        .where(WeeklyPlan.author == user.id)
        .order_by(WeeklyPlan.week_start, ascending=False)
        .limit(200)
        .output(load_json=True)
    )


async def create_plan(week: Any, items: Any, user: CurrentUser) -> dict[str, Any]:
    """登记 this person's plan for a week (one per person and week)."""
    week_start = parse_week(week)
    clean = clean_items(items or [])
    if await WeeklyPlan.exists().where(
        (WeeklyPlan.author == user.id) & (WeeklyPlan.week_start == week_start)
    ):
        raise Conflict(f"{week_start.isoformat()} 这一周的周工作计划已登记")
    plan = WeeklyPlan(
        author=user.id, department=user.department_id, week_start=week_start, items=clean
    )
    await plan.save()
    await record(
        "weekly_plan.registered",
        actor=user,
        target_type="weekly_plan",
        target_id=plan.id,
        details={"week": week_start.isoformat(), "items": len(clean)},
    )
    return await get_plan(plan.id)


async def save_items(plan_id: int, items: Any, user: CurrentUser) -> dict[str, Any]:
    """The author fills or corrects the items while the plan is 填写中 or 已退回."""
    row = await get_plan(plan_id)
    if row["author"] != user.id:
        raise Forbidden("只有填写人可以修改周工作计划")
    if row["status"] not in EDITABLE:
        raise Conflict("周工作计划已提交，不能再修改")
    clean = clean_items(items)
    await WeeklyPlan.update(
        {
            WeeklyPlan.items: clean,
            WeeklyPlan.updated_at: datetime.now(UTC),
            WeeklyPlan.lock_version: WeeklyPlan.lock_version + 1,
        }
    ).where((WeeklyPlan.id == plan_id) & (WeeklyPlan.status.is_in(list(EDITABLE))))
    await record(
        "weekly_plan.items_saved",
        actor=user,
        target_type="weekly_plan",
        target_id=plan_id,
        details={"items": len(clean)},
    )
    return await get_plan(plan_id)


async def actions(row: dict[str, Any], user: CurrentUser) -> list[tuple[Any, Any]]:
    defn, _v = await workflows.definition(PLAN_WF)
    return engine.action_status(defn, row["status"], user.roles, context(row, user))


async def act(
    plan_id: int,
    action: str,
    user: CurrentUser,
    *,
    comment: str | None = None,
    expected_lock: int | None = None,
) -> workflows.Applied:
    """提交 / 退回修改 / 确认; the head's comment is kept on the plan and in the step's reason."""
    row = await plan_for(plan_id, user)
    comment = (comment or "").strip() or None
    changes: dict[Any, Any] = {WeeklyPlan.updated_at: datetime.now(UTC)}
    if action == "submit":
        changes[WeeklyPlan.submitted_at] = datetime.now(UTC)
    elif comment:
        changes[WeeklyPlan.head_comment] = comment
    return await workflows.apply(
        WeeklyPlan,
        plan_id,
        PLAN_WF,
        action,
        user,
        context=context(row, user),
        reason=comment,
        expected_lock=expected_lock,
        changes=changes,
    )


async def department_week(user: CurrentUser, week: Any) -> dict[str, Any]:
    """The head's view: every active member of the head's department and their plan for the week."""
    if user.department_id is None:
        raise Conflict("您未分配科室，无法查看科室周计划")
    week_start = parse_week(week)
    department = (
        await Department.select(Department.name).where(Department.id == user.department_id).first()
    )
    members = (
        await User.select(User.id, User.full_name)
        .where((User.department == user.department_id) & (User.is_active == True))  # noqa: E712
        .order_by(User.full_name)
    )
    plans = (
        await WeeklyPlan.select(*WeeklyPlan.all_columns())
        .where(
            (WeeklyPlan.department == user.department_id) & (WeeklyPlan.week_start == week_start)
        )
        .output(load_json=True)
    )
    by_author = {p["author"]: p for p in plans}
    return {
        "week_start": week_start,
        "week_end": week_start + timedelta(days=6),
        "department_name": department["name"] if department else "",
        "rows": [{"member": m, "plan": by_author.get(m["id"])} for m in members],
    }


async def department_week_xlsx(user: CurrentUser, week: Any) -> tuple[str, bytes]:
    """(file name, xlsx) of the department's week: one line per item, every cell through safe_cell."""
    from metrolab.statistics.exports import xlsx_bytes
    from metrolab.web.i18n import _

    view = await department_week(user, week)
    labels = await workflows.state_labels(PLAN_WF)
    header = [
        _("姓名"),
        _("状态"),
        _("工作内容"),
        _("计划完成"),
        _("完成情况"),
        _("备注"),
        _("科室负责人意见"),
    ]
    body: list[list[Any]] = []
    for line in view["rows"]:
        plan = line["plan"]
        name = line["member"]["full_name"]
        if plan is None:
            body.append([name, _("未登记"), "", "", "", "", ""])
            continue
        state = labels.get(plan["status"], "")
        for item in plan["items"] or [{}]:
            body.append(
                [
                    name,
                    state,
                    item.get("content", ""),
                    item.get("planned", ""),
                    item.get("done", ""),
                    item.get("remarks", ""),
                    plan["head_comment"],
                ]
            )
    title = f"{view['department_name']} {view['week_start'].isoformat()}"
    return f"weekly-plans-{view['week_start'].isoformat()}.xlsx", xlsx_bytes(title, header, body)
