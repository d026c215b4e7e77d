"""Staff management queries and rules (§5.6.1): search, create, roles, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query.functions.aggregate import Count

from metrolab.accounts.passwords import hash_password, password_problem
from metrolab.accounts.tables import Department, LoginSession, Role, User, UserRole
from metrolab.kernel.errors import NotFound

PAGE_SIZE = 30


@dataclass
class NewUser:
    username: str
    full_name: str
    password: str
    department: int | None = None
    phone: str = ""
    email: str = ""
    roles: list[str] = field(default_factory=list)


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
            User.username.ilike(f"%{q}%")
            | User.full_name.ilike(f"%{q}%")
            | User.phone.ilike(f"%{q}%")
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
