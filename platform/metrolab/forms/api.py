"""JSON API of the forms feature under /api/v1: the same service actions (and audit rows) as the pages.

A definition is free JSON (the form engine checks it in full and answers 400 naming each place)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post, put

from metrolab.forms import services
from metrolab.web.api import errors
from metrolab.web.errors import UserError
from metrolab.web.params import INT32_MAX, Code, Id, LongText, Password
from metrolab.web.permissions import perm

TAGS = ["forms"]
JSON = "application/json"


class SaveIn(msgspec.Struct):
    definition: dict[str, Any]
    revision: Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)] = 0


class ApproveIn(msgspec.Struct):
    password: Password


class ReturnIn(msgspec.Struct):
    reason: LongText


class SubmitIn(msgspec.Struct):
    note: LongText = ""


class Problem(msgspec.Struct):
    place: str
    message: str


class Saved(msgspec.Struct):
    """The draft is kept even with problems; they are listed here and block 提交审核."""

    id: int
    revision: int
    problems: list[Problem] = []


def _public(version: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in version.items()}


async def _version(version_id: int) -> dict[str, Any]:
    version = await services.get_version(version_id)
    if version is None:
        raise UserError(status_code=404, detail="表单版本不存在")
    return version


@get("/api/v1/forms", opt=perm("forms.view"), tags=TAGS, summary="表单定义列表", responses=errors())
async def api_forms() -> list[dict[str, Any]]:
    return [_public(f) for f in await services.list_definitions()]


@post(
    "/api/v1/forms",
    opt=perm("forms.design"),
    tags=TAGS,
    summary="导入表单定义（请求体为定义 JSON；新表单或新草稿版本）",
    status_code=201,
    responses=errors(409, 413),
)
async def api_import(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > services.MAX_IMPORT_BYTES:
        raise UserError(status_code=413, detail="文件过大（表单定义不超过 2 MB）")
    return _public(await services.import_recorded(body, request.user))


@get(
    "/api/v1/forms/versions/{version_id:int}",
    opt=perm("forms.view"),
    tags=TAGS,
    summary="表单版本",
    responses=errors(404),
)
async def api_version(version_id: Id) -> dict[str, Any]:
    version = await _version(version_id)
    problems = (
        await services.draft_problems(version["definition"]) if version["status"] == "draft" else []
    )
    return {**_public(version), "problems": problems}


@get(
    "/api/v1/forms/versions/{version_id:int}/export",
    opt=perm("forms.view"),
    tags=TAGS,
    summary="导出表单版本（定义 JSON 文件）",
    media_type=JSON,
    responses=errors(404),
)
async def api_export(version_id: Id) -> Response:
    version = await _version(version_id)
    name = f"{version['form_key']}_v{version['number']}.json"
    return Response(
        content=services.export_json(version),
        media_type=JSON,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@put(
    "/api/v1/forms/versions/{version_id:int}",
    opt=perm("forms.design"),
    tags=TAGS,
    summary="保存草稿（{definition, revision}；修订号过期时 409）",
    responses=errors(404, 409),
)
async def api_save(request: Request, version_id: Id, data: SaveIn) -> Saved:
    version = await services.act(
        "save", version_id, request.user, definition=data.definition, revision=data.revision
    )
    problems = await services.draft_problems(version["definition"])
    return Saved(
        id=version_id,
        revision=version["revision"],
        problems=[Problem(place=p["place"], message=p["message"]) for p in problems],
    )


@post(
    "/api/v1/forms/versions/{version_id:int}/submit",
    opt=perm("forms.design"),
    tags=TAGS,
    summary="提交审核（{note}：变更说明，必填）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_submit(request: Request, version_id: Id, data: SubmitIn) -> dict[str, Any]:
    return _public(await services.act("submit", version_id, request.user, note=data.note))


@post(
    "/api/v1/forms/versions/{version_id:int}/approve",
    opt=perm("forms.review"),
    tags=TAGS,
    summary="批准发布（{password}，电子签名）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_approve(request: Request, version_id: Id, data: ApproveIn) -> dict[str, Any]:
    return _public(await services.act("approve", version_id, request.user, password=data.password))


@post(
    "/api/v1/forms/versions/{version_id:int}/return",
    opt=perm("forms.review"),
    tags=TAGS,
    summary="退回修改（{reason}）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_return(request: Request, version_id: Id, data: ReturnIn) -> dict[str, Any]:
    return _public(await services.act("return", version_id, request.user, reason=data.reason))


@post(
    "/api/v1/forms/versions/{version_id:int}/retire",
    opt=perm("forms.design"),
    tags=TAGS,
    summary="停用",
    status_code=200,
    responses=errors(404, 409),
)
async def api_retire(request: Request, version_id: Id) -> dict[str, Any]:
    return _public(await services.act("retire", version_id, request.user))


@post(
    "/api/v1/forms/{key:str}/drafts",
    opt=perm("forms.design"),
    tags=TAGS,
    summary="新建草稿（复制最新版本；已有草稿时返回它）",
    status_code=201,
    responses=errors(404, 409),
)
async def api_new_draft(request: Request, key: Code) -> dict[str, Any]:
    return _public(await services.open_draft(key, request.user))


HANDLERS = [
    api_forms,
    api_import,
    api_version,
    api_export,
    api_save,
    api_submit,
    api_approve,
    api_return,
    api_retire,
    api_new_draft,
]
