"""JSON API of 消息公告 (§5.6.3) under /api/v1/office/notices — the twins of the /office/notices pages."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post

from metrolab.kernel.errors import Refused
from metrolab.office import notices
from metrolab.web.api import errors
from metrolab.web.params import Code, Id
from metrolab.web.permissions import AUTHENTICATED, perm

TAGS = ["office"]
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


class AttachmentIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=200, pattern=_TEXT)]
    content_base64: Annotated[str, msgspec.Meta(max_length=14_000_000)]  # PDF/PNG/JPEG


class NoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_TEXT)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=notices.BODY_LIMIT, pattern=_TEXT)]
    needs_action: Literal["", "acknowledge", "done"] = ""  # 确认已读 / 已办理
    target_all: bool = False
    departments: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]],
        msgspec.Meta(max_length=notices.MAX_TARGETS),
    ] = []
    roles: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=_TEXT)]],
        msgspec.Meta(max_length=notices.MAX_TARGETS),
    ] = []
    attachments: Annotated[
        list[AttachmentIn], msgspec.Meta(max_length=notices.MAX_ATTACHMENTS)
    ] = []


@get(
    "/api/v1/office/notices",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="我收到的消息公告（及我撰写的）",
    responses=errors(),
)
async def api_notices(request: Request) -> dict[str, Any]:
    return {
        "inbox": await notices.inbox(request.user),
        "written": await notices.written(request.user),
    }


@post(
    "/api/v1/office/notices",
    opt=perm(notices.PUBLISH),
    tags=TAGS,
    summary="撰写消息公告（草稿）",
    responses=errors(),
    request_max_body_size=notices.MAX_ATTACHMENTS * 14_000_000 + 1024 * 1024,
)
async def api_notice_create(request: Request, data: NoticeIn) -> dict[str, Any]:
    files = []
    for item in data.attachments:
        try:
            files.append((base64.b64decode(item.content_base64, validate=True), item.name))
        except (binascii.Error, ValueError):
            raise Refused(f"附件 {item.name}：不是有效的 base64") from None
    values = {
        "title": data.title,
        "body": data.body,
        "needs_action": data.needs_action,
        "target_all": data.target_all,
        "departments": list(data.departments),
        "roles": list(data.roles),
    }
    return await notices.create(values, files, request.user)


@get(
    "/api/v1/office/notices/{notice_id:int}",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="查看消息公告（标记为已读）",
    responses=errors(404),
)
async def api_notice(request: Request, notice_id: Id) -> dict[str, Any]:
    row = await notices.open_notice(notice_id, request.user)
    return {**row, "blocks": notices.blocks(row["body"])}


@get(
    "/api/v1/office/notices/{notice_id:int}/status",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="消息公告执行情况（撰写人）",
    responses=errors(404),
)
async def api_notice_status(request: Request, notice_id: Id) -> dict[str, Any]:
    return await notices.status(notice_id, request.user)


@get(
    "/api/v1/office/notices/{notice_id:int}/attachments/{index:int}",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="下载消息公告附件",
    media_type="application/octet-stream",
    responses=errors(404),
)
async def api_notice_attachment(
    request: Request, notice_id: Id, index: Annotated[int, msgspec.Meta(ge=0, le=100)]
) -> Response:
    return await attachment_response(request, notice_id, index)


async def attachment_response(request: Request, notice_id: int, index: int) -> Response:
    data, item = await notices.attachment(notice_id, index, request.user)
    return Response(
        data,
        media_type=item["type"],
        headers={"content-disposition": f'attachment; filename="notice-{notice_id}-{index}"'},
    )


@post(
    "/api/v1/office/notices/{notice_id:int}/confirm",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="确认已读 / 已办理",
    status_code=200,
    responses=errors(404, 409),
)
async def api_notice_confirm(request: Request, notice_id: Id) -> dict[str, Any]:
    return await notices.confirm(notice_id, request.user)


@post(
    "/api/v1/office/notices/{notice_id:int}/{action:str}",
    opt=perm(notices.PUBLISH),
    tags=TAGS,
    summary="发布 / 撤回 / 删除消息公告（publish / withdraw / delete）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_notice_act(request: Request, notice_id: Id, action: Code) -> dict[str, Any]:
    row = await notices.act(notice_id, action, request.user)
    return {"id": notice_id, "deleted": True} if row is None else row


HANDLERS = [
    api_notices,
    api_notice_create,
    api_notice,
    api_notice_status,
    api_notice_attachment,
    api_notice_confirm,
    api_notice_act,
]
