"""JSON API of the lab feature under /api/v1: 机构信息 (the settings page's twin, its seal) and the
public service pages."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, put
from litestar.params import Parameter

from metrolab.lab import services
from metrolab.web.api import errors
from metrolab.web.errors import UserError
from metrolab.web.params import LongText
from metrolab.web.permissions import perm

TAGS = ["lab"]
SETTINGS, PAGES = perm("lab.settings"), perm("lab.manage")
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# Looser than the columns on purpose: services.validate names the field and its own limit in 中文.
SettingText = Annotated[str, msgspec.Meta(max_length=1000, pattern=_PRINTABLE)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET
SlugParam = Annotated[
    str,
    Parameter(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_\-]+$", description="页面代码"),
]


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given are changed; ``seal`` is a PNG/JPEG in base64, null removes it."""

    name: SettingText | Unset = UNSET
    authorization_note: SettingText | Unset = UNSET
    authorization_no: SettingText | Unset = UNSET
    address: SettingText | Unset = UNSET
    postcode: SettingText | Unset = UNSET
    phone: SettingText | Unset = UNSET
    fax: SettingText | Unset = UNSET
    website: SettingText | Unset = UNSET
    number_pattern: SettingText | Unset = UNSET
    # base64 of ≤ 2 MB (services.SEAL_MAX_BYTES checks the decoded size in words)
    seal: Annotated[str, msgspec.Meta(max_length=3_000_000)] | None | Unset = UNSET


class PublicPageIn(msgspec.Struct, forbid_unknown_fields=True):
    title_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_PRINTABLE)]
    title_en: Annotated[str, msgspec.Meta(max_length=100, pattern=_PRINTABLE)] = ""
    body_zh: LongText = ""
    body_en: LongText = ""


def _settings_view(values: dict[str, Any]) -> dict[str, Any]:
    out = {f.key: values.get(f.key, "") for f in services.FIELDS}
    out["number_example"] = services.number_example(out["number_pattern"])
    out["seal_sha256"] = values.get("seal_sha256", "")
    out["missing_required"] = services.missing_required(values)
    return out


@get(
    "/api/v1/lab/settings",
    opt=SETTINGS,
    tags=TAGS,
    summary="机构信息（证书所印单位名称、授权、地址、编号格式）",
    responses=errors(),
)
async def api_settings() -> dict[str, Any]:
    return _settings_view(await services.settings_for_page())


def _seal(sent: str | None | Unset, problems: dict[str, str]) -> tuple[bytes | None, bool]:
    """(the checked seal image or None, whether to remove the seal)."""
    if sent is UNSET:
        return None, False
    if not sent:  # null or "": remove
        return None, True
    try:
        content = base64.b64decode(str(sent), validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content:
        problems["seal"] = "检定专用章应为 PNG/JPEG 图片的 base64 编码"
        return None, False
    seal, problem = services.seal_image(content)
    if problem:
        problems["seal"] = problem
    return seal, False


@put(
    "/api/v1/lab/settings",
    opt=SETTINGS,
    tags=TAGS,
    summary="修改机构信息（只改给出的字段；seal 为 PNG/JPEG 的 base64，null 表示删除检定专用章）",
    responses=errors(),
)
async def api_settings_update(request: Request, data: SettingsIn) -> dict[str, Any]:
    given = {f.key: getattr(data, f.key) for f in services.FIELDS}
    values = services.clean({k: v for k, v in given.items() if v is not UNSET})
    problems = services.validate(values)
    seal, remove = _seal(data.seal, problems)
    if problems:
        raise UserError(
            status_code=400,
            detail="；".join(problems.values()),
            extra=[{"key": k, "message": v} for k, v in problems.items()],
        )
    await services.save_settings(values, seal=seal, remove_seal=remove, actor=request.user)
    return _settings_view(await services.settings_for_page())


@get(
    "/api/v1/lab/settings/seal",
    opt=SETTINGS,
    tags=TAGS,
    summary="检定专用章图片（PNG）",
    media_type="image/png",
    responses=errors(404),
)
async def api_seal() -> Response:
    png = await services.seal_png()
    if png is None:
        raise UserError(status_code=404, detail="尚未上传检定专用章图片")
    return Response(content=png, media_type="image/png", headers={"cache-control": "no-store"})


@get("/api/v1/lab/pages", opt=PAGES, tags=TAGS, summary="公共服务页面列表", responses=errors())
async def api_pages() -> list[dict[str, Any]]:
    return await services.public_pages()


@get(
    "/api/v1/lab/pages/{slug:str}",
    opt=PAGES,
    tags=TAGS,
    summary="公共服务页面",
    responses=errors(404),
)
async def api_page(slug: SlugParam) -> dict[str, Any]:
    return await services.public_page(slug)


@put(
    "/api/v1/lab/pages/{slug:str}",
    opt=PAGES,
    tags=TAGS,
    summary="保存公共服务页面（没有则新建）",
    responses=errors(),
)
async def api_save_page(request: Request, slug: SlugParam, data: PublicPageIn) -> dict[str, Any]:
    values = {k: getattr(data, k) for k in PublicPageIn.__struct_fields__}
    return await services.save_public_page(slug, values, request.user)


HANDLERS = [api_settings, api_settings_update, api_seal, api_pages, api_page, api_save_page]
