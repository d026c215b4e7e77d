"""JSON API of the accounts feature under /api/v1: me (password, signature, tokens), staff,
qualifications, roles and departments — the twins of the pages, on the same service functions.

Token creation stays in the profile page on purpose: a token cannot mint tokens."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import Parameter

from metrolab.accounts import services, signatures, staff
from metrolab.kernel.errors import Forbidden, Refused
from metrolab.web.api import errors
from metrolab.web.auth import CurrentUser
from metrolab.web.pages import read_upload
from metrolab.web.params import INT32_MAX, Code, Id, PageNo, Password, SearchText, StructId
from metrolab.web.permissions import AUTHENTICATED, PERMISSIONS, perm

TAGS = ["accounts"]
VIEW, MANAGE = perm("staff.view"), perm("staff.manage")
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# User ids stay plain integers: one above 2³¹ is "工作人员不存在" (404, staff.get_user), as in the pages.
UserId = Annotated[int, Parameter(description="工作人员编号")]
# Optional query values: the bounds go on the whole Optional, or Litestar drops them.
DepartmentId = Annotated[int | None, Parameter(ge=1, le=INT32_MAX, description="科室编号")]
RoleKey = Annotated[
    str | None, Parameter(min_length=1, max_length=50, pattern=r"^[\w.\-]+$", description="角色")
]
BodyCode = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")]
Codes = Annotated[list[BodyCode], msgspec.Meta(max_length=200)]
Phone = Annotated[str, msgspec.Meta(max_length=50, pattern=_PRINTABLE)]
Email = Annotated[str, msgspec.Meta(max_length=150, pattern=_PRINTABLE)]
Name150 = Annotated[str, msgspec.Meta(max_length=150, pattern=_PRINTABLE)]


# ── request bodies ───────────────────────────────────────────────────────────────────────────


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Name150
    full_name: Name150
    password: Password
    department: StructId | None = None
    phone: Phone = ""
    email: Email = ""
    roles: Codes = []


class UserChange(msgspec.Struct, forbid_unknown_fields=True):
    """The whole editable part (as the staff page posts it): name, department, contacts, roles."""

    full_name: Name150
    department: StructId | None = None
    phone: Phone = ""
    email: Email = ""
    roles: Codes = []


class Active(msgspec.Struct, forbid_unknown_fields=True):
    active: bool


class QualificationIn(msgspec.Struct, forbid_unknown_fields=True):
    certificate_no: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_PRINTABLE)]
    instrument_types: Annotated[list[BodyCode], msgspec.Meta(min_length=1, max_length=200)]
    valid_until: date
    valid_from: date | None = None


class RolePermissions(msgspec.Struct, forbid_unknown_fields=True):
    permissions: Codes


class DepartmentIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_PRINTABLE)]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=_PRINTABLE)]


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


# ── shared with the pages ────────────────────────────────────────────────────────────────────


async def signature_upload(request: Request) -> bytes:
    """The signature image: multipart field ``signature``, or the request body itself."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        data, _filename = await read_upload(request, "signature")
        return data
    return await request.body()


async def changeable(request: Request, user_id: int) -> None:
    """Anyone may change their own signature image; staff.manage anybody's."""
    await staff.get_user(user_id)
    if not signatures.may_change(request.user, user_id):
        raise Forbidden("只有管理员可以更改他人的签名图片")


async def _set_signature(request: Request, user_id: int) -> dict[str, Any]:
    try:
        digest = await signatures.set_signature(
            user_id, await signature_upload(request), request.user
        )
    except signatures.SignatureRefused as refused:
        raise Refused(refused.text) from refused
    return {"user_id": user_id, "signature_sha256": digest}


def _values(data: NewUser | UserChange) -> dict[str, str]:
    out = {k: str(getattr(data, k)).strip() for k in ("full_name", "phone", "email")}
    out["department"] = str(data.department or "")
    return out


# ── me ───────────────────────────────────────────────────────────────────────────────────────

_SIGNATURE_DOC = (
    "PNG 或 JPEG，≤ 1 MB：multipart 字段 signature，或请求体就是图片（Content-Type: image/png）。"
)


@get("/api/v1/me", opt=AUTHENTICATED, tags=TAGS, summary="当前用户", responses=errors())
async def api_me(request: Request) -> dict[str, Any]:
    u: CurrentUser = request.user
    return {
        "id": u.id,
        "username": u.username,
        "full_name": u.full_name,
        "language": u.language,
        "roles": sorted(u.roles),
        "permissions": sorted(u.permissions),
    }


@post(
    "/api/v1/me/password",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="修改我的密码（须提供当前密码；其他会话结束，全部 API 令牌作废）",
    status_code=200,
    responses=errors(),
)
async def api_change_password(request: Request, data: PasswordChange) -> dict[str, Any]:
    ended = await services.change_own_password(
        request.user, data.current_password, data.new_password, data.new_password
    )
    return {"changed": True, **ended}


@get("/api/v1/me/tokens", opt=AUTHENTICATED, tags=TAGS, summary="我的 API 令牌", responses=errors())
async def api_my_tokens(request: Request) -> list[dict[str, Any]]:
    return await services.tokens_of(request.user.id)


@post(
    "/api/v1/me/tokens/{token_id:int}/revoke",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="作废我的一个 API 令牌",
    status_code=200,
    responses=errors(404),
)
async def api_revoke_token(request: Request, token_id: Id) -> dict[str, Any]:
    await staff.revoke_my_token(request.user, token_id)
    return {"id": token_id, "revoked": True}


@put(
    "/api/v1/me/signature",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="上传我的签名图片",
    description=_SIGNATURE_DOC,
    responses=errors(413),
)
async def api_set_my_signature(request: Request) -> dict[str, Any]:
    return await _set_signature(request, request.user.id)


@delete(
    "/api/v1/me/signature",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="删除我的签名图片",
    responses=errors(),
)
async def api_remove_my_signature(request: Request) -> None:
    await signatures.remove_signature(request.user.id, request.user)


# ── staff ────────────────────────────────────────────────────────────────────────────────────


@get("/api/v1/users", opt=VIEW, tags=TAGS, summary="工作人员列表", responses=errors())
async def api_users(
    q: SearchText = "",
    department: DepartmentId = None,
    role: RoleKey = None,
    status: Literal["active", "disabled", "all"] = "active",
    page_no: PageNo = 1,
) -> dict[str, Any]:
    rows, pages = await staff.search(q, department, role or "", status, page_no)
    return {"items": rows, "pages": pages, "page": page_no}


@post(
    "/api/v1/users",
    opt=MANAGE,
    tags=TAGS,
    summary="新建工作人员",
    status_code=201,
    responses=errors(),
)
async def api_create_user(request: Request, data: NewUser) -> dict[str, Any]:
    values = {**_values(data), "username": data.username.strip(), "password": data.password}
    problems = await staff.validate_new(values)
    problems.update(await staff.validate_update(values, data.roles))
    staff.refuse(problems)
    user_id = await staff.add_user(values, data.roles, request.user)
    return await staff.get_user(user_id)


@get(
    "/api/v1/users/{user_id:int}",
    opt=VIEW,
    tags=TAGS,
    summary="工作人员详情（含角色）",
    responses=errors(404),
)
async def api_user(user_id: UserId) -> dict[str, Any]:
    user = await staff.get_user(user_id)
    user["roles"] = [r["key"] for r in await services.roles_of(user_id)]
    return user


@put(
    "/api/v1/users/{user_id:int}",
    opt=MANAGE,
    tags=TAGS,
    summary="修改工作人员（姓名、科室、联系方式、角色）",
    responses=errors(404),
)
async def api_update_user(request: Request, user_id: UserId, data: UserChange) -> dict[str, Any]:
    await staff.get_user(user_id)
    values = _values(data)
    staff.refuse(await staff.validate_update(values, data.roles))
    await staff.change_user(user_id, values, data.roles, request.user)
    return await api_user.fn(user_id)


@put(
    "/api/v1/users/{user_id:int}/active",
    opt=MANAGE,
    tags=TAGS,
    summary="启用或停用账户（停用即结束其会话）",
    responses=errors(404, 409),
)
async def api_set_active(request: Request, user_id: UserId, data: Active) -> dict[str, Any]:
    await staff.set_active(user_id, data.active, request.user)
    return await api_user.fn(user_id)


@get(
    "/api/v1/users/{user_id:int}/qualifications",
    opt=VIEW,
    tags=TAGS,
    summary="工作人员的资质（检定员证）",
    responses=errors(404),
)
async def api_qualifications(user_id: UserId) -> list[dict[str, Any]]:
    await staff.get_user(user_id)
    return await staff.qualifications(user_id)


@post(
    "/api/v1/users/{user_id:int}/qualifications",
    opt=MANAGE,
    tags=TAGS,
    summary="授予资质（检定员证：证书编号、可检定的器具类型、有效期）",
    status_code=201,
    responses=errors(404),
)
async def api_grant_qualification(
    request: Request, user_id: UserId, data: QualificationIn
) -> dict[str, Any]:
    await staff.get_user(user_id)
    types = list(dict.fromkeys(data.instrument_types))
    staff.refuse(
        await staff.validate_qualification(
            data.certificate_no, types, data.valid_from, data.valid_until
        )
    )
    return await staff.grant_qualification(
        user_id, data.certificate_no, types, data.valid_until, request.user, data.valid_from
    )


@put(
    "/api/v1/users/{user_id:int}/signature",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="上传签名图片",
    description=_SIGNATURE_DOC + "管理员可为任何人设置，其他用户只能设置自己的。",
    responses=errors(404, 413),
)
async def api_set_signature(request: Request, user_id: UserId) -> dict[str, Any]:
    await changeable(request, user_id)
    return await _set_signature(request, user_id)


@delete(
    "/api/v1/users/{user_id:int}/signature",
    opt=AUTHENTICATED,
    tags=TAGS,
    summary="删除签名图片",
    responses=errors(404),
)
async def api_remove_signature(request: Request, user_id: UserId) -> None:
    await changeable(request, user_id)
    await signatures.remove_signature(user_id, request.user)


# ── roles and departments ────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/roles",
    opt=VIEW,
    tags=TAGS,
    summary="角色及其权限",
    responses=errors(),
)
async def api_roles() -> list[dict[str, Any]]:
    return await staff.all_roles()


@get(
    "/api/v1/permissions",
    opt=VIEW,
    tags=TAGS,
    summary="权限代码一览（角色可授予的）",
    responses=errors(),
)
async def api_permissions() -> list[dict[str, str]]:
    return [{"code": c, "name_zh": zh, "name_en": en} for c, (zh, en) in PERMISSIONS.items()]


@put(
    "/api/v1/roles/{key:str}",
    opt=MANAGE,
    tags=TAGS,
    summary="设置角色的权限（整体替换）",
    responses=errors(404),
)
async def api_set_role(request: Request, key: Code, data: RolePermissions) -> dict[str, Any]:
    return await staff.set_role_permissions(key, data.permissions, request.user)


@get("/api/v1/departments", opt=VIEW, tags=TAGS, summary="科室列表", responses=errors())
async def api_departments() -> list[dict[str, Any]]:
    return await staff.departments()


@post(
    "/api/v1/departments",
    opt=MANAGE,
    tags=TAGS,
    summary="新建科室",
    status_code=201,
    responses=errors(409),
)
async def api_create_department(request: Request, data: DepartmentIn) -> dict[str, Any]:
    return await staff.add_department(data.name, data.code, request.user)


HANDLERS = [
    api_me,
    api_change_password,
    api_my_tokens,
    api_revoke_token,
    api_set_my_signature,
    api_remove_my_signature,
    api_users,
    api_create_user,
    api_user,
    api_update_user,
    api_set_active,
    api_qualifications,
    api_grant_qualification,
    api_set_signature,
    api_remove_signature,
    api_roles,
    api_permissions,
    api_set_role,
    api_departments,
    api_create_department,
]
