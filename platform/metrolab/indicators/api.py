"""JSON API of the indicator database under /api/v1 (errors are JSON with a 中文 `detail`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post, put

from metrolab.indicators import services, type_templates
from metrolab.indicators.routes import MANAGE, VIEW
from metrolab.web.errors import UserError

TAGS = ["indicators"]


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(status_code=400, detail="请求体应为 JSON 对象")
    return data


@get("/api/v1/instrument-types", opt=VIEW, tags=TAGS, summary="器具类型列表（含检定项目）")
async def api_types(active_only: bool = True) -> list[dict[str, Any]]:
    return await services.list_types(active_only=active_only)


@get("/api/v1/instrument-types/{code:str}", opt=VIEW, tags=TAGS, summary="器具类型（指标库格式）")
async def api_type(code: str) -> dict[str, Any]:
    found = await services.get_catalogue(code)
    if found is None:
        raise UserError(status_code=404, detail=f"器具类型“{code}”不存在")
    return found


@get(
    "/api/v1/instrument-types/{code:str}/templates",
    opt=VIEW,
    tags=TAGS,
    summary="器具类型出具证书、通知书所用的模板（含已发布版本号；未指定时为系统默认模板）",
)
async def api_type_templates(code: str) -> list[dict[str, Any]]:
    found = await services.get_catalogue(code)
    if found is None:
        raise UserError(status_code=404, detail=f"器具类型“{code}”不存在")
    return await type_templates.in_use_of(found)


@post("/api/v1/instrument-types", opt=MANAGE, tags=TAGS, summary="新建器具类型", status_code=201)
async def api_create_type(request: Request, data: Any) -> dict[str, Any]:
    return await services.save_type(_object(data), request.user, mode="create")


@put(
    "/api/v1/instrument-types/{code:str}", opt=MANAGE, tags=TAGS, summary="修改器具类型（整体替换）"
)
async def api_update_type(request: Request, code: str, data: Any) -> dict[str, Any]:
    body = _object(data)
    body.setdefault("code", code)
    return await services.save_type(body, request.user, mode="update", original_code=code)


@post(
    "/api/v1/instrument-types/import",
    opt=MANAGE,
    tags=TAGS,
    summary="导入器具类型（JSON 文件内容；全部校验通过才写入）",
)
async def api_import_types(request: Request, dry_run: bool = False) -> Response:
    result = await services.import_types(await request.body(), actor=request.user, dry_run=dry_run)
    return Response(content=result.as_dict(), status_code=200 if result.ok else 400)


@get("/api/v1/instrument-types/export", opt=VIEW, tags=TAGS, summary="导出器具类型（JSON）")
async def api_export_types(code: list[str] | None = None) -> Response:
    return Response(
        content=await services.export_types(code or None), media_type="application/json"
    )


@get("/api/v1/standards", opt=VIEW, tags=TAGS, summary="计量标准装置与标准器")
async def api_standards(q: str = "", kind: str = "") -> list[dict[str, Any]]:
    return await services.list_standards(q, kind)


@get("/api/v1/standards/expiring", opt=VIEW, tags=TAGS, summary="已过期和即将到期的标准器")
async def api_expiring(within_days: int = services.EXPIRY_WARNING_DAYS) -> list[dict[str, Any]]:
    return await services.expiring_standards(max(0, min(within_days, 3650)))


@get("/api/v1/standards/{code:str}", opt=VIEW, tags=TAGS, summary="标准器详情")
async def api_standard(code: str) -> dict[str, Any]:
    found = await services.get_standard(code)
    if found is None:
        raise UserError(status_code=404, detail=f"标准器“{code}”不存在")
    return found


@post("/api/v1/standards", opt=MANAGE, tags=TAGS, summary="新建标准器", status_code=201)
async def api_create_standard(request: Request, data: Any) -> dict[str, Any]:
    return await services.save_standard(_object(data), request.user, mode="create")


@put("/api/v1/standards/{code:str}", opt=MANAGE, tags=TAGS, summary="修改标准器")
async def api_update_standard(request: Request, code: str, data: Any) -> dict[str, Any]:
    body = _object(data)
    body.setdefault("code", code)
    return await services.save_standard(body, request.user, mode="update", original_code=code)


@post(
    "/api/v1/standards/import", opt=MANAGE, tags=TAGS, summary="导入标准器（standards.json 格式）"
)
async def api_import_standards(request: Request, dry_run: bool = False) -> Response:
    result = await services.import_standards(
        await request.body(), actor=request.user, dry_run=dry_run
    )
    return Response(content=result.as_dict(), status_code=200 if result.ok else 400)


@get("/api/v1/standards/export", opt=VIEW, tags=TAGS, summary="导出标准器（JSON）")
async def api_export_standards(code: list[str] | None = None) -> Response:
    return Response(
        content=await services.export_standards(code or None), media_type="application/json"
    )


HANDLERS = [
    api_types,
    api_type,
    api_type_templates,
    api_create_type,
    api_update_type,
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
