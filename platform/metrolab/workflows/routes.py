"""Pages: workflow diagrams, and delay requests (§5.8.10: register, approve, query) run on the engine;
the JSON twins are in api.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.engine import workflow as engine
from metrolab.kernel.errors import Refused
from metrolab.web.i18n import _, current_language
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import api, services
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


# ── delay requests (the JSON twins are in api.py) ─────────────────────────────────────────────


async def _delay_list_page(
    status: str, q: str, *, errors: dict[str, str] | None = None, values: Any = None
) -> Template:
    defn, _v = await services.definition(services.DELAY_WF)
    return page(
        "workflows/delay_list.html",
        status_code=400 if errors else 200,
        title=_("申请延时"),
        rows=[] if errors else await services.delays(status, q),
        states=list(defn.states.values()),
        query={"status": status, "q": q},
        errors=errors or {},
        values=values or {},
    )


@get("/delays", opt=perm("delays.view"), include_in_schema=False)
async def delay_list(status: SearchText = "", q: SearchText = "") -> Template:
    return await _delay_list_page(status, q)


@post("/delays", opt=perm("delays.request", api="POST /api/v1/delays"), include_in_schema=False)
async def delay_create(request: Request) -> Response | Template:
    form = await form_dict(request)
    try:
        delay = await services.create_delay(form, request.user)
    except Refused as exc:
        problems = {str(p["key"]): str(p["message"]) for p in exc.extra or []}
        return await _delay_list_page("", "", errors=problems, values=form)
    return see_other(f"/delays/{delay['id']}")


@get(
    "/delays/subjects",
    opt=perm("delays.request", api="GET /api/v1/delays/subjects"),
    include_in_schema=False,
)
async def delay_subjects(q: SearchText = "") -> Template:
    """htmx while typing in 申请延时: the certificates and entrustments that match, to pick one."""
    return page("workflows/_delay_subjects.html", q=q, rows=await services.suggest_subjects(q))


@get("/delays/{delay_id:int}", opt=perm("delays.view"), include_in_schema=False)
async def delay_detail(request: Request, delay_id: int) -> Template:
    row = await services.get_delay(delay_id)
    defn, _v = await services.definition(services.DELAY_WF)
    return page(
        "workflows/delay_detail.html",
        title=_("延时申请"),
        d=row,
        defn=defn,
        actions=await services.delay_actions(row, request.user),
        history=await services.history(DelayRequest, delay_id),
    )


@post(
    "/delays/{delay_id:int}/{action:str}",
    opt=perm("delays.view", api="POST /api/v1/delays/{delay_id}/{action}"),
    include_in_schema=False,
)
async def delay_act(request: Request, delay_id: int, action: str) -> Response:
    form = await form_dict(request)
    lock = form.get("lock_version", "")
    await services.act_delay(
        delay_id,
        action[:100],
        request.user,
        reason=form.get("reason") or None,
        password=form.get("password") or None,
        expected_lock=int(lock) if lock.isdigit() and len(lock) < 10 else None,
    )
    return see_other(f"/delays/{delay_id}")


router = Router(
    path="/",
    route_handlers=[
        workflow_list,
        workflow_detail,
        delay_list,
        delay_create,
        delay_subjects,
        delay_detail,
        delay_act,
        *api.HANDLERS,
    ],
)
