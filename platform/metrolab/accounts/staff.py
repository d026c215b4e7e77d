"""Staff management queries and rules (§5.6.1): search, create, change, enable, qualifications,
roles, departments, statistics, my password and tokens. The pages and the JSON API both call these."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query.functions.aggregate import Count

from metrolab.accounts.passwords import hash_password, password_problem
from metrolab.accounts.tables import (
    Department,
    LoginSession,
    Qualification,
    Role,
    User,
    UserRole,
)
from metrolab.audit.log import record
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.matching import contains

PAGE_SIZE = 30


async def departments() -> list[dict]:
    return await Department.select().order_by(Department.name)


async def all_roles() -> list[dict]:
    return await Role.select().order_by(Role.id).output(load_json=True)


MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one is "not found", not a database error


async def get_user(user_id: int) -> dict[str, Any]:
    if not 0 < user_id <= MAX_ID:
        raise NotFound("工作人员不存在")
    row = (
        await User.select(
            User.id,
            User.username,
            User.full_name,
            User.department,
            User.department.name.as_alias("department_name"),
            User.phone,
            User.email,
            User.language,
            User.is_active,
            User.signature_sha256,
            User.last_login,
            User.created_at,
        )
        .where(User.id == user_id)
        .first()
    )
    if row is None:
        raise NotFound("工作人员不存在")
    return row


async def search(
    q: str, department: int | None, role: str, status: str, page_no: int
) -> tuple[list[dict], int]:
    where: list[Combinable] = []
    if q:
        where.append(
            contains(User.username, q) | contains(User.full_name, q) | contains(User.phone, q)
        )
    if department:
        where.append(User.department == department)
    if role:
        where.append(User.id.is_in(UserRole.select(UserRole.user).where(UserRole.role.key == role)))
    if status in {"active", "disabled"}:
        where.append(User.is_active == (status == "active"))
    query = User.select(
        User.id,
        User.username,
        User.full_name,
        User.department.name.as_alias("department_name"),
        User.phone,
        User.is_active,
        User.last_login,
    )
    count = User.count()
    for clause in where:
        query, count = query.where(clause), count.where(clause)
    total = await count
    page_no = max(1, page_no)
    rows = await query.order_by(User.username).limit(PAGE_SIZE).offset((page_no - 1) * PAGE_SIZE)
    roles_by_user: dict[int, list[str]] = {}
    if rows:
        links = await UserRole.select(UserRole.user, UserRole.role.name_zh.as_alias("role")).where(
            UserRole.user.is_in([r["id"] for r in rows])
        )
        for link in links:
            roles_by_user.setdefault(link["user"], []).append(link["role"])
    for r in rows:
        r["roles"] = roles_by_user.get(r["id"], [])
    return rows, max(1, -(-total // PAGE_SIZE))


async def validate_new(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.get("username"):
        errors["username"] = "用户名不能为空"
    elif not values["username"].replace("_", "").replace(".", "").isalnum():
        errors["username"] = "用户名只能包含字母、数字、下划线和点"
    elif await User.exists().where(User.username == values["username"]):
        errors["username"] = "用户名已存在"
    if not values.get("full_name"):
        errors["full_name"] = "姓名不能为空"
    if problem := password_problem(values.get("password", "")):
        errors["password"] = problem
    dept = values.get("department")
    if dept and (
        not dept.isdigit() or not await Department.exists().where(Department.id == int(dept))
    ):
        errors["department"] = "科室不存在"
    return errors


async def _set_roles(user_id: int, role_keys: list[str]) -> None:
    await UserRole.delete().where(UserRole.user == user_id)
    roles = await Role.select(Role.id).where(Role.key.is_in(role_keys)) if role_keys else []
    if roles:
        await UserRole.insert(*[UserRole(user=user_id, role=r["id"]) for r in roles])


async def create_user(values: dict[str, str], role_keys: list[str]) -> User:
    dept = values.get("department")
    user = User(
        username=values["username"],
        full_name=values["full_name"],
        password_hash=await hash_password(values["password"]),
        department=int(dept) if dept else None,
        phone=values.get("phone", ""),
        email=values.get("email", ""),
    )
    await user.save()
    await _set_roles(user.id, role_keys)
    return user


async def update_user(user_id: int, values: dict[str, str], role_keys: list[str]) -> None:
    dept = values.get("department")
    await User.update(
        {
            User.full_name: values["full_name"],
            User.department: int(dept) if dept else None,
            User.phone: values.get("phone", ""),
            User.email: values.get("email", ""),
        }
    ).where(User.id == user_id)
    await _set_roles(user_id, role_keys)


async def end_all_sessions(user_id: int) -> None:
    await LoginSession.delete().where(LoginSession.user == user_id)


async def statistics() -> tuple[list[dict], list[dict]]:
    by_department = (
        await User.select(User.department.name.as_alias("name"), Count(alias="n"))
        .where(User.is_active == True)  # noqa: E712 - a SQL comparison
        .group_by(User.department.name)
        .order_by(User.department.name)
    )
    by_role = (
        await UserRole.select(UserRole.role.name_zh.as_alias("name"), Count(alias="n"))
        .where(UserRole.user.is_active == True)  # noqa: E712 - a SQL comparison
        .group_by(UserRole.role.name_zh)
        .order_by(UserRole.role.name_zh)
    )
    return by_department, by_role


def refuse(problems: dict[str, str]) -> None:
    """The JSON answer to bad values: one 中文 detail, each field named."""
    if problems:
        raise Refused(
            "；".join(f"{k}：{v}" for k, v in problems.items()),
            extra=[{"key": k, "message": v} for k, v in problems.items()],
        )


async def add_user(values: dict[str, str], role_keys: list[str], actor: Any) -> int:
    """A new member of staff (``validate_new`` first); audited as ``user.created``."""
    user = await create_user(values, role_keys)
    await record(
        "user.created",
        actor=actor,
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return user.id


async def validate_update(values: dict[str, str], role_keys: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.get("full_name"):
        errors["full_name"] = "姓名不能为空"
    dept = values.get("department")
    if dept and (
        not dept.isdigit()
        or not int(dept) <= MAX_ID
        or not await Department.exists().where(Department.id == int(dept))
    ):
        errors["department"] = "科室不存在"
    known = {r["key"] for r in await Role.select(Role.key)}
    if unknown := [k for k in role_keys if k not in known]:
        errors["roles"] = "角色不存在：" + "、".join(unknown)
    return errors


async def change_user(
    user_id: int, values: dict[str, str], role_keys: list[str], actor: Any
) -> None:
    """Name, department, contacts and roles (``validate_update`` first); audited."""
    await get_user(user_id)
    await update_user(user_id, values, role_keys)
    await record(
        "user.updated",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"roles": role_keys},
    )


async def set_active(user_id: int, active: bool, actor: Any) -> None:
    """Enable or disable an account; a disabled one loses its sessions. Nobody disables themselves."""
    await get_user(user_id)
    if user_id == actor.id and not active:
        raise Conflict("不能停用自己的账户")
    await User.update({User.is_active: active}).where(User.id == user_id)
    if not active:
        await end_all_sessions(user_id)
    await record(
        "user.enabled" if active else "user.disabled",
        actor=actor,
        target_type="user",
        target_id=user_id,
    )


# ── qualifications (检定员证) ─────────────────────────────────────────────────────────────────


async def qualifications(user_id: int) -> list[dict[str, Any]]:
    return (
        await Qualification.select()
        .where(Qualification.user == user_id)
        .order_by(Qualification.valid_until)
        .output(load_json=True)
    )


def split_types(text: str) -> list[str]:
    """Instrument type codes as typed in the page: separated by spaces, commas or 、."""
    return [t for t in re.split(r"[\s,，、]+", text) if t]


async def validate_qualification(
    certificate_no: str, types: list[str], valid_from: date | None, valid_until: date | None
) -> dict[str, str]:
    """The rules of a 检定员证: a number, known instrument types, a period that ends after it starts."""
    from metrolab.forms import catalogue

    errors: dict[str, str] = {}
    if not certificate_no.strip():
        errors["certificate_no"] = "证书编号不能为空"
    elif len(certificate_no) > 100:
        errors["certificate_no"] = "证书编号不能超过 100 个字符"
    if not types:
        errors["instrument_types"] = "请填写可检定的器具类型代码"
    else:
        known = {t["code"] for t in await catalogue.list_types()}
        if unknown := [t for t in types if t not in known]:
            errors["instrument_types"] = "器具类型代码不存在：" + "、".join(unknown)
    if valid_until is None:
        errors["valid_until"] = "有效期至：日期格式应为 YYYY-MM-DD"
    elif valid_from is not None and valid_from > valid_until:
        errors["valid_from"] = "有效期起不能晚于有效期至"
    return errors


async def grant_qualification(
    user_id: int,
    certificate_no: str,
    types: list[str],
    valid_until: date,
    actor: Any,
    valid_from: date | None = None,
) -> dict[str, Any]:
    """Record a checked 检定员证 (``validate_qualification`` first); audited."""
    await get_user(user_id)
    row = Qualification(
        user=user_id,
        certificate_no=certificate_no.strip(),
        instrument_types=types,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    await row.save()
    await record(
        "qualification.added",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"certificate_no": row.certificate_no, "types": types},
    )
    found = await Qualification.select().where(Qualification.id == row.id).output(load_json=True)
    return found[0]


# ── roles and departments ─────────────────────────────────────────────────────────────────────


async def set_role_permissions(key: str, codes: list[str], actor: Any) -> dict[str, Any]:
    """Grant a role exactly ``codes`` (each in the permission catalogue); audited."""
    from metrolab.web.permissions import PERMISSIONS

    if not await Role.exists().where(Role.key == key):
        raise NotFound("角色不存在")
    if unknown := [c for c in codes if c not in PERMISSIONS]:
        raise Refused("权限代码不存在：" + "、".join(unknown))
    granted = list(dict.fromkeys(codes))
    await Role.update({Role.permissions: granted}).where(Role.key == key)
    await record(
        "role.updated",
        actor=actor,
        target_type="role",
        target_id=key,
        details={"permissions": granted},
    )
    row = await Role.select().where(Role.key == key).output(load_json=True).first()
    assert row is not None  # checked above
    return row


async def add_department(name: str, code: str, actor: Any) -> dict[str, Any]:
    name, code = name.strip(), code.strip()
    if not name or not code:
        raise Refused("科室名称和代码不能为空")
    if len(name) > 100 or len(code) > 50:
        raise Refused("科室名称不能超过 100 个字符，代码不能超过 50 个字符")
    if await Department.exists().where((Department.name == name) | (Department.code == code)):
        raise Conflict("科室名称或代码已存在")
    row = Department(name=name, code=code)
    await row.save()
    await record(
        "department.created",
        actor=actor,
        target_type="department",
        target_id=row.id,
        details={"name": name, "code": code},
    )
    return {"id": row.id, "name": name, "code": code, "description": ""}


# ── my tokens (the password change is services.change_own_password) ─────────────────────────


async def revoke_my_token(actor: Any, token_id: int) -> None:
    """Revoke one of my own tokens (another person's is "not found"); audited."""
    from metrolab.accounts.tables import ApiToken

    done = (
        await ApiToken.update({ApiToken.revoked: True})
        .where((ApiToken.id == token_id) & (ApiToken.user == actor.id))
        .returning(ApiToken.id)
    )
    if not done:
        raise NotFound("令牌不存在")
    await record(
        "token.revoked",
        actor=actor,
        target_type="user",
        target_id=actor.id,
        details={"token": token_id},
    )
