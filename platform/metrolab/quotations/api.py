"""JSON API of the quotations feature under /api/v1/quotations: the twins of the /quotations pages, on
the same service functions. Every input is bounded (ids, texts, amounts, line counts)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post, put

from metrolab.audit.log import record
from metrolab.quotations import links, printing, services, workflow
from metrolab.statistics.exports import XLSX
from metrolab.web.api import errors
from metrolab.web.params import Code, Id, OptionalId, SearchText, StructId
from metrolab.web.permissions import perm
from metrolab.workflows import services as workflows

TAGS = ["quotations"]
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
_AMOUNT = r"^[0-9]{0,10}(\.[0-9]{0,2})?$"


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    instrument_type: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_TEXT)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=services.MAX_QUANTITY)]
    # 单价（元）as decimal text; omitted: the customer's price for the type (客户证价)
    unit_price: Annotated[str, msgspec.Meta(max_length=13, pattern=_AMOUNT)] | None = None
    discount: Annotated[str, msgspec.Meta(max_length=6, pattern=_AMOUNT)] = "0"  # 优惠（%）
    remarks: Annotated[str, msgspec.Meta(max_length=200, pattern=_TEXT)] = ""


class QuotationIn(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: StructId
    valid_until: date  # 有效期至
    quoted_on: date | None = None  # 报价日期 (today)
    contact: Annotated[str, msgspec.Meta(max_length=100, pattern=_TEXT)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=50, pattern=_TEXT)] = ""
    remarks: Annotated[str, msgspec.Meta(max_length=2000, pattern=_TEXT)] = ""
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=services.MAX_LINES)] = []
    lock_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None  # PUT only


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000, pattern=_TEXT)] | None = None
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None  # 签名
    lock_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None


class ConvertIn(msgspec.Struct, forbid_unknown_fields=True):
    """The 委托受理单's values (as POST /api/v1/entrustments takes them); the quotation's customer
    and lines when omitted — serials are then still to be typed, so most clients send them."""

    values: dict[str, Any] | None = None
    form_version: StructId | None = None


class ContractLinkIn(msgspec.Struct, forbid_unknown_fields=True):
    contract_id: StructId | None = None  # None: 取消关联


class ContractNewIn(msgspec.Struct, forbid_unknown_fields=True):
    contract_number: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_TEXT)]
    signed_on: date


def _values(data: QuotationIn) -> dict[str, Any]:
    return {
        "customer": str(data.customer_id),
        "contact": data.contact,
        "phone": data.phone,
        "quoted_on": (data.quoted_on or date.today()).isoformat(),
        "valid_until": data.valid_until.isoformat(),
        "remarks": data.remarks,
        "lines": [
            {
                "instrument_type": ln.instrument_type,
                "quantity": str(ln.quantity),
                "unit_price": ln.unit_price or "",
                "discount": ln.discount or "0",
                "remarks": ln.remarks,
            }
            for ln in data.lines
        ],
    }


async def _body(request: Request, quotation_id: int) -> dict[str, Any]:
    row = await services.get(quotation_id)
    labels = await workflows.state_labels(services.WF)
    out = {k: v for k, v in row.items() if k != "lines"}
    out["lines"] = services.line_view(row["lines"])
    out["status_label"] = labels.get(row["status"], "")
    out["actions"] = [
        t.key for t, refused in await workflow.actions(row, request.user) if refused is None
    ]
    out["history"] = await workflow.history(quotation_id)
    out["contract_detail"] = await links.contract_view(row)
    return out


@get(
    "/api/v1/quotations",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="查询报价单（报价单号、客户名称；状态；客户编号）",
    responses=errors(),
)
async def api_quotations(
    q: SearchText = "", status: SearchText = "", customer: OptionalId = None
) -> list[dict[str, Any]]:
    return await services.query(q, status, customer)


@get(
    "/api/v1/quotations.xlsx",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="导出报价单（xlsx）",
    media_type=XLSX,
    responses=errors(),
)
async def api_quotations_xlsx(
    q: SearchText = "", status: SearchText = "", customer: OptionalId = None
) -> Response:
    return xlsx_response(
        "quotations.xlsx", await services.export_xlsx(await services.query(q, status, customer))
    )


@post(
    "/api/v1/quotations",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="编制报价单（草稿；未填单价的行取该客户的客户证价）",
    status_code=201,
    responses=errors(409),
)
async def api_quotation_create(request: Request, data: QuotationIn) -> dict[str, Any]:
    row = await services.create(_values(data), request.user)
    return await _body(request, row["id"])


@post(
    "/api/v1/quotations/compute",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="报价试算（单价取客户证价、每行金额与合计），不保存",
    status_code=200,
    responses=errors(),
)
async def api_quotation_compute(data: QuotationIn) -> dict[str, Any]:
    values = await services.prefill(_values(data))
    clean = await services.check(values)
    return {
        "lines": services.line_view(clean["lines"]),
        **services.totals(clean["lines"]),
        "errors": [{"key": k, "message": v} for k, v in clean["errors"].items()],
    }


@get(
    "/api/v1/quotations/{quotation_id:int}",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="报价单及其明细、合计、流转记录",
    responses=errors(404),
)
async def api_quotation(request: Request, quotation_id: Id) -> dict[str, Any]:
    return await _body(request, quotation_id)


@put(
    "/api/v1/quotations/{quotation_id:int}",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="修改报价单（草稿）",
    responses=errors(404, 409),
)
async def api_quotation_update(
    request: Request, quotation_id: Id, data: QuotationIn
) -> dict[str, Any]:
    await services.update(quotation_id, _values(data), request.user, data.lock_version)
    return await _body(request, quotation_id)


async def print_response(request: Request, quotation_id: int, fmt: str) -> Response:
    """The approved quotation as Word or PDF, rendered from its pinned template version."""
    if fmt == "pdf":
        data, name = await printing.pdf(quotation_id)
        media = "application/pdf"
    else:
        data, name = await printing.docx(quotation_id)
        media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    await record(
        "quotation.printed",
        actor=request.user,
        target_type="quotation",
        target_id=quotation_id,
        details={"format": fmt},
    )
    return Response(
        data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


@get(
    "/api/v1/quotations/{quotation_id:int}/print.pdf",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="打印报价单（PDF，按批准时固定的报价单模板版本）",
    media_type="application/pdf",
    responses=errors(404, 409, 422),
)
async def api_quotation_pdf(request: Request, quotation_id: Id) -> Response:
    return await print_response(request, quotation_id, "pdf")


@get(
    "/api/v1/quotations/{quotation_id:int}/print.docx",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="打印报价单（Word）",
    responses=errors(404, 409, 422),
)
async def api_quotation_docx(request: Request, quotation_id: Id) -> Response:
    return await print_response(request, quotation_id, "docx")


@post(
    "/api/v1/quotations/{quotation_id:int}/entrustment",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="已批准的报价单转为委托单（受理委托，报价单转为“已转委托”）",
    status_code=201,
    responses=errors(404, 409, 413),
)
async def api_quotation_convert(
    request: Request, quotation_id: Id, data: ConvertIn | None = None
) -> dict[str, Any]:
    from metrolab.business import services as entrustments
    from metrolab.engine.forms import parse_submission

    data = data or ConvertIn()
    row = await links.convertible(quotation_id, request.user)
    pin = await entrustments.entrustment_form(data.form_version)
    raw = data.values if data.values is not None else await links.entrustment_data(row)
    values = parse_submission(pin.defn, entrustments.values_as_form(raw))
    await links.convert(quotation_id, request.user, pin, values)
    return await _body(request, quotation_id)  # with entrustment (id) and entrustment_number


@post(
    "/api/v1/quotations/{quotation_id:int}/contract",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="报价单关联该客户的企业合同（contract_id 为空则取消关联）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_quotation_link_contract(
    request: Request, quotation_id: Id, data: ContractLinkIn
) -> dict[str, Any]:
    await links.link_contract(quotation_id, data.contract_id, request.user)
    return await _body(request, quotation_id)


@post(
    "/api/v1/quotations/{quotation_id:int}/contract/new",
    opt=perm("quotations.write"),
    tags=TAGS,
    summary="按报价单登记企业合同（金额为报价总额）并关联",
    status_code=201,
    responses=errors(404, 409),
)
async def api_quotation_new_contract(
    request: Request, quotation_id: Id, data: ContractNewIn
) -> dict[str, Any]:
    await links.contract_from_quotation(
        quotation_id,
        {"contract_number": data.contract_number, "signed_on": data.signed_on.isoformat()},
        request.user,
    )
    return await _body(request, quotation_id)


@post(
    "/api/v1/quotations/{quotation_id:int}/{action:str}",
    opt=perm("quotations.view"),
    tags=TAGS,
    summary="对报价单执行动作（提交审核 / 审核通过 / 审核退回 / 审批通过 / 审批退回 / 作废）；"
    "审核、审批须再次输入密码签名",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_quotation_act(
    request: Request, quotation_id: Id, action: Code, data: ActionIn | None = None
) -> dict[str, Any]:
    data = data or ActionIn()
    applied = await workflow.act(
        quotation_id,
        action,
        request.user,
        reason=data.reason,
        password=data.password,
        expected_lock=data.lock_version,
    )
    body = await _body(request, quotation_id)
    return {**body, "from": applied.from_state, "to": applied.to_state}


def xlsx_response(name: str, data: bytes) -> Response:
    return Response(
        data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


HANDLERS = [
    api_quotations,
    api_quotations_xlsx,
    api_quotation_create,
    api_quotation_compute,
    api_quotation,
    api_quotation_update,
    api_quotation_pdf,
    api_quotation_docx,
    api_quotation_convert,
    api_quotation_link_contract,
    api_quotation_new_contract,
    api_quotation_act,
]
