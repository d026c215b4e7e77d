"""JSON API of the form designer under /api/v1/designer (a bench PC or an external form editor):
the same answers as the designer page's own calls."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post

from metrolab.designer import services
from metrolab.designer.starters import create_form
from metrolab.web.api import errors
from metrolab.web.i18n import current_language
from metrolab.web.params import Code, OptionalCode, ShortText
from metrolab.web.permissions import perm

TAGS = ["designer"]
DESIGN = perm("forms.design")


@post(
    "/api/v1/designer/check-expression",
    opt=DESIGN,
    status_code=200,
    tags=TAGS,
    summary="检查表达式（语法、白名单、名称）",
    responses=errors(),
)
async def api_check_expression(data: services.CheckIn) -> dict[str, Any]:
    return services.check_expression(data.expression, data.known_names)


@post(
    "/api/v1/designer/preview",
    opt=DESIGN,
    status_code=200,
    tags=TAGS,
    summary="预览表单定义（示例数据，服务器计算）",
    request_max_body_size=services.MAX_BODY,
    responses=errors(413),
)
async def api_preview(data: services.PreviewIn) -> dict[str, Any]:
    return await services.preview_draft(data, current_language())


@post(
    "/api/v1/designer/validate",
    opt=DESIGN,
    status_code=200,
    tags=TAGS,
    summary="检查要导入的表单定义文件（key：要导入到的表单）",
    request_max_body_size=services.MAX_BODY,
    responses=errors(413),
)
async def api_validate(data: services.ValidateIn, key: OptionalCode = None) -> dict[str, Any]:
    return services.validate_import(data.text, key)


@post(
    "/api/v1/designer/open/{key:str}",
    opt=DESIGN,
    status_code=201,
    tags=TAGS,
    summary="在设计器中修改：新建草稿（已有草稿时返回它）及其设计器页面地址",
    responses=errors(404, 409),
)
async def api_open(request: Request, key: Code) -> dict[str, Any]:
    version = await services.open_in_designer(key, request.user)
    return {
        "version_id": version["id"],
        "number": version["number"],
        "revision": version["revision"],
        "status": version["status"],
        "designer_url": f"/forms/versions/{version['id']}/designer",
    }


class NewFormIn(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(max_length=100)]
    title_zh: ShortText
    starter: Annotated[str, msgspec.Meta(max_length=40)] = "blank"
    title_en: ShortText = ""
    kind: Annotated[str, msgspec.Meta(max_length=30)] = "record"
    catalogue: Annotated[str, msgspec.Meta(max_length=100)] = ""


@post(
    "/api/v1/designer/forms",
    opt=DESIGN,
    status_code=201,
    tags=TAGS,
    summary="新建表单（starter：blank 空白 / entrustment 委托单 / record 原始记录）：v1 草稿及其设计器页面地址",
    responses=errors(),
)
async def api_new_form(request: Request, data: NewFormIn) -> dict[str, Any]:
    version = await create_form(
        starter=data.starter,
        key=data.key,
        title_zh=data.title_zh,
        title_en=data.title_en,
        kind=data.kind,
        catalogue=data.catalogue,
        user=request.user,
    )
    return {
        "version_id": version["id"],
        "key": version["form_key"],
        "number": version["number"],
        "status": version["status"],
        "designer_url": f"/forms/versions/{version['id']}/designer",
    }


HANDLERS = [api_check_expression, api_preview, api_validate, api_open, api_new_form]
