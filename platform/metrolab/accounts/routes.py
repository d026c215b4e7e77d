"""Pages and API of the accounts feature: sign in/out, language, my profile and tokens, staff management."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from metrolab.accounts import services, signatures, staff
from metrolab.accounts.passwords import password_problem, verify_password
from metrolab.accounts.tables import ApiToken, Department, Qualification, Role, User
from metrolab.audit.log import record
from metrolab.settings import get_settings
from metrolab.web.auth import SESSION_COOKIE, CurrentUser
from metrolab.web.errors import UserError
from metrolab.web.i18n import LANGUAGES, _
from metrolab.web.pages import form_dict, page, read_upload, see_other
from metrolab.web.permissions import AUTHENTICATED, PUBLIC, perm


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _safe_next(url: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    return url if url and url.startswith("/") and not url.startswith("//") else "/home"


# ── sign in / out ──────────────────────────────────────────────────────────────────────────────


@get("/login", opt=PUBLIC, include_in_schema=False)
async def login_page(request: Request, next: str | None = None) -> Template:
    return page("accounts/login.html", values={"next": next or ""}, errors={}, title=_("登录"))


@post("/login", opt=PUBLIC, include_in_schema=False)
async def login(request: Request) -> Response:
    form = await form_dict(request)
    username, password = form.get("username", ""), form.get("password", "")
    if not username or not password:
        return page(
            "accounts/login.html",
            status_code=400,
            values=form,
            title=_("登录"),
            errors={"login": _("请输入用户名和密码")},
        )
    try:
        user = await services.authenticate(username, password, _ip(request))
    except services.LoginRefused as refused:
        await record("user.login_failed", details={"username": username}, ip=_ip(request))
        return page(
            "accounts/login.html",
            status_code=401,
            values={"username": username, "next": form.get("next", "")},
            errors={"login": _(refused.message)},
            title=_("登录"),
        )
    token = await services.start_session(user.id, _ip(request))
    await record("user.login", actor=user, target_type="user", target_id=user.id, ip=_ip(request))
    secure = get_settings().base_url.startswith("https")
    return Redirect(
        path=_safe_next(form.get("next")),
        status_code=303,
        cookies=[
            Cookie(
                key=SESSION_COOKIE,
                value=token,
                httponly=True,
                samesite="lax",
                secure=secure,
                max_age=get_settings().session_hours * 3600,
                path="/",
            )
        ],
    )


@post("/logout", opt=AUTHENTICATED, include_in_schema=False)
async def logout(request: Request) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        await services.end_session(token)
    response = Redirect(path="/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@post("/language", opt=PUBLIC, include_in_schema=False)
async def switch_language(request: Request) -> Response:
    form = await form_dict(request)
    lang = form.get("language") if form.get("language") in LANGUAGES else "zh"
    user: CurrentUser | None = request.scope.get("user")
    if user:
        await User.update({User.language: lang}).where(User.id == user.id)
    return Redirect(
        path=_safe_next(form.get("next")),
        status_code=303,
        cookies=[
            Cookie(key="metrolab_lang", value=lang, samesite="lax", path="/", max_age=365 * 86400)
        ],
    )


# ── my profile: password, API tokens ────────────────────────────────────────────────────────────


async def _me_page(request: Request, status_code: int = 200, **extra: Any) -> Template:
    user: CurrentUser = request.user
    tokens = (
        await ApiToken.select()
        .where((ApiToken.user == user.id) & (ApiToken.revoked == False))  # noqa: E712 - a SQL comparison
        .order_by(ApiToken.id)
    )
    row = await User.select(User.signature_sha256).where(User.id == user.id).first()
    quals = await Qualification.select().where(Qualification.user == user.id).output(load_json=True)
    assert row is not None  # the signed-in user's own row
    extra.setdefault("errors", {})
    return page(
        "accounts/me.html",
        status_code=status_code,
        title=_("个人设置"),
        tokens=tokens,
        signature_sha256=row["signature_sha256"],
        qualifications=quals,
        **extra,
    )


@get("/me", opt=AUTHENTICATED, include_in_schema=False)
async def me_page(request: Request) -> Template:
    return await _me_page(request)


@post("/me/password", opt=AUTHENTICATED, include_in_schema=False)
async def change_password(request: Request) -> Template:
    form = await form_dict(request)
    row = await User.select(User.password_hash).where(User.id == request.user.id).first()
    assert row is not None  # the signed-in user's own row
    if not await verify_password(row["password_hash"], form.get("current", "")):
        return await _me_page(request, 400, errors={"current": _("当前密码不正确")})
    if problem := password_problem(form.get("new", "")):
        return await _me_page(request, 400, errors={"new": _(problem)})
    if form.get("new") != form.get("repeat"):
        return await _me_page(request, 400, errors={"repeat": _("两次输入的新密码不一致")})
    # Ends the user's other sessions and revokes their API tokens (this session stays); audited.
    await services.set_password(request.user.id, form["new"], request.user)
    return await _me_page(request, flash=_("密码已修改"))


@post("/me/tokens", opt=AUTHENTICATED, include_in_schema=False)
async def create_token(request: Request) -> Template:
    form = await form_dict(request)
    name = form.get("name") or _("脚本")
    token = await services.create_api_token(request.user, name[:100])  # never by a token
    await record(
        "token.created",
        actor=request.user,
        target_type="user",
        target_id=request.user.id,
        details={"name": name},
    )
    return await _me_page(request, new_token=token, flash=_("新令牌只显示这一次，请立即复制保存"))


@post("/me/tokens/{token_id:int}/revoke", opt=AUTHENTICATED, include_in_schema=False)
async def revoke_token(request: Request, token_id: int) -> Response:
    await ApiToken.update({ApiToken.revoked: True}).where(
        (ApiToken.id == token_id) & (ApiToken.user == request.user.id)
    )
    return see_other("/me")


# ── staff management (§5.6.1) ───────────────────────────────────────────────────────────────────


@get("/staff", opt=perm("staff.view"), include_in_schema=False)
async def staff_list(
    request: Request,
    q: str = "",
    department: int | None = None,
    role: str = "",
    status: str = "active",
    page_no: int = 1,
) -> Template:
    rows, pages = await staff.search(q, department, role, status, page_no)
    return page(
        "accounts/staff_list.html",
        title=_("工作人员"),
        rows=rows,
        pages=pages,
        page_no=page_no,
        query={"q": q, "department": department or "", "role": role, "status": status},
        departments=await staff.departments(),
        roles=await staff.all_roles(),
    )


@get("/staff/new", opt=perm("staff.manage"), include_in_schema=False)
async def staff_new(request: Request) -> Template:
    return page(
        "accounts/staff_form.html",
        title=_("新建工作人员"),
        values={},
        errors={},
        user_id=None,
        departments=await staff.departments(),
        roles=await staff.all_roles(),
        user_roles=[],
    )


@post("/staff", opt=perm("staff.manage"), include_in_schema=False)
async def staff_create(request: Request) -> Response:
    form = await request.form()
    values = {
        k: form.get(k, "").strip()
        for k in ("username", "full_name", "password", "department", "phone", "email")
    }
    chosen_roles = form.getall("roles", [])
    errors = await staff.validate_new(values)
    if errors:
        return page(
            "accounts/staff_form.html",
            status_code=400,
            title=_("新建工作人员"),
            values=values,
            errors=errors,
            user_id=None,
            departments=await staff.departments(),
            roles=await staff.all_roles(),
            user_roles=chosen_roles,
        )
    user = await staff.create_user(values, chosen_roles)
    await record(
        "user.created",
        actor=request.user,
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return see_other(f"/staff/{user.id}")


@get("/staff/{user_id:int}", opt=perm("staff.view"), include_in_schema=False)
async def staff_detail(request: Request, user_id: int) -> Template:
    return await _detail(request, user_id)


async def _detail(request: Request, user_id: int, status_code: int = 200, **extra: Any) -> Template:
    user = await staff.get_user(user_id)
    extra.setdefault("errors", {})
    return page(
        "accounts/staff_detail.html",
        status_code=status_code,
        title=user["full_name"],
        u=user,
        user_roles=[r["key"] for r in await services.roles_of(user_id)],
        roles=await staff.all_roles(),
        departments=await staff.departments(),
        qualifications=await Qualification.select()
        .where(Qualification.user == user_id)
        .order_by(Qualification.valid_until)
        .output(load_json=True),
        today=date.today(),
        **extra,
    )


@post("/staff/{user_id:int}", opt=perm("staff.manage"), include_in_schema=False)
async def staff_update(request: Request, user_id: int) -> Response:
    form = await request.form()
    await staff.get_user(user_id)
    roles = form.getall("roles", [])
    values = {k: form.get(k, "").strip() for k in ("full_name", "department", "phone", "email")}
    if not values["full_name"]:
        return await _detail(request, user_id, 400, errors={"full_name": _("姓名不能为空")})
    await staff.update_user(user_id, values, roles)
    await record(
        "user.updated",
        actor=request.user,
        target_type="user",
        target_id=user_id,
        details={"roles": roles},
    )
    return see_other(f"/staff/{user_id}")


@post("/staff/{user_id:int}/active", opt=perm("staff.manage"), include_in_schema=False)
async def staff_set_active(request: Request, user_id: int) -> Response:
    form = await form_dict(request)
    active = form.get("active") == "1"
    await staff.get_user(user_id)
    if user_id == request.user.id and not active:
        raise UserError(status_code=409, detail="不能停用自己的账户")
    await User.update({User.is_active: active}).where(User.id == user_id)
    if not active:
        await staff.end_all_sessions(user_id)
    await record(
        "user.enabled" if active else "user.disabled",
        actor=request.user,
        target_type="user",
        target_id=user_id,
    )
    return see_other(f"/staff/{user_id}")


@post("/staff/{user_id:int}/qualifications", opt=perm("staff.manage"), include_in_schema=False)
async def staff_add_qualification(request: Request, user_id: int) -> Response:
    form = await form_dict(request)
    await staff.get_user(user_id)
    errors: dict[str, str] = {}
    if not form.get("certificate_no"):
        errors["certificate_no"] = _("证书编号不能为空")
    types = [t for t in re.split(r"[\s,，、]+", form.get("instrument_types", "")) if t]
    if not types:
        errors["instrument_types"] = _("请填写可检定的器具类型代码")
    try:
        valid_until = date.fromisoformat(form.get("valid_until", ""))
    except ValueError:
        errors["valid_until"] = _("有效期至：日期格式应为 YYYY-MM-DD")
    if errors:
        return await _detail(request, user_id, 400, errors=errors, qual_values=form)
    await Qualification.insert(
        Qualification(
            user=user_id,
            certificate_no=form["certificate_no"],
            instrument_types=types,
            valid_until=valid_until,
        )
    )
    await record(
        "qualification.added",
        actor=request.user,
        target_type="user",
        target_id=user_id,
        details={"certificate_no": form["certificate_no"], "types": types},
    )
    return see_other(f"/staff/{user_id}")


# ── signature images: admin for anyone (staff page), everyone for themselves (/me) ─────────────


async def _upload(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/"):
        data, _filename = await read_upload(request, "signature")
        return data
    return await request.body()  # the API also takes the image itself as the request body


async def _changeable(request: Request, user_id: int) -> None:
    await staff.get_user(user_id)
    if not signatures.may_change(request.user, user_id):
        raise UserError(status_code=403, detail="只有管理员可以更改他人的签名图片")


@post("/staff/{user_id:int}/signature", opt=perm("staff.manage"), include_in_schema=False)
async def staff_signature(request: Request, user_id: int) -> Response:
    await staff.get_user(user_id)
    try:
        await signatures.set_signature(user_id, await _upload(request), request.user)
    except signatures.SignatureRefused as refused:
        return await _detail(request, user_id, 400, errors={"signature": refused.text})
    return see_other(f"/staff/{user_id}#signature")


@post("/staff/{user_id:int}/signature/remove", opt=perm("staff.manage"), include_in_schema=False)
async def staff_signature_remove(request: Request, user_id: int) -> Response:
    await staff.get_user(user_id)
    await signatures.remove_signature(user_id, request.user)
    return see_other(f"/staff/{user_id}#signature")


@post("/me/signature", opt=AUTHENTICATED, include_in_schema=False)
async def my_signature(request: Request) -> Response:
    try:
        await signatures.set_signature(request.user.id, await _upload(request), request.user)
    except signatures.SignatureRefused as refused:
        return await _me_page(request, 400, errors={"signature": refused.text})
    return see_other("/me#signature")


@post("/me/signature/remove", opt=AUTHENTICATED, include_in_schema=False)
async def my_signature_remove(request: Request) -> Response:
    await signatures.remove_signature(request.user.id, request.user)
    return see_other("/me#signature")


@get("/staff/{user_id:int}/signature.png", opt=AUTHENTICATED, include_in_schema=False)
async def staff_signature_image(request: Request, user_id: int) -> Response:
    await staff.get_user(user_id)
    if not signatures.may_view(request.user, user_id):
        raise UserError(status_code=403, detail="没有权限查看他人的签名图片")
    image = await signatures.image_of(user_id)
    if image is None:
        raise UserError(status_code=404, detail="未上传签名图片")
    # Images stored before uploads were re-encoded may be JPEG.
    media_type = "image/jpeg" if image.startswith(b"\xff\xd8") else "image/png"
    return Response(
        content=image,
        media_type=media_type,
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )


@put(
    "/api/v1/users/{user_id:int}/signature",
    opt=AUTHENTICATED,
    tags=["accounts"],
    summary="上传签名图片",
    description="PNG 或 JPEG，≤ 1 MB：multipart 字段 signature，或请求体就是图片（Content-Type: image/png）。"
    "管理员可为任何人设置，其他用户只能设置自己的。",
)
async def api_set_signature(request: Request, user_id: int) -> dict[str, Any]:
    await _changeable(request, user_id)
    try:
        digest = await signatures.set_signature(user_id, await _upload(request), request.user)
    except signatures.SignatureRefused as refused:
        raise UserError(status_code=400, detail=refused.text) from refused
    return {"user_id": user_id, "signature_sha256": digest}


@delete(
    "/api/v1/users/{user_id:int}/signature",
    opt=AUTHENTICATED,
    tags=["accounts"],
    summary="删除签名图片",
)
async def api_remove_signature(request: Request, user_id: int) -> None:
    await _changeable(request, user_id)
    await signatures.remove_signature(user_id, request.user)


@get("/staff/statistics", opt=perm("staff.view"), include_in_schema=False)
async def staff_statistics() -> Template:
    by_department, by_role = await staff.statistics()
    return page(
        "accounts/staff_stats.html",
        title=_("人员统计"),
        by_department=by_department,
        by_role=by_role,
    )


@get("/roles", opt=perm("staff.view"), include_in_schema=False)
async def roles_page() -> Template:
    from metrolab.web.permissions import PERMISSIONS

    return page(
        "accounts/roles.html",
        title=_("角色与权限"),
        roles=await staff.all_roles(),
        permissions=PERMISSIONS,
    )


@post("/roles/{key:str}", opt=perm("staff.manage"), include_in_schema=False)
async def roles_update(request: Request, key: str) -> Response:
    from metrolab.web.permissions import PERMISSIONS

    form = await request.form()
    granted = [c for c in (form.getall("permissions", [])) if c in PERMISSIONS]
    await Role.update({Role.permissions: granted}).where(Role.key == key)
    await record(
        "role.updated",
        actor=request.user,
        target_type="role",
        target_id=key,
        details={"permissions": granted},
    )
    return see_other("/roles")


@post("/departments", opt=perm("staff.manage"), include_in_schema=False)
async def department_create(request: Request) -> Response:
    form = await form_dict(request)
    if not form.get("name") or not form.get("code"):
        raise UserError(status_code=400, detail="科室名称和代码不能为空")
    if await Department.exists().where(
        (Department.name == form["name"]) | (Department.code == form["code"])
    ):
        raise UserError(status_code=409, detail="科室名称或代码已存在")
    await Department.insert(Department(name=form["name"], code=form["code"]))
    return see_other("/staff/statistics")


# ── JSON API ───────────────────────────────────────────────────────────────────────────────────


@get("/api/v1/me", opt=AUTHENTICATED, tags=["accounts"], summary="当前用户")
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


@get("/api/v1/users", opt=perm("staff.view"), tags=["accounts"], summary="工作人员列表")
async def api_users(
    q: str = "",
    department: int | None = None,
    role: str = "",
    status: str = "active",
    page_no: int = 1,
) -> dict[str, Any]:
    rows, pages = await staff.search(q, department, role, status, page_no)
    return {"items": rows, "pages": pages, "page": page_no}


@post(
    "/api/v1/users",
    opt=perm("staff.manage"),
    tags=["accounts"],
    summary="新建工作人员",
    status_code=201,
)
async def api_create_user(request: Request, data: staff.NewUser) -> dict[str, Any]:
    values = {
        "username": data.username,
        "full_name": data.full_name,
        "password": data.password,
        "department": str(data.department or ""),
        "phone": data.phone,
        "email": data.email,
    }
    errors = await staff.validate_new(values)
    if errors:
        raise UserError(status_code=400, detail="；".join(f"{k}: {v}" for k, v in errors.items()))
    user = await staff.create_user(values, data.roles)
    await record(
        "user.created",
        actor=request.user,
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return await staff.get_user(user.id)


@get(
    "/api/v1/users/{user_id:int}", opt=perm("staff.view"), tags=["accounts"], summary="工作人员详情"
)
async def api_user(user_id: int) -> dict[str, Any]:
    return await staff.get_user(user_id)


router = Router(
    path="/",
    route_handlers=[
        login_page,
        login,
        logout,
        switch_language,
        me_page,
        change_password,
        create_token,
        revoke_token,
        staff_list,
        staff_new,
        staff_create,
        staff_detail,
        staff_update,
        staff_set_active,
        staff_add_qualification,
        staff_signature,
        staff_signature_remove,
        my_signature,
        my_signature_remove,
        staff_signature_image,
        api_set_signature,
        api_remove_signature,
        staff_statistics,
        roles_page,
        roles_update,
        department_create,
        api_me,
        api_users,
        api_create_user,
        api_user,
    ],
)
