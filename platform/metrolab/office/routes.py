"""Pages of the office feature: 周工作计划 (§5.6.2); the JSON twins are in api.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.kernel.errors import Refused
from metrolab.office import api, documents, notice_routes, services
from metrolab.office.tables import IncomingDocument, WeeklyPlan
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, read_upload, see_other
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


# ── 收文管理 (§5.6.4) ─────────────────────────────────────────────────────────────────────


async def _documents_page(
    query: dict[str, str], *, error: str = "", values: Any = None, status: int = 200
) -> Template:
    rows = (
        []
        if status != 200
        else await documents.query(
            query["q"],
            query["status"],
            query["start"] or None,
            query["end"] or None,
            query["overdue"] == "1",
        )
    )
    return page(
        "office/documents.html",
        status_code=status,
        title=_("收文管理"),
        rows=rows,
        labels=await workflows.state_labels(documents.DOC_WF),
        query=query,
        error=error,
        values=values or {},
    )


@get("/office/documents", opt=perm("office.documents.view"), include_in_schema=False)
async def document_list(
    q: SearchText = "",
    status: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
    overdue: SearchText = "",
) -> Template:
    query = {"q": q, "status": status, "start": start, "end": end, "overdue": overdue}
    try:
        return await _documents_page(query)
    except Refused as exc:
        return await _documents_page(query, error=exc.detail, status=400)


@get(
    "/office/documents.xlsx",
    opt=perm("office.documents.view", api="GET /api/v1/office/documents.xlsx"),
    include_in_schema=False,
)
async def document_export(
    q: SearchText = "",
    status: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
    overdue: SearchText = "",
) -> Response:
    rows = await documents.query(q, status, start or None, end or None, overdue == "1")
    return api.xlsx_response("incoming-documents.xlsx", await documents.export_xlsx(rows))


@post(
    "/office/documents",
    opt=perm("office.documents.register", api="POST /api/v1/office/documents"),
    include_in_schema=False,
    request_max_body_size=documents.SCAN_MAX_BYTES + 1024 * 1024,
)
async def document_create(request: Request) -> Response | Template:
    form = await form_dict(request)
    scan, name = await read_upload(request, "scan")
    try:
        doc = await documents.register(form, scan, name, request.user)
    except Refused as exc:
        blank = {"q": "", "status": "", "start": "", "end": "", "overdue": ""}
        return await _documents_page(blank, error=exc.detail, values=form, status=exc.status_code)
    return see_other(f"/office/documents/{doc['id']}")


@get("/office/documents/{doc_id:int}", opt=perm("office.documents.view"), include_in_schema=False)
async def document_detail(request: Request, doc_id: int) -> Template:
    row = await documents.get(doc_id)
    return page(
        "office/document_detail.html",
        title=_("收文"),
        d=row,
        labels=await workflows.state_labels(documents.DOC_WF),
        actions=await documents.actions(row, request.user),
        history=await workflows.history(IncomingDocument, doc_id),
        staff=await documents.staff(),
        my_read=[r for r in row["readers"] if r["reader"] == request.user.id],
    )


@get(
    "/office/documents/{doc_id:int}/scan",
    opt=perm("office.documents.view", api="GET /api/v1/office/documents/{doc_id}/scan"),
    include_in_schema=False,
)
async def document_scan(doc_id: int) -> Response:
    return await api.scan_response(doc_id)


@post(
    "/office/documents/{doc_id:int}/read",
    opt=perm("office.documents.view", api="POST /api/v1/office/documents/{doc_id}/read"),
    include_in_schema=False,
)
async def document_read(request: Request, doc_id: int) -> Response:
    form = await form_dict(request)
    await documents.sign_off(doc_id, request.user, form.get("note", ""))
    return see_other(f"/office/documents/{doc_id}")


@post(
    "/office/documents/{doc_id:int}/{action:str}",
    opt=perm("office.documents.view", api="POST /api/v1/office/documents/{doc_id}/{action}"),
    include_in_schema=False,
)
async def document_act(request: Request, doc_id: int, action: str) -> Response:
    form = await form_dict(request)
    readers = [
        int(k[7:]) for k in form if k.startswith("reader_") and k[7:].isdigit() and len(k) < 20
    ]
    assignee = form.get("assignee", "")
    await documents.act(
        doc_id,
        action[:100],
        request.user,
        comment=form.get("comment") or None,
        readers=readers,
        assignee=int(assignee) if assignee.isdigit() and len(assignee) < 10 else None,
        result=form.get("result"),
        expected_lock=_lock(form),
    )
    return see_other(f"/office/documents/{doc_id}")


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
        document_list,
        document_export,
        document_create,
        document_detail,
        document_scan,
        document_read,
        document_act,
        *api.HANDLERS,
        *notice_routes.HANDLERS,
    ],
)
