"""Workflow diagrams, and delay requests (§5.8.10: register, approve, query) run on the engine."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.engine import workflow as engine
from metrolab.web.errors import UserError
from metrolab.web.i18n import _, current_language
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.permissions import perm
from metrolab.workflows import (
    rules,  # noqa: F401 - registers the business rules
    services,
)
from metrolab.workflows.tables import DelayRequest, WorkflowVersion


@get("/workflows", opt=perm("workflows.view"), include_in_schema=False)
async def workflow_list() -> Template:
    rows = (
        await WorkflowVersion.select(
            WorkflowVersion.key,
            WorkflowVersion.version,
            WorkflowVersion.definition,
            WorkflowVersion.loaded_at,
        )
        .where(WorkflowVersion.active == True)  # noqa: E712 - a SQL comparison
        .order_by(WorkflowVersion.key)
        .output(load_json=True)
    )
    return page("workflows/list.html", title=_("工作流"), rows=rows)


@get("/workflows/{key:str}", opt=perm("workflows.view"), include_in_schema=False)
async def workflow_detail(key: str) -> Template:
    defn, version = await services.definition(key)
    versions = (
        await WorkflowVersion.select(
            WorkflowVersion.version, WorkflowVersion.loaded_at, WorkflowVersion.active
        )
        .where(WorkflowVersion.key == key)
        .order_by(WorkflowVersion.version, ascending=False)
    )
    return page(
        "workflows/detail.html",
        title=defn.title.get("zh", key),
        defn=defn,
        version=version,
        versions=versions,
        svg=engine.diagram_svg(defn, lang=current_language()),
    )


# ── delay requests ──────────────────────────────────────────────────────────────────────────────


def _context(row: dict[str, Any], user_id: int) -> dict[str, Any]:
    return {
        "requester": row["requester"],
        "actor": user_id,
        "due_date": row["due_date"].isoformat(),
        "new_due_date": row["new_due_date"].isoformat(),
    }


async def _get(delay_id: int) -> dict[str, Any]:
    row = (
        await DelayRequest.select(
            *DelayRequest.all_columns(), DelayRequest.requester.full_name.as_alias("requester_name")
        )
        .where(DelayRequest.id == delay_id)
        .first()
    )
    if row is None:
        raise UserError(status_code=404, detail="延时申请不存在")
    return row


@get("/delays", opt=perm("delays.view"), include_in_schema=False)
async def delay_list(status: str = "", q: str = "") -> Template:
    query = DelayRequest.select(
        *DelayRequest.all_columns(), DelayRequest.requester.full_name.as_alias("requester_name")
    )
    if status:
        query = query.where(DelayRequest.status == status)
    if q:
        query = query.where(DelayRequest.subject.ilike(f"%{q}%"))
    defn, _v = await services.definition("delay_request")
    rows = await query.order_by(DelayRequest.id, ascending=False).limit(200)
    return page(
        "workflows/delay_list.html",
        title=_("申请延时"),
        rows=rows,
        states=list(defn.states.values()),
        query={"status": status, "q": q},
        errors={},
        values={},
    )


@post("/delays", opt=perm("delays.request"), include_in_schema=False)
async def delay_create(request: Request) -> Response:
    form = await form_dict(request)
    errors: dict[str, str] = {}
    if not form.get("subject"):
        errors["subject"] = _("请填写证书编号或任务")
    dates = {}
    for name, label in (("due_date", "原应完成日期"), ("new_due_date", "申请完成日期")):
        try:
            dates[name] = date.fromisoformat(form.get(name, ""))
        except ValueError:
            errors[name] = _("{label}：日期格式应为 YYYY-MM-DD", label=_(label))
    if len(dates) == 2 and dates["new_due_date"] <= dates["due_date"]:
        errors["new_due_date"] = _("申请完成日期必须晚于原应完成日期")
    if not form.get("reason"):
        errors["reason"] = _("请填写延时原因")
    if errors:
        defn, _v = await services.definition("delay_request")
        return page(
            "workflows/delay_list.html",
            status_code=400,
            title=_("申请延时"),
            rows=[],
            states=list(defn.states.values()),
            query={"status": "", "q": ""},
            errors=errors,
            values=form,
        )
    # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
    delay = DelayRequest(
        subject=form["subject"][:100],
        requester=request.user.id,
        reason=form["reason"],
        **dates,  # type: ignore[arg-type]
    )
    await delay.save()
    return see_other(f"/delays/{delay.id}")


@get("/delays/{delay_id:int}", opt=perm("delays.view"), include_in_schema=False)
async def delay_detail(request: Request, delay_id: int) -> Template:
    row = await _get(delay_id)
    defn, _v = await services.definition("delay_request")
    actions = engine.action_status(
        defn, row["status"], request.user.roles, _context(row, request.user.id)
    )
    return page(
        "workflows/delay_detail.html",
        title=_("延时申请"),
        d=row,
        defn=defn,
        actions=actions,
        history=await services.history(DelayRequest, delay_id),
    )


@post("/delays/{delay_id:int}/{action:str}", opt=perm("delays.view"), include_in_schema=False)
async def delay_act(request: Request, delay_id: int, action: str) -> Response:
    form = await form_dict(request)
    row = await _get(delay_id)
    lock = int(form["lock_version"]) if form.get("lock_version", "").isdigit() else None
    await services.apply(
        DelayRequest,
        delay_id,
        "delay_request",
        action,
        request.user,
        context=_context(row, request.user.id),
        reason=form.get("reason") or None,
        password=form.get("password") or None,
        expected_lock=lock,
    )
    return see_other(f"/delays/{delay_id}")


@get(
    "/api/v1/delays/{delay_id:int}",
    opt=perm("delays.view"),
    tags=["workflows"],
    summary="延时申请及其流转记录",
)
async def api_delay(request: Request, delay_id: int) -> dict[str, Any]:
    row = await _get(delay_id)
    defn, _v = await services.definition("delay_request")
    row["actions"] = [
        t.key
        for t in engine.available_actions(
            defn, row["status"], request.user.roles, _context(row, request.user.id)
        )
    ]
    row["history"] = await services.history(DelayRequest, delay_id)
    return row


@post(
    "/api/v1/delays/{delay_id:int}/{action:str}",
    opt=perm("delays.view"),
    tags=["workflows"],
    summary="对延时申请执行动作（批准 / 驳回 / 撤回）",
)
async def api_delay_act(
    request: Request, delay_id: int, action: str, data: dict[str, Any]
) -> dict[str, Any]:
    row = await _get(delay_id)
    applied = await services.apply(
        DelayRequest,
        delay_id,
        "delay_request",
        action,
        request.user,
        context=_context(row, request.user.id),
        reason=data.get("reason"),
        password=data.get("password"),
        expected_lock=data.get("lock_version"),
    )
    return {"from": applied.from_state, "to": applied.to_state}


router = Router(
    path="/",
    route_handlers=[
        workflow_list,
        workflow_detail,
        delay_list,
        delay_create,
        delay_detail,
        delay_act,
        api_delay,
        api_delay_act,
    ],
)
