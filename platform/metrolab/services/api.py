"""JSON API of the services portal's staff side under /api/v1: the twins of the clerk's 检定申请
pages (受理 into an entrustment, 不予受理)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post

from metrolab.kernel.errors import Refused
from metrolab.services import documents, services
from metrolab.web.api import errors
from metrolab.web.params import Id, SearchText, ShortText
from metrolab.web.permissions import perm

TAGS = ["services"]


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True):
    customer: ShortText = ""  # blank: the unit name the customer typed
    new_customer: bool = False  # a customer not on file is made only when this says so


class DeclineIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[
        str, msgspec.Meta(max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")
    ]


@get(
    "/api/v1/services/applications",
    opt=perm("services.applications"),
    tags=TAGS,
    summary="检定申请列表（默认待受理）",
    responses=errors(),
)
async def api_applications(status: SearchText = "submitted") -> dict[str, Any]:
    if status not in {"submitted", "accepted", "declined"}:
        raise Refused("status 应为 submitted、accepted 或 declined")
    return {"items": await services.applications(status)}


@get(
    "/api/v1/services/applications/{application_id:int}",
    opt=perm("services.applications"),
    tags=TAGS,
    summary="检定申请详情",
    responses=errors(404),
)
async def api_application(application_id: Id) -> dict[str, Any]:
    return await services.get(application_id)


@post(
    "/api/v1/services/applications/{application_id:int}/accept",
    opt=perm("services.applications"),
    tags=TAGS,
    summary="受理检定申请（生成委托单）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_accept(request: Request, application_id: Id, data: AcceptIn) -> dict[str, Any]:
    return await services.accept(application_id, request.user, data.customer, data.new_customer)


@post(
    "/api/v1/services/applications/{application_id:int}/decline",
    opt=perm("services.applications"),
    tags=TAGS,
    summary="不予受理检定申请（须填写原因）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_decline(request: Request, application_id: Id, data: DeclineIn) -> dict[str, Any]:
    return await services.decline(application_id, request.user, data.reason)


class DocumentIn(msgspec.Struct, forbid_unknown_fields=True):
    title: ShortText
    category: ShortText
    filename: ShortText
    content_base64: Annotated[str, msgspec.Meta(max_length=15 * 1024 * 1024)]


@get(
    "/api/v1/services/documents",
    opt=perm("services.documents"),
    tags=TAGS,
    summary="门户资料（含已撤下）",
    responses=errors(),
)
async def api_documents() -> dict[str, Any]:
    return {"items": await documents.listed(include_withdrawn=True)}


@post(
    "/api/v1/services/documents",
    opt=perm("services.documents"),
    tags=TAGS,
    summary="发布资料（文件 base64：PDF、PNG、JPEG、DOCX、XLSX）",
    status_code=201,
    request_max_body_size=16 * 1024 * 1024,
    responses=errors(413),
)
async def api_publish_document(request: Request, data: DocumentIn) -> dict[str, Any]:
    try:
        content = base64.b64decode(data.content_base64, validate=True)
    except ValueError:
        raise Refused("文件内容不是有效的 base64") from None
    return await documents.publish(data.title, data.category, content, data.filename, request.user)


@post(
    "/api/v1/services/documents/{doc_id:int}/withdraw",
    opt=perm("services.documents"),
    tags=TAGS,
    summary="撤下资料",
    status_code=200,
    responses=errors(404, 409),
)
async def api_withdraw_document(request: Request, doc_id: Id) -> dict[str, Any]:
    return await documents.withdraw(doc_id, request.user)


HANDLERS = [
    api_applications,
    api_application,
    api_accept,
    api_decline,
    api_documents,
    api_publish_document,
    api_withdraw_document,
]
