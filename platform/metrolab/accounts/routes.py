"""Pages of the accounts feature: sign in/out, language, my profile and tokens, staff management.
Their JSON twins are in api.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from metrolab.accounts import api, services, signatures, staff
from metrolab.accounts.api import changeable as _changeable
from metrolab.accounts.api import signature_upload as _upload
from metrolab.accounts.tables import ApiToken, Qualification, User
from metrolab.audit.log import record
from metrolab.kernel.errors import Refused
from metrolab.settings import get_settings
from metrolab.web.auth import SESSION_COOKIE, CurrentUser
from metrolab.web.errors import UserError
from metrolab.web.i18n import LANGUAGES, _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import Id, OptionalId, PageNo, SearchText
from metrolab.web.permissions import AUTHENTICATED, PUBLIC, authenticated, perm


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


@post(
    "/me/password",
    opt=authenticated(api="POST /api/v1/me/password"),
    include_in_schema=False,
)
async def change_password(request: Request) -> Template:
    form = await form_dict(request)
    try:  # ends the user's other sessions and revokes their API tokens (this session stays)
        await services.change_own_password(
            request.user, form.get("current", ""), form.get("new", ""), form.get("repeat", "")
        )
    except Refused as refused:
        errors = {p["key"]: _(p["message"]) for p in refused.extra or []}
        return await _me_page(request, 400, errors=errors)
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


@post(
    "/me/tokens/{token_id:int}/revoke",
    opt=authenticated(api="POST /api/v1/me/tokens/{token_id}/revoke"),
    include_in_schema=False,
)
async def revoke_token(request: Request, token_id: Id) -> Response:
    await staff.revoke_my_token(request.user, token_id)
    return see_other("/me")


# ── staff management (§5.6.1) ───────────────────────────────────────────────────────────────────


@get("/staff", opt=perm("staff.view"), include_in_schema=False)
async def staff_list(
    request: Request,
    q: SearchText = "",
    department: OptionalId = None,
    role: SearchText = "",
    status: SearchText = "active",
    page_no: PageNo = 1,
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


@post("/staff", opt=perm("staff.manage", api="POST /api/v1/users"), include_in_schema=False)
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
    user_id = await staff.add_user(values, chosen_roles, request.user)
    return see_other(f"/staff/{user_id}")


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
        qualifications=await staff.qualifications(user_id),
        today=date.today(),
        **extra,
    )


@post(
    "/staff/{user_id:int}",
    opt=perm("staff.manage", api="PUT /api/v1/users/{user_id}"),
    include_in_schema=False,
)
async def staff_update(request: Request, user_id: int) -> Response:
    form = await request.form()
    await staff.get_user(user_id)
    roles = form.getall("roles", [])
    values = {k: form.get(k, "").strip() for k in ("full_name", "department", "phone", "email")}
    if errors := await staff.validate_update(values, roles):
        return await _detail(request, user_id, 400, errors={k: _(v) for k, v in errors.items()})
    await staff.change_user(user_id, values, roles, request.user)
    return see_other(f"/staff/{user_id}")


@post(
    "/staff/{user_id:int}/active",
    opt=perm("staff.manage", api="PUT /api/v1/users/{user_id}/active"),
    include_in_schema=False,
)
async def staff_set_active(request: Request, user_id: int) -> Response:
    form = await form_dict(request)
    await staff.set_active(user_id, form.get("active") == "1", request.user)
    return see_other(f"/staff/{user_id}")


@post(
    "/staff/{user_id:int}/qualifications",
    opt=perm("staff.manage", api="POST /api/v1/users/{user_id}/qualifications"),
    include_in_schema=False,
)
async def staff_add_qualification(request: Request, user_id: int) -> Response:
    form = await form_dict(request)
    await staff.get_user(user_id)
    types = staff.split_types(form.get("instrument_types", ""))
    valid_from, valid_until = _date(form.get("valid_from")), _date(form.get("valid_until"))
    errors = await staff.validate_qualification(
        form.get("certificate_no", ""), types, valid_from, valid_until
    )
    if form.get("valid_from") and valid_from is None:
        errors["valid_from"] = "有效期起：日期格式应为 YYYY-MM-DD"
    if errors or valid_until is None:
        translated = {k: _(v) for k, v in errors.items()}
        return await _detail(request, user_id, 400, errors=translated, qual_values=form)
    await staff.grant_qualification(
        user_id, form["certificate_no"], types, valid_until, request.user, valid_from
    )
    return see_other(f"/staff/{user_id}")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


# ── signature images: admin for anyone (staff page), everyone for themselves (/me) ─────────────


# Self or staff.manage (signatures.may_change), page and API alike: the rule is checked in _changeable.
@post(
    "/staff/{user_id:int}/signature",
    opt=authenticated(api="PUT /api/v1/users/{user_id}/signature"),
    include_in_schema=False,
)
async def staff_signature(request: Request, user_id: int) -> Response:
    await _changeable(request, user_id)
    try:
        await signatures.set_signature(user_id, await _upload(request), request.user)
    except signatures.SignatureRefused as refused:
        return await _detail(request, user_id, 400, errors={"signature": refused.text})
    return see_other(f"/staff/{user_id}#signature")


@post(
    "/staff/{user_id:int}/signature/remove",
    opt=authenticated(api="DELETE /api/v1/users/{user_id}/signature"),
    include_in_schema=False,
)
async def staff_signature_remove(request: Request, user_id: int) -> Response:
    await _changeable(request, user_id)
    await signatures.remove_signature(user_id, request.user)
    return see_other(f"/staff/{user_id}#signature")


@post("/me/signature", opt=authenticated(api="PUT /api/v1/me/signature"), include_in_schema=False)
async def my_signature(request: Request) -> Response:
    try:
        await signatures.set_signature(request.user.id, await _upload(request), request.user)
    except signatures.SignatureRefused as refused:
        return await _me_page(request, 400, errors={"signature": refused.text})
    return see_other("/me#signature")


@post(
    "/me/signature/remove",
    opt=authenticated(api="DELETE /api/v1/me/signature"),
    include_in_schema=False,
)
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


@post(
    "/roles/{key:str}",
    opt=perm("staff.manage", api="PUT /api/v1/roles/{key}"),
    include_in_schema=False,
)
async def roles_update(request: Request, key: str) -> Response:
    form = await request.form()
    await staff.set_role_permissions(key, form.getall("permissions", []), request.user)
    return see_other("/roles")


@post(
    "/departments",
    opt=perm("staff.manage", api="POST /api/v1/departments"),
    include_in_schema=False,
)
async def department_create(request: Request) -> Response:
    form = await form_dict(request)
    await staff.add_department(form.get("name", ""), form.get("code", ""), request.user)
    return see_other("/staff/statistics")


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
        staff_statistics,
        roles_page,
        roles_update,
        department_create,
        *api.HANDLERS,
    ],
)
