"""Pages of the office feature: 周工作计划 (§5.6.2); the JSON twins are in api.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.kernel.errors import Refused
from metrolab.office import api, services
from metrolab.office.tables import WeeklyPlan
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services as workflows


def _lock(form: dict[str, str]) -> int | None:
    lock = form.get("lock_version", "")
    return int(lock) if lock.isdigit() and len(lock) < 10 else None


async def _plans_page(
    request: Request, *, error: str = "", values: Any = None, status: int = 200
) -> Template:
    return page(
        "office/plans.html",
        status_code=status,
        title=_("周工作计划"),
        rows=await services.my_plans(request.user),
        labels=await workflows.state_labels(services.PLAN_WF),
        this_week=services.monday(date.today()),
        error=error,
        values=values or {},
    )


@get("/office/plans", opt=perm("office.plans.write"), include_in_schema=False)
async def plans(request: Request) -> Template:
    return await _plans_page(request)


@post(
    "/office/plans",
    opt=perm("office.plans.write", api="POST /api/v1/office/plans"),
    include_in_schema=False,
)
async def plan_create(request: Request) -> Response | Template:
    form = await form_dict(request)
    try:
        plan = await services.create_plan(form.get("week"), [], request.user)
    except Refused as exc:
        return await _plans_page(request, error=exc.detail, values=form, status=exc.status_code)
    return see_other(f"/office/plans/{plan['id']}")


async def _detail_page(
    request: Request, plan_id: int, *, error: str = "", items: Any = None
) -> Template:
    row = await services.plan_for(plan_id, request.user)
    items = row["items"] if items is None else items
    return page(
        "office/plan_detail.html",
        status_code=400 if error else 200,
        title=_("周工作计划"),
        p=row,
        items=items,
        editable=row["author"] == request.user.id and row["status"] in services.EDITABLE,
        blank_rows=range(len(items), min(len(items) + 5, services.MAX_ITEMS)),
        labels=await workflows.state_labels(services.PLAN_WF),
        actions=await services.actions(row, request.user),
        history=await workflows.history(WeeklyPlan, plan_id),
        error=error,
    )


@get("/office/plans/{plan_id:int}", opt=perm("office.plans.write"), include_in_schema=False)
async def plan_detail(request: Request, plan_id: int) -> Template:
    return await _detail_page(request, plan_id)


@post(
    "/office/plans/{plan_id:int}/items",
    opt=perm("office.plans.write", api="POST /api/v1/office/plans/{plan_id}/items"),
    include_in_schema=False,
)
async def plan_items(request: Request, plan_id: int) -> Response | Template:
    form = await form_dict(request)
    items = services.items_from_form(form)
    try:
        await services.save_items(plan_id, items, request.user)
    except Refused as exc:
        if exc.status_code != 400:
            raise
        return await _detail_page(request, plan_id, error=exc.detail, items=items)
    return see_other(f"/office/plans/{plan_id}")


@post(
    "/office/plans/{plan_id:int}/{action:str}",
    opt=perm("office.plans.write", api="POST /api/v1/office/plans/{plan_id}/{action}"),
    include_in_schema=False,
)
async def plan_act(request: Request, plan_id: int, action: str) -> Response:
    form = await form_dict(request)
    await services.act(
        plan_id,
        action[:100],
        request.user,
        comment=form.get("comment") or None,
        expected_lock=_lock(form),
    )
    return see_other(f"/office/plans/{plan_id}")


def _week(raw: str) -> date:
    return services.parse_week(raw) if raw else services.monday(date.today())


@get("/office/plans/week", opt=perm("office.plans.review"), include_in_schema=False)
async def department_week(request: Request, week: SearchText = "") -> Template:
    view = await services.department_week(request.user, _week(week))
    return page(
        "office/plans_week.html",
        title=_("科室周计划"),
        view=view,
        labels=await workflows.state_labels(services.PLAN_WF),
    )


@get(
    "/office/plans/week.xlsx",
    opt=perm("office.plans.review", api="GET /api/v1/office/plans/week.xlsx"),
    include_in_schema=False,
)
async def department_week_xlsx(request: Request, week: SearchText = "") -> Response:
    name, data = await services.department_week_xlsx(request.user, _week(week))
    return api.xlsx_response(name, data)


router = Router(
    path="/",
    route_handlers=[
        plans,
        plan_create,
        department_week,
        department_week_xlsx,
        plan_detail,
        plan_items,
        plan_act,
        *api.HANDLERS,
    ],
)
