"""Accounts: signing in and out, sessions, API tokens, and loading the current user."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from metrolab.accounts.passwords import verify_password
from metrolab.accounts.tables import (
    ApiToken,
    LoginSession,
    LoginThrottle,
    Qualification,
    Role,
    User,
    UserRole,
)
from metrolab.settings import get_settings
from metrolab.web.auth import CurrentUser, sha256

LOGIN_REFUSED = "用户名或密码错误"
IP_FAILURE_LIMIT = 50  # per address before it is locked out too


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _now() -> datetime:
    return datetime.now(UTC)


async def _locked(key: str, now: datetime) -> bool:
    row = (
        await LoginThrottle.select(LoginThrottle.locked_until)
        .where(LoginThrottle.key == key)
        .first()
    )
    return bool(row and row["locked_until"] and row["locked_until"] > now)


async def _note_failure(key: str, limit: int, now: datetime) -> None:
    settings = get_settings()
    row = await LoginThrottle.objects().where(LoginThrottle.key == key).first()
    if row is None:
        row = LoginThrottle(key=key, failures=0)
    row.failures = (row.failures or 0) + 1
    row.updated_at = now
    if row.failures >= limit:
        row.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        row.failures = 0
    await row.save()


async def authenticate(username: str, password: str, ip: str) -> User:
    """The active user with these credentials, or LoginRefused with one message that does not say
    whether the user exists. Throttled per user name and per address."""
    settings = get_settings()
    now = _now()
    name_key, ip_key = f"user:{username.strip().lower()}", f"ip:{ip}"
    if await _locked(name_key, now) or await _locked(ip_key, now):
        raise LoginRefused(f"尝试次数过多，请 {settings.lockout_minutes} 分钟后再试")
    user = await User.objects().where(User.username == username.strip()).first()
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        await _note_failure(name_key, settings.login_max_failures, now)
        await _note_failure(ip_key, IP_FAILURE_LIMIT, now)
        raise LoginRefused(LOGIN_REFUSED)
    await LoginThrottle.delete().where(LoginThrottle.key == name_key)
    user.last_login = now
    await user.save([User.last_login])
    return user


async def start_session(user_id: int, ip: str) -> str:
    token = secrets.token_urlsafe(32)
    hours = get_settings().session_hours
    await LoginSession.insert(
        LoginSession(
            token_sha256=sha256(token),
            user=user_id,
            expires_at=_now() + timedelta(hours=hours),
            ip=ip,
        )
    )
    return token


async def end_session(token: str) -> None:
    await LoginSession.delete().where(LoginSession.token_sha256 == sha256(token))


async def create_api_token(user_id: int, name: str) -> str:
    token = "ml_" + secrets.token_urlsafe(32)
    await ApiToken.insert(ApiToken(user=user_id, name=name, token_sha256=sha256(token)))
    return token


async def roles_of(user_id: int) -> list[dict]:
    return (
        await Role.select(Role.key, Role.name_zh, Role.name_en, Role.permissions)
        .where(Role.id.is_in(UserRole.select(UserRole.role).where(UserRole.user == user_id)))
        .output(load_json=True)
    )


async def _current(user_row: dict, via_token: bool = False) -> CurrentUser | None:
    if not user_row or not user_row["is_active"]:
        return None
    roles = await roles_of(user_row["id"])
    permissions = frozenset(p for r in roles for p in (r["permissions"] or []))
    return CurrentUser(
        id=user_row["id"],
        username=user_row["username"],
        full_name=user_row["full_name"],
        language=user_row["language"] or "zh",
        department_id=user_row["department"],
        roles=frozenset(r["key"] for r in roles),
        permissions=permissions,
        via_token=via_token,
    )


_USER_COLUMNS = (
    User.id,
    User.username,
    User.full_name,
    User.language,
    User.department,
    User.is_active,
)


async def user_for_session(token_sha256: str, now: datetime) -> CurrentUser | None:
    # One query for the session and its user (every request pays for this).
    row = (
        await LoginSession.select(
            LoginSession.expires_at,
            *(
                getattr(LoginSession.user, c._meta.name).as_alias(c._meta.name)
                for c in _USER_COLUMNS
            ),
        )
        .where(LoginSession.token_sha256 == token_sha256)
        .first()
    )
    if row is None or row["expires_at"] <= now:
        return None
    return await _current(row)


async def user_for_token(token_sha256: str) -> CurrentUser | None:
    token = (
        await ApiToken.select(ApiToken.id, ApiToken.user)
        .where(
            (ApiToken.token_sha256 == token_sha256) & (ApiToken.revoked == False)  # noqa: E712
        )
        .first()
    )
    if token is None:
        return None
    await ApiToken.update({ApiToken.last_used_at: _now()}).where(ApiToken.id == token["id"])
    row = await User.select(*_USER_COLUMNS).where(User.id == token["user"]).first()
    return await _current(row, via_token=True) if row is not None else None


async def valid_qualification(user_id: int, instrument_type: str, on: date) -> dict | None:
    """The user's 检定员证 covering this instrument type on that date, if any."""
    rows = (
        await Qualification.select()
        .where((Qualification.user == user_id) & (Qualification.valid_until >= on))
        .output(load_json=True)
    )
    for row in rows:
        starts = row["valid_from"]
        if instrument_type in (row["instrument_types"] or []) and (starts is None or starts <= on):
            return row
    return None
