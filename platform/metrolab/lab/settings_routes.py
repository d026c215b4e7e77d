"""机构信息: the lab's particulars printed on every certificate, its 检定专用章 and its number pattern.

A page (``/lab/settings``) and its API twin (``GET``/``PUT /api/v1/lab/settings``), admin only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.response import Template

from metrolab.audit.log import record
from metrolab.lab import services
from metrolab.lab.numbering import DEFAULT_PATTERN
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import page, read_upload, see_other
from metrolab.web.permissions import perm

SETTINGS = perm("lab.settings")


def _form(
    values: dict[str, Any], errors: dict[str, str], status_code: int = 200, saved: bool = False
) -> Template:
    example = (
        ""
        if "number_pattern" in errors
        else services.number_example(values.get("number_pattern", ""))
    )
    return page(
        "lab/settings.html",
        status_code=status_code,
        title=_("机构信息"),
        values=values,
        errors={k: _(v) for k, v in errors.items()},
        fields=services.FIELDS,
        saved=saved,
        missing=services.missing_required(values),
        default_pattern=DEFAULT_PATTERN,
        example=example,
    )


@get("/lab/settings", opt=SETTINGS, include_in_schema=False)
async def settings_page(saved: bool = False) -> Template:
    return _form(await services.settings_for_page(), {}, saved=saved)


@post("/lab/settings", opt=SETTINGS, include_in_schema=False)
async def settings_save(request: Request) -> Response:
    form = await request.form()
    raw = {f.key: form.get(f.key, "") for f in services.FIELDS}
    values = services.clean({k: v if isinstance(v, str) else "" for k, v in raw.items()})
    errors = services.validate(values)
    content, _filename = await read_upload(request, "seal")
    seal = None
    if content:
        seal, problem = services.seal_image(content)
        if problem:
            errors["seal"] = problem
    current = await services.settings_for_page()
    if errors:
        return _form({**values, "seal_sha256": current["seal_sha256"]}, errors, 400)
    changed = await services.save(values, seal=seal, remove_seal=form.get("remove_seal") == "1")
    await record(
        "lab.settings_saved",
        actor=request.user,
        target_type="lab_settings",
        target_id=1,
        details={"changed": changed},
    )
    return see_other("/lab/settings?saved=1")


def _api_view(values: dict[str, Any]) -> dict[str, Any]:
    out = {f.key: values.get(f.key, "") for f in services.FIELDS}
    out["number_example"] = services.number_example(out["number_pattern"])
    out["seal_sha256"] = values.get("seal_sha256", "")
    out["missing_required"] = services.missing_required(values)
    return out


@get(
    "/api/v1/lab/settings",
    opt=SETTINGS,
    tags=["lab"],
    summary="机构信息（证书所印单位名称、授权、地址、编号格式）",
)
async def api_settings() -> dict[str, Any]:
    return _api_view(await services.settings_for_page())


@put(
    "/api/v1/lab/settings",
    opt=SETTINGS,
    tags=["lab"],
    summary="修改机构信息（只改给出的字段；seal 为 PNG/JPEG 的 base64，null 表示删除检定专用章）",
)
async def api_settings_update(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(status_code=400, detail="请求体应为 JSON 对象")
    unknown = sorted(set(data) - {f.key for f in services.FIELDS} - {"seal"})
    if unknown:
        raise UserError(status_code=400, detail=f"未知字段：{'、'.join(map(str, unknown))}")
    wrong = [k for k, v in data.items() if k != "seal" and not isinstance(v, str)]
    if wrong:
        raise UserError(status_code=400, detail=f"字段 {'、'.join(wrong)} 应为字符串")
    values = services.clean(data)
    errors = services.validate(values)
    seal, remove = None, "seal" in data and data["seal"] in (None, "")
    if data.get("seal"):
        try:
            content = base64.b64decode(str(data["seal"]), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        seal, problem = (
            services.seal_image(content)
            if content
            else (None, "检定专用章应为 PNG/JPEG 图片的 base64 编码")
        )
        if problem:
            errors["seal"] = problem
    if errors:
        raise UserError(
            status_code=400,
            detail="；".join(errors.values()),
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )
    changed = await services.save(values, seal=seal, remove_seal=remove)
    await record(
        "lab.settings_saved",
        actor=request.user,
        target_type="lab_settings",
        target_id=1,
        details={"changed": changed, "via": "api"},
    )
    return _api_view(await services.settings_for_page())


@get("/api/v1/lab/settings/seal", opt=SETTINGS, tags=["lab"], summary="检定专用章图片（PNG）")
async def api_seal() -> Response:
    png = await services.seal_png()
    if png is None:
        raise UserError(status_code=404, detail="尚未上传检定专用章图片")
    return Response(content=png, media_type="image/png", headers={"cache-control": "no-store"})


ROUTES = [settings_page, settings_save, api_settings, api_settings_update, api_seal]
