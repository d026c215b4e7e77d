"""Pages of 消息公告 (§5.6.3); the JSON twins are in notices_api.py, on the same services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab.kernel.errors import Refused
from metrolab.office import notices, notices_api
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, read_upload, see_other
from metrolab.web.params import Code, Id
from metrolab.web.permissions import AUTHENTICATED, authenticated, perm

UPLOAD_FIELDS = ("attachment_0", "attachment_1", "attachment_2")


async def _list_page(
    request: Request, *, error: str = "", values: Any = None, status: int = 200
) -> Template:
    return page(
        "office/notices.html",
        status_code=status,
        title=_("消息公告"),
        inbox=await notices.inbox(request.user),
        written=await notices.written(request.user),
        targets=await notices.targets() if request.user.can(notices.PUBLISH) else {},
        error=error,
        values=values or {},
    )


@get("/office/notices", opt=AUTHENTICATED, include_in_schema=False)
async def notice_list(request: Request) -> Template:
    return await _list_page(request)


def _form_values(form: dict[str, str]) -> dict[str, Any]:
    return {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "needs_action": form.get("needs_action", ""),
        "target_all": form.get("target_all") == "1",
        "departments": [
            int(k[5:]) for k in form if k.startswith("dept_") and k[5:].isdigit() and len(k) < 20
        ],
        "roles": [k[5:] for k in form if k.startswith("role_") and len(k) < 60],
    }


@post(
    "/office/notices",
    opt=perm(notices.PUBLISH, api="POST /api/v1/office/notices"),
    include_in_schema=False,
    request_max_body_size=3 * 10 * 1024 * 1024 + 1024 * 1024,
)
async def notice_create(request: Request) -> Response | Template:
    form = await form_dict(request)
    values = _form_values(form)
    try:
        files = [await read_upload(request, name) for name in UPLOAD_FIELDS]
        row = await notices.create(values, files, request.user)
    except Refused as exc:
        return await _list_page(request, error=exc.detail, values=form, status=exc.status_code)
    return see_other(f"/office/notices/{row['id']}")


@get("/office/notices/{notice_id:int}", opt=AUTHENTICATED, include_in_schema=False)
async def notice_detail(request: Request, notice_id: Id) -> Template:
    row = await notices.open_notice(notice_id, request.user)
    return page(
        "office/notice_detail.html",
        title=_("消息公告"),
        n=row,
        blocks=notices.blocks(row["body"]),
        can_publish=request.user.can(notices.PUBLISH),
    )


@get(
    "/office/notices/{notice_id:int}/status",
    opt=AUTHENTICATED,
    include_in_schema=False,
)
async def notice_status(request: Request, notice_id: Id) -> Template:
    return page(
        "office/notices_status.html",
        title=_("执行情况"),
        n=await notices.status(notice_id, request.user),
    )


@get(
    "/office/notices/{notice_id:int}/attachments/{index:int}",
    opt=authenticated(api="GET /api/v1/office/notices/{notice_id}/attachments/{index}"),
    include_in_schema=False,
)
async def notice_attachment(request: Request, notice_id: Id, index: int) -> Response:
    return await notices_api.attachment_response(request, notice_id, index)


@post(
    "/office/notices/{notice_id:int}/confirm",
    opt=authenticated(api="POST /api/v1/office/notices/{notice_id}/confirm"),
    include_in_schema=False,
)
async def notice_confirm(request: Request, notice_id: Id) -> Response:
    await notices.confirm(notice_id, request.user)
    return see_other(f"/office/notices/{notice_id}")


@post(
    "/office/notices/{notice_id:int}/{action:str}",
    opt=perm(notices.PUBLISH, api="POST /api/v1/office/notices/{notice_id}/{action}"),
    include_in_schema=False,
)
async def notice_act(request: Request, notice_id: Id, action: Code) -> Response:
    row = await notices.act(notice_id, action, request.user)
    return see_other("/office/notices" if row is None else f"/office/notices/{notice_id}")


HANDLERS = [
    notice_list,
    notice_create,
    notice_detail,
    notice_status,
    notice_attachment,
    notice_confirm,
    notice_act,
    *notices_api.HANDLERS,
]
