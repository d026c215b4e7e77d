"""JSON API of the office feature under /api/v1: 周工作计划 (§5.6.2) — the twins of the
/office/plans pages, on the same service functions."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post

from metrolab import storage
from metrolab.office import documents, services
from metrolab.office.tables import IncomingDocument, WeeklyPlan
from metrolab.statistics.exports import XLSX
from metrolab.web.api import errors
from metrolab.web.params import Code, Id, SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services as workflows

TAGS = ["office"]
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


class PlanItem(msgspec.Struct, forbid_unknown_fields=True):
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=_TEXT)]  # 工作内容
    planned: Annotated[str, msgspec.Meta(max_length=200, pattern=_TEXT)] = ""  # 计划完成
    done: Annotated[str, msgspec.Meta(max_length=500, pattern=_TEXT)] = ""  # 完成情况
    remarks: Annotated[str, msgspec.Meta(max_length=500, pattern=_TEXT)] = ""  # 备注


Items = Annotated[list[PlanItem], msgspec.Meta(max_length=services.MAX_ITEMS)]


class PlanIn(msgspec.Struct, forbid_unknown_fields=True):
    week: date  # any day of the week; the plan is filed under its Monday
    items: Items = []


class ItemsIn(msgspec.Struct, forbid_unknown_fields=True):
    items: Items


class PlanActionIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: Annotated[str, msgspec.Meta(max_length=2000, pattern=_TEXT)] | None = None  # 意见
    lock_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None


def _items(items: list[PlanItem]) -> list[dict[str, str]]:
    return [msgspec.structs.asdict(i) for i in items]


async def _plan_body(request: Request, plan_id: int) -> dict[str, Any]:
    row = await services.plan_for(plan_id, request.user)
    labels = await workflows.state_labels(services.PLAN_WF)
    row["status_label"] = labels.get(row["status"], "")
    row["actions"] = [
        t.key for t, refused in await services.actions(row, request.user) if refused is None
    ]
    row["history"] = await workflows.history(WeeklyPlan, plan_id)
    return row


@get(
    "/api/v1/office/plans",
    opt=perm("office.plans.write"),
    tags=TAGS,
    summary="我的周工作计划（历史，最新一周在前）",
    responses=errors(),
)
async def api_my_plans(request: Request) -> list[dict[str, Any]]:
    return await services.my_plans(request.user)


@post(
    "/api/v1/office/plans",
    opt=perm("office.plans.write"),
    tags=TAGS,
    summary="登记周工作计划",
    status_code=201,
    responses=errors(409),
)
async def api_plan_create(request: Request, data: PlanIn) -> dict[str, Any]:
    created = await services.create_plan(data.week, _items(data.items), request.user)
    return await _plan_body(request, created["id"])


@get(
    "/api/v1/office/plans/{plan_id:int}",
    opt=perm("office.plans.write"),
    tags=TAGS,
    summary="周工作计划及其流转记录",
    responses=errors(404),
)
async def api_plan(request: Request, plan_id: Id) -> dict[str, Any]:
    return await _plan_body(request, plan_id)


@post(
    "/api/v1/office/plans/{plan_id:int}/items",
    opt=perm("office.plans.write"),
    tags=TAGS,
    summary="保存周工作计划条目（填写中或已退回时）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_plan_items(request: Request, plan_id: Id, data: ItemsIn) -> dict[str, Any]:
    await services.save_items(plan_id, _items(data.items), request.user)
    return await _plan_body(request, plan_id)


@post(
    "/api/v1/office/plans/{plan_id:int}/{action:str}",
    opt=perm("office.plans.write"),
    tags=TAGS,
    summary="对周工作计划执行动作（提交 / 退回修改 / 确认）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_plan_act(
    request: Request, plan_id: Id, action: Code, data: PlanActionIn | None = None
) -> dict[str, Any]:
    data = data or PlanActionIn()
    applied = await services.act(
        plan_id, action, request.user, comment=data.comment, expected_lock=data.lock_version
    )
    body = await _plan_body(request, plan_id)
    return {**body, "from": applied.from_state, "to": applied.to_state}


@get(
    "/api/v1/office/plans/week",
    opt=perm("office.plans.review"),
    tags=TAGS,
    summary="科室周计划：本科室每人该周的计划",
    responses=errors(409),
)
async def api_department_week(request: Request, week: date | None = None) -> dict[str, Any]:
    return await services.department_week(request.user, week or date.today())


@get(
    "/api/v1/office/plans/week.xlsx",
    opt=perm("office.plans.review"),
    tags=TAGS,
    summary="导出科室周计划（xlsx）",
    media_type=XLSX,
    responses=errors(409),
)
async def api_department_week_xlsx(request: Request, week: date | None = None) -> Response:
    name, data = await services.department_week_xlsx(request.user, week or date.today())
    return xlsx_response(name, data)


def xlsx_response(name: str, data: bytes) -> Response:
    return Response(
        data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


# ── 收文管理 (§5.6.4) ─────────────────────────────────────────────────────────────────────


class DocumentIn(msgspec.Struct, forbid_unknown_fields=True):
    doc_no: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_TEXT)]  # 来文编号
    sender: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_TEXT)]  # 来文单位
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_TEXT)]
    received_on: date  # 收文日期
    due_date: date | None = None  # 办理期限
    scan_base64: Annotated[str, msgspec.Meta(max_length=14_000_000)] | None = None  # PDF/PNG/JPEG
    scan_name: Annotated[str, msgspec.Meta(max_length=200, pattern=_TEXT)] = ""


class DocumentActionIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: Annotated[str, msgspec.Meta(max_length=2000, pattern=_TEXT)] | None = None
    readers: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]],
        msgspec.Meta(max_length=documents.MAX_READERS),
    ] = []
    assignee: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None
    result: Annotated[str, msgspec.Meta(max_length=5000, pattern=_TEXT)] | None = None
    lock_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None


class ReadIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=500, pattern=_TEXT)] = ""


async def _document_body(request: Request, doc_id: int) -> dict[str, Any]:
    row = await documents.get(doc_id)
    labels = await workflows.state_labels(documents.DOC_WF)
    row["status_label"] = labels.get(row["status"], "")
    row["actions"] = [
        t.key for t, refused in await documents.actions(row, request.user) if refused is None
    ]
    row["history"] = await workflows.history(IncomingDocument, doc_id)
    return row


@get(
    "/api/v1/office/documents",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="收文查询（按编号、来文单位、标题，状态，收文日期）",
    responses=errors(),
)
async def api_documents(
    q: SearchText = "",
    status: SearchText = "",
    start: date | None = None,
    end: date | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    return await documents.query(q, status, start, end, overdue)


@post(
    "/api/v1/office/documents",
    opt=perm("office.documents.register"),
    tags=TAGS,
    summary="收文登记（扫描件 base64，PDF / PNG / JPEG，至多 10 MB）",
    status_code=201,
    request_max_body_size=16 * 1024 * 1024,
    responses=errors(),
)
async def api_document_create(request: Request, data: DocumentIn) -> dict[str, Any]:
    scan = b""
    if data.scan_base64:
        try:
            scan = base64.b64decode(data.scan_base64, validate=True)
        except ValueError:
            raise documents.Refused("扫描件：不是有效的 base64") from None
    values = {k: getattr(data, k) for k in ("doc_no", "sender", "title", "received_on", "due_date")}
    created = await documents.register(values, scan, data.scan_name, request.user)
    return await _document_body(request, created["id"])


@get(
    "/api/v1/office/documents.xlsx",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="导出收文（xlsx）",
    media_type=XLSX,
    responses=errors(),
)
async def api_documents_xlsx(
    q: SearchText = "",
    status: SearchText = "",
    start: date | None = None,
    end: date | None = None,
    overdue: bool = False,
) -> Response:
    rows = await documents.query(q, status, start, end, overdue)
    return xlsx_response("incoming-documents.xlsx", await documents.export_xlsx(rows))


@get(
    "/api/v1/office/documents/{doc_id:int}",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="收文及其传阅、流转记录",
    responses=errors(404),
)
async def api_document(request: Request, doc_id: Id) -> dict[str, Any]:
    return await _document_body(request, doc_id)


@get(
    "/api/v1/office/documents/{doc_id:int}/scan",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="下载收文扫描件",
    media_type="application/octet-stream",
    responses=errors(404),
)
async def api_document_scan(doc_id: Id) -> Response:
    return await scan_response(doc_id)


async def scan_response(doc_id: int) -> Response:
    row = await documents.get(doc_id)
    if not row["scan_sha256"]:
        raise documents.NotFound("该收文没有扫描件")
    return Response(
        storage.get(row["scan_sha256"]),
        media_type=row["scan_type"],
        headers={"content-disposition": f'attachment; filename="scan-{doc_id}"'},
    )


@post(
    "/api/v1/office/documents/{doc_id:int}/read",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="传阅签阅",
    status_code=200,
    responses=errors(404, 409),
)
async def api_document_read(
    request: Request, doc_id: Id, data: ReadIn | None = None
) -> dict[str, Any]:
    await documents.sign_off(doc_id, request.user, (data or ReadIn()).note)
    return await _document_body(request, doc_id)


@post(
    "/api/v1/office/documents/{doc_id:int}/{action:str}",
    opt=perm("office.documents.view"),
    tags=TAGS,
    summary="对收文执行动作（拟办 / 审核同意 / 退回拟办 / 传阅 / 交办理 / 办结）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_document_act(
    request: Request, doc_id: Id, action: Code, data: DocumentActionIn | None = None
) -> dict[str, Any]:
    data = data or DocumentActionIn()
    applied = await documents.act(
        doc_id,
        action,
        request.user,
        comment=data.comment,
        readers=list(data.readers),
        assignee=data.assignee,
        result=data.result,
        expected_lock=data.lock_version,
    )
    body = await _document_body(request, doc_id)
    return {**body, "from": applied.from_state, "to": applied.to_state}


HANDLERS = [
    api_my_plans,
    api_plan_create,
    api_department_week,
    api_department_week_xlsx,
    api_plan,
    api_plan_items,
    api_plan_act,
    api_documents,
    api_document_create,
    api_documents_xlsx,
    api_document,
    api_document_scan,
    api_document_read,
    api_document_act,
]
