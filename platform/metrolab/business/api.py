"""JSON API of the business feature under /api/v1: the twins of the 委托单, task, certificate-step and
batch-approval pages (routes.py), on the same service functions, with the same permissions, rules,
signatures (the password in the body) and audit rows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post, put

from metrolab.business import lists, onsite, release, services
from metrolab.business.tables import Entrustment
from metrolab.certificates.workflow import MAX_BATCH
from metrolab.engine.forms import parse_submission
from metrolab.kernel.errors import Refused
from metrolab.kernel.paging import envelope
from metrolab.web.api import errors
from metrolab.web.params import (
    Code,
    Id,
    LongText,
    PageNo,
    Password,
    SearchText,
    ShortText,
    StructId,
)
from metrolab.web.permissions import perm
from metrolab.workflows import services as wf

TAGS = ["business"]
PDF = "application/pdf"
Count = Annotated[int, msgspec.Meta(ge=1, le=services.MAX_QUANTITY * 200)]
# A PNG data URL of the customer's signature: at most MAX_SIGNATURE_BYTES once decoded.
SignatureUrl = Annotated[str, msgspec.Meta(max_length=release.MAX_SIGNATURE_BYTES * 4 // 3 + 64)]


class EntrustmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """The 委托受理单's values by field key, as the form defines them (``customer``, ``contact``,
    ``phone``, ``service_mode``, ``instruments: [{instrument_type, serial, model, quantity, …}]``…);
    checked against the published form (or ``form_version``) with a 中文 message per field."""

    values: dict[str, Any]
    form_version: StructId | None = None
    new_customer: bool = False  # 新建委托单位: the name is not in the customer file
    confirm_similar: bool = False  # …and it is not the look-alike name on file


class EntrustmentChange(msgspec.Struct, forbid_unknown_fields=True):
    values: dict[str, Any]
    reason: ShortText
    lock_version: StructId | None = None


class ReceiveIn(msgspec.Struct, forbid_unknown_fields=True):
    count: Count
    lock_version: StructId | None = None


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: LongText | None = None
    lock_version: StructId | None = None


class CertificateActionIn(msgspec.Struct, forbid_unknown_fields=True):
    """``password``: signing steps (提交核验, 初审确认, 核验通过, 批准…) re-authenticate the signer."""

    password: Password | None = None
    reason: LongText | None = None
    lock_version: StructId | None = None


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    verifier: StructId
    department: ShortText = ""


class RecordIn(msgspec.Struct, forbid_unknown_fields=True):
    verified_on: date | None = None


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    mode: Literal["certificate_and_instrument", "instrument_only", "certificate_only"]
    tasks: Annotated[list[StructId], msgspec.Meta(min_length=1, max_length=500)]
    collector: ShortText
    method: Literal["自取", "代领", "邮寄", "电子发放"]
    signature: SignatureUrl = ""  # data:image/png;base64,… — 自取 / 代领 only
    remarks: LongText = ""
    carrier: Annotated[str, msgspec.Meta(max_length=50)] = ""  # 邮寄
    tracking_no: Annotated[str, msgspec.Meta(max_length=40)] = ""  # 邮寄


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[StructId], msgspec.Meta(max_length=MAX_BATCH)]
    password: Password


class OneIn(msgspec.Struct, forbid_unknown_fields=True):
    id: StructId
    password: Password


async def _entrustment(entrustment_id: int) -> dict[str, Any]:
    e = await services.get_entrustment(entrustment_id)
    e["tasks"] = await services.tasks_of(entrustment_id)
    e["status_label"] = (await wf.state_labels(services.ENTRUST_WF)).get(e["status"], "")
    e["history"] = await wf.history(Entrustment, entrustment_id)
    e["releases"] = [
        {k: v for k, v in r.items() if k != "signature_sha256"}
        for r in await release.releases_of(entrustment_id)
    ]
    return e


# ── 委托单 ────────────────────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/entrustments",
    opt=perm("business.view"),
    tags=TAGS,
    summary="委托单查询",
    responses=errors(),
)
async def api_entrustments(
    q: SearchText = "", status: SearchText = "", stage: SearchText = "", page_no: PageNo = 1
) -> dict[str, Any]:
    """A page of 50, newest first: ``items``, ``total`` (``total_capped`` when the count stopped:
    "more than"), ``pages`` and ``page``, as every list answers."""
    rows, total = await lists.entrustments(
        q, status, stage, page_no=page_no, per_page=lists.PER_PAGE
    )
    return envelope(rows, total, page_no, lists.PER_PAGE)


@post(
    "/api/v1/entrustments",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="受理委托（按委托受理单登记，每行器具一个检定任务）",
    status_code=201,
    request_max_body_size=services.MAX_VALUES_BYTES * 2,
    responses=errors(404, 409, 413),
)
async def api_create_entrustment(request: Request, data: EntrustmentIn) -> dict[str, Any]:
    pin = await services.entrustment_form(data.form_version)
    values = parse_submission(pin.defn, services.values_as_form(data.values))
    e = await services.submit_entrustment(
        request.user, pin, values, data.new_customer, data.confirm_similar
    )
    return await _entrustment(e["id"])


@post(
    "/api/v1/entrustments/compute",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="委托受理单试算（器具总数、显示哪些字段），不保存",
    status_code=200,
    request_max_body_size=services.MAX_VALUES_BYTES * 2,
    responses=errors(404, 413),
)
async def api_compute_entrustment(data: EntrustmentIn) -> dict[str, Any]:
    from metrolab.engine.forms import compute, parse_submission

    pin = await services.entrustment_form(data.form_version)
    result = compute(pin.defn, parse_submission(pin.defn, services.values_as_form(data.values)))
    return {"values": result.data, "hidden": sorted(result.hidden)}


@get(
    "/api/v1/entrustments/customers",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="委托单位建议（名称包含所输入文字的客户，及其地址、联系人、电话）",
)
async def api_entrustment_customers(q: SearchText = "") -> dict[str, Any]:
    from metrolab.business import customer_pick

    return {"items": await customer_pick.suggest(q)}


@get(
    "/api/v1/entrustments/{entrustment_id:int}",
    opt=perm("business.view"),
    tags=TAGS,
    summary="委托单详情（含检定任务、流转记录与发放记录）",
    responses=errors(404),
)
async def api_entrustment(entrustment_id: Id) -> dict[str, Any]:
    return await _entrustment(entrustment_id)


@put(
    "/api/v1/entrustments/{entrustment_id:int}",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="修改委托单（须填写原因；已分配的任务不能删除）",
    request_max_body_size=services.MAX_VALUES_BYTES * 2,
    responses=errors(404, 409, 413),
)
async def api_update_entrustment(
    request: Request, entrustment_id: Id, data: EntrustmentChange
) -> dict[str, Any]:
    e = await services.get_entrustment(entrustment_id)
    pin = await services.entrustment_form(e["form_version"])
    values = parse_submission(pin.defn, services.values_as_form(data.values))
    await services.change_entrustment(
        entrustment_id, request.user, values, data.reason, expected_lock=data.lock_version
    )
    return await _entrustment(entrustment_id)


@post(
    "/api/v1/entrustments/{entrustment_id:int}/receive",
    opt=perm("business.receive"),
    tags=TAGS,
    summary="科室接收仪表（数量不得超过委托单的器具数量）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_receive(request: Request, entrustment_id: Id, data: ReceiveIn) -> dict[str, Any]:
    await services.receive(
        entrustment_id, request.user, data.count, expected_lock=data.lock_version
    )
    return await _entrustment(entrustment_id)


@post(
    "/api/v1/entrustments/{entrustment_id:int}/actions/{action:str}",
    opt=perm("business.view"),
    tags=TAGS,
    summary="委托单流转（cancel 取消、confirm_onsite 科室确认、start_onsite 下厂检定；安排下厂与完成入库有各自的接口 …/onsite、…/store）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_entrustment_act(
    request: Request, entrustment_id: Id, action: Code, data: ActionIn
) -> dict[str, Any]:
    if action in onsite.OWN_FORM:  # they have their own twins: …/onsite and …/store
        raise Refused(onsite.OWN_FORM[action])
    await services.entrustment_act(
        entrustment_id, action, request.user, reason=data.reason, expected_lock=data.lock_version
    )
    return await _entrustment(entrustment_id)


@post(
    "/api/v1/entrustments/{entrustment_id:int}/release",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="发放证书和/或仪表：自取/代领带客户签名（PNG data URL），邮寄带快递公司和单号，电子发放仅证书",
    status_code=200,
    request_max_body_size=release.MAX_SIGNATURE_BYTES * 2,
    responses=errors(404, 409),
)
async def api_release(request: Request, entrustment_id: Id, data: ReleaseIn) -> dict[str, Any]:
    release_id = await release.release(
        entrustment_id,
        request.user,
        mode=data.mode,
        task_ids=list(data.tasks),
        collector=data.collector,
        method=data.method,
        signature_data_url=data.signature,
        remarks=data.remarks,
        carrier=data.carrier,
        tracking_no=data.tracking_no,
    )
    e = await _entrustment(entrustment_id)
    e["release_id"] = release_id
    return e


@get(
    "/api/v1/business/releases/{release_id:int}",
    opt=perm("business.view"),
    tags=TAGS,
    summary="一次发放（交接单的内容）：委托单、发放的器具和证书、领取人、方式、快递单号",
    responses=errors(404),
)
async def api_release_detail(release_id: Id) -> dict[str, Any]:
    r = await release.get_release(release_id)
    r["signed"] = bool(r.pop("signature_sha256", ""))
    return r


# ── tasks ─────────────────────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/tasks/search",  # /api/v1/tasks is the signed-in person's task counters (lab feature)
    opt=perm("business.view"),
    tags=TAGS,
    summary="检定任务查询（mine=1 只看我的；stage=compile 待编制、unassigned 待分配）",
    responses=errors(),
)
async def api_tasks(
    request: Request,
    mine: bool = False,
    stage: SearchText = "",
    q: SearchText = "",
    page_no: PageNo = 1,
) -> dict[str, Any]:
    """A page of 50, newest first, in the envelope of ``GET /api/v1/entrustments``."""
    rows, total = await lists.tasks(
        request.user, mine, stage, q, page_no=page_no, per_page=lists.PER_PAGE
    )
    return envelope(rows, total, page_no, lists.PER_PAGE)


@get(
    "/api/v1/tasks/{task_id:int}",
    opt=perm("business.view"),
    tags=TAGS,
    summary="检定任务",
    responses=errors(404),
)
async def api_task(task_id: Id) -> dict[str, Any]:
    return await services.get_task(task_id)


@post(
    "/api/v1/tasks/{task_id:int}/assign",
    opt=perm("business.receive"),
    tags=TAGS,
    summary="分配检定任务给检定员",
    status_code=200,
    responses=errors(404, 409),
)
async def api_assign(request: Request, task_id: Id, data: AssignIn) -> dict[str, Any]:
    await services.assign(task_id, data.verifier, request.user, data.department)
    return await services.get_task(task_id)


@post(
    "/api/v1/tasks/{task_id:int}/record",
    opt=perm("business.compile"),
    tags=TAGS,
    summary="打开任务的原始记录（首次打开时新建草稿；只有分配到任务的检定员）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_task_record(request: Request, task_id: Id, data: RecordIn) -> dict[str, Any]:
    await services.open_record(task_id, request.user, data.verified_on)
    return await services.get_task(task_id)


@post(
    "/api/v1/tasks/{task_id:int}/compile",
    opt=perm("business.compile"),
    tags=TAGS,
    summary="编制证书（由已保存的原始记录；任务的检定员本人或业务室编制人员）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_task_compile(request: Request, task_id: Id) -> dict[str, Any]:
    await services.compile_certificate(task_id, request.user)
    return await services.get_task(task_id)


# ── certificate steps ─────────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/certificates/{certificate_id:int}/workflow",
    opt=perm("business.view"),
    tags=TAGS,
    summary="证书流转：当前状态、流转记录与本人可做的动作（不可做时附原因）",
    responses=errors(404),
)
async def api_certificate_workflow(request: Request, certificate_id: Id) -> dict[str, Any]:
    return await services.certificate_workflow(certificate_id, request.user)


@post(
    "/api/v1/certificates/{certificate_id:int}/actions/{action:str}",
    opt=perm("business.view"),
    tags=TAGS,
    summary="证书流转动作（提交核验、初审、核验通过、退回、批准、内部追回…；签名动作请求体带密码）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_certificate_act(
    request: Request, certificate_id: Id, action: Code, data: CertificateActionIn
) -> dict[str, Any]:
    cert = await services.certificate_act(
        certificate_id,
        action,
        request.user,
        reason=data.reason,
        password=data.password,
        expected_lock=data.lock_version,
    )
    return await services.certificate_workflow(cert["id"], request.user)


@post(
    "/api/v1/certificates/{certificate_id:int}/reissue",
    opt=perm("business.approve"),
    tags=TAGS,
    summary="重新出具（已批准而 PDF 未生成的证书，编号不变）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_reissue(request: Request, certificate_id: Id) -> dict[str, Any]:
    await services.reissue(certificate_id, request.user)
    return await services.certificate_workflow(certificate_id, request.user)


@get(
    "/api/v1/certificates/{certificate_id:int}/preview.pdf",
    opt=perm("business.view"),
    tags=TAGS,
    summary="证书预览 PDF（尚未出具时无编号；已出具时为出具的 PDF）",
    media_type=PDF,
    responses=errors(404, 409),
)
async def api_preview(certificate_id: Id) -> Response:
    return Response(
        await services.preview_pdf(certificate_id),
        media_type=PDF,
        headers={"content-disposition": f'inline; filename="certificate-{certificate_id}.pdf"'},
    )


# ── batch approval ────────────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/approvals",
    opt=perm("business.approve"),
    tags=TAGS,
    summary="待批准的证书（及已批准而出具未完成的）",
    responses=errors(),
)
async def api_approvals() -> list[dict[str, Any]]:
    return await services.approval_queue()


@post(
    "/api/v1/approvals",
    opt=perm("business.approve"),
    tags=TAGS,
    summary="批量批准（一次签名：请求体带密码；逐份批准并出具，失败的列出原因）",
    status_code=200,
    responses=errors(),
)
async def api_approve_batch(request: Request, data: BatchIn) -> dict[str, Any]:
    result = await services.approve_batch(list(data.ids), request.user, data.password)
    return {"done": result.done, "failed": result.failed}


@post(
    "/api/v1/approvals/one",
    opt=perm("business.approve"),
    tags=TAGS,
    summary="批准一份证书（签名：请求体带密码；结果 ok/number 或 message）",
    status_code=200,
    responses=errors(),
)
async def api_approve_one(request: Request, data: OneIn) -> dict[str, Any]:
    return await services.approve_one(data.id, request.user, data.password)


@get(
    "/api/v1/certificates/progress/export",
    opt=perm("business.view"),
    tags=TAGS,
    summary="证书进度导出（xlsx / csv，检索条件同证书进度）",
    responses=errors(),
)
async def api_progress_export(
    request: Request,
    status: SearchText = "",
    q: SearchText = "",
    mine: SearchText = "",
    issued_from: date | None = None,
    issued_to: date | None = None,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    return await progress_export(
        request.user, status, q, bool(mine), issued_from, issued_to, format
    )


async def progress_export(
    user: Any,
    status: str,
    q: str,
    mine: bool,
    issued_from: date | None,
    issued_to: date | None,
    fmt: str,
) -> Response:
    """证书进度 as xlsx/csv: the same search as the list, every page of it."""
    from metrolab.certificates import list_export

    rows, _total = await services.search_certificates(
        status, q, mine, user, issued_from, issued_to, per_page=list_export.MAX_EXPORT
    )
    return await list_export.response(
        [r["id"] for r in rows],
        fmt,
        "证书进度",
        "certificate-progress",
        await wf.state_labels("certificate"),
    )


HANDLERS = [
    api_progress_export,
    api_entrustments,
    api_create_entrustment,
    api_compute_entrustment,
    api_entrustment_customers,
    api_entrustment,
    api_update_entrustment,
    api_receive,
    api_entrustment_act,
    api_release,
    api_release_detail,
    api_tasks,
    api_task,
    api_assign,
    api_task_record,
    api_task_compile,
    api_certificate_workflow,
    api_certificate_act,
    api_reissue,
    api_preview,
    api_approvals,
    api_approve_batch,
    api_approve_one,
]
