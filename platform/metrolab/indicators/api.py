"""JSON API of the indicator database under /api/v1 (errors are JSON with a 中文 `detail`).

An instrument type and a standard travel in the indicator-database JSON shape (free JSON, checked in
full by the services, which answer 400 naming each field)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post, put

from metrolab.indicators import services, type_templates
from metrolab.indicators.routes import MANAGE, VIEW
from metrolab.web.api import errors
from metrolab.web.errors import UserError
from metrolab.web.params import Code, Days, SearchText

TAGS = ["indicators"]
JSON = "application/json"


class ActiveIn(msgspec.Struct):
    active: bool


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > services.MAX_IMPORT_BYTES:
        raise UserError(status_code=413, detail="文件过大（不得超过 5 MB）")
    return body


def _import_answer(result: services.ImportResult) -> dict[str, Any]:
    """What the import did; any problem refuses the whole file (400, each problem in `errors`)."""
    if not result.ok:
        raise UserError(
            status_code=400,
            detail="；".join(result.errors),
            extra=[{"key": "file", "message": e} for e in result.errors],
        )
    return result.as_dict()


async def _type_or_404(code: str) -> dict[str, Any]:
    found = await services.get_catalogue(code)
    if found is None:
        raise UserError(status_code=404, detail=f"器具类型“{code}”不存在")
    return found


@get(
    "/api/v1/instrument-types",
    opt=VIEW,
    tags=TAGS,
    summary="器具类型列表（含检定项目）",
    responses=errors(),
)
async def api_types(active_only: bool = True) -> list[dict[str, Any]]:
    return await services.list_types(active_only=active_only)


@get(
    "/api/v1/instrument-types/{code:str}",
    opt=VIEW,
    tags=TAGS,
    summary="器具类型（指标库格式）",
    responses=errors(404),
)
async def api_type(code: Code) -> dict[str, Any]:
    return await _type_or_404(code)


@get(
    "/api/v1/instrument-types/{code:str}/templates",
    opt=VIEW,
    tags=TAGS,
    summary="器具类型出具证书、通知书所用的模板（含已发布版本号；未指定时为系统默认模板）",
    responses=errors(404),
)
async def api_type_templates(code: Code) -> list[dict[str, Any]]:
    return await type_templates.in_use_of(await _type_or_404(code))


@post(
    "/api/v1/instrument-types",
    opt=MANAGE,
    tags=TAGS,
    summary="新建器具类型",
    status_code=201,
    responses=errors(409),
)
async def api_create_type(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return await services.save_type(data, request.user, mode="create")


@put(
    "/api/v1/instrument-types/{code:str}",
    opt=MANAGE,
    tags=TAGS,
    summary="修改器具类型（整体替换）",
    responses=errors(404, 409),
)
async def api_update_type(request: Request, code: Code, data: dict[str, Any]) -> dict[str, Any]:
    await _type_or_404(code)
    data.setdefault("code", code)
    return await services.save_type(data, request.user, mode="update", original_code=code)


@post(
    "/api/v1/instrument-types/{code:str}/active",
    opt=MANAGE,
    tags=TAGS,
    summary="启用或停用器具类型（{active: true|false}）",
    status_code=200,
    responses=errors(404),
)
async def api_set_type_active(request: Request, code: Code, data: ActiveIn) -> dict[str, Any]:
    await _type_or_404(code)
    await services.set_type_active(code, data.active, request.user)
    return await _type_or_404(code)


@post(
    "/api/v1/instrument-types/import",
    opt=MANAGE,
    tags=TAGS,
    summary="导入器具类型（JSON 文件内容；全部校验通过才写入；dry_run=true 只检查）",
    status_code=200,
    responses=errors(413),
)
async def api_import_types(request: Request, dry_run: bool = False) -> dict[str, Any]:
    result = await services.import_types(await _body(request), actor=request.user, dry_run=dry_run)
    return _import_answer(result)


@get(
    "/api/v1/instrument-types/export",
    opt=VIEW,
    tags=TAGS,
    summary="导出器具类型（JSON）",
    media_type=JSON,
    responses=errors(),
)
async def api_export_types(code: list[str] | None = None) -> Response:
    return Response(
        content=await services.export_types(services.checked_codes(code)), media_type=JSON
    )


@get(
    "/api/v1/standards",
    opt=VIEW,
    tags=TAGS,
    summary="计量标准装置与标准器",
    responses=errors(),
)
async def api_standards(q: SearchText = "", kind: SearchText = "") -> list[dict[str, Any]]:
    return await services.list_standards(q, kind)


@get(
    "/api/v1/standards/expiring",
    opt=VIEW,
    tags=TAGS,
    summary="已过期和即将到期的标准器",
    responses=errors(),
)
async def api_expiring(within_days: Days = services.EXPIRY_WARNING_DAYS) -> list[dict[str, Any]]:
    return await services.expiring_standards(within_days)


@get(
    "/api/v1/standards/{code:str}",
    opt=VIEW,
    tags=TAGS,
    summary="标准器详情",
    responses=errors(404),
)
async def api_standard(code: Code) -> dict[str, Any]:
    found = await services.get_standard(code)
    if found is None:
        raise UserError(status_code=404, detail=f"标准器“{code}”不存在")
    return found


@post(
    "/api/v1/standards",
    opt=MANAGE,
    tags=TAGS,
    summary="新建标准器",
    status_code=201,
    responses=errors(409),
)
async def api_create_standard(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return await services.save_standard(data, request.user, mode="create")


@put(
    "/api/v1/standards/{code:str}",
    opt=MANAGE,
    tags=TAGS,
    summary="修改标准器",
    responses=errors(404, 409),
)
async def api_update_standard(request: Request, code: Code, data: dict[str, Any]) -> dict[str, Any]:
    if await services.get_standard(code) is None:
        raise UserError(status_code=404, detail=f"标准器“{code}”不存在")
    data.setdefault("code", code)
    return await services.save_standard(data, request.user, mode="update", original_code=code)


@post(
    "/api/v1/standards/import",
    opt=MANAGE,
    tags=TAGS,
    summary="导入标准器（standards.json 格式；dry_run=true 只检查）",
    status_code=200,
    responses=errors(413),
)
async def api_import_standards(request: Request, dry_run: bool = False) -> dict[str, Any]:
    result = await services.import_standards(
        await _body(request), actor=request.user, dry_run=dry_run
    )
    return _import_answer(result)


@get(
    "/api/v1/standards/export",
    opt=VIEW,
    tags=TAGS,
    summary="导出标准器（JSON）",
    media_type=JSON,
    responses=errors(),
)
async def api_export_standards(code: list[str] | None = None) -> Response:
    return Response(
        content=await services.export_standards(services.checked_codes(code)), media_type=JSON
    )


HANDLERS = [
    api_types,
    api_type,
    api_type_templates,
    api_create_type,
    api_update_type,
    api_set_type_active,
    api_import_types,
    api_export_types,
    api_standards,
    api_expiring,
    api_standard,
    api_create_standard,
    api_update_standard,
    api_import_standards,
    api_export_standards,
]
