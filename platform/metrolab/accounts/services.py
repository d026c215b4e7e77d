"""Accounts: signing in and out, sessions, passwords, API tokens, and loading the current user."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from metrolab.accounts import throttle
from metrolab.accounts.passwords import hash_password, password_problem, verify_password
from metrolab.accounts.tables import (
    ApiToken,
    LoginSession,
    Qualification,
    Role,
    User,
    UserRole,
)
from metrolab.audit.log import record
from metrolab.kernel.errors import Forbidden, NotFound, Refused
from metrolab.settings import get_settings
from metrolab.web.auth import TOKEN_EXPIRED, CredentialRefused, CurrentUser, sha256
from metrolab.web.i18n import N_

LOGIN_REFUSED = "用户名或密码错误"
IP_FAILURE_LIMIT = 50  # per address before it is locked out too
TOKEN_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not a write on every request
TOKEN_NEEDS_SESSION = N_("API 令牌只能在网页登录后创建（不能用 API 令牌创建令牌）")


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _now() -> datetime:
    return datetime.now(UTC)


async def authenticate(username: str, password: str, ip: str) -> User:
    """The active user with these credentials, or LoginRefused with one message that does not say
    whether the user exists. Throttled per user name and per address."""
    settings = get_settings()
    now = _now()
    name_key, ip_key = f"user:{username.strip().lower()}", f"ip:{ip}"
    if await throttle.locked(name_key, now) or await throttle.locked(ip_key, now):
        raise LoginRefused(f"尝试次数过多，请 {settings.lockout_minutes} 分钟后再试")
    user = await User.objects().where(User.username == username.strip()).first()
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        await throttle.note_failure(name_key, settings.login_max_failures, now)
        await throttle.note_failure(ip_key, IP_FAILURE_LIMIT, now)
        raise LoginRefused(LOGIN_REFUSED)
    await throttle.clear(name_key)
    user.last_login = now
    await user.save([User.last_login])
    return user


def _stamp(password_hash: str | None) -> str:
    """What a session or token remembers of the password it was made under."""
    return sha256(password_hash or "")


async def _password_stamp(user_id: int) -> str:
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return _stamp(row["password_hash"] if row else None)


async def start_session(user_id: int, ip: str) -> str:
    token = secrets.token_urlsafe(32)
    hours = get_settings().session_hours
    await LoginSession.insert(
        LoginSession(
            token_sha256=sha256(token),
            user=user_id,
            expires_at=_now() + timedelta(hours=hours),
            ip=ip,
            password_stamp=await _password_stamp(user_id),
        )
    )
    return token


async def end_session(token: str) -> None:
    await LoginSession.delete().where(LoginSession.token_sha256 == sha256(token))


# ── passwords ────────────────────────────────────────────────────────────────────────────────


async def set_password(user_id: int, new_password: str, actor: CurrentUser | None) -> dict:
    """Store a new password and end the user's other credentials: every session but the actor's
    own (when they change their own password) and every API token. Audited.

    Sessions and tokens also carry a stamp of the password they were made under, so a password
    changed by any other path ends them just the same (then the changer's own session too)."""
    new_hash = await hash_password(new_password)
    await User.update({User.password_hash: new_hash}).where(User.id == user_id)
    keep = actor.session_sha256 if actor is not None and actor.id == user_id else None
    sessions = LoginSession.delete().where(LoginSession.user == user_id)
    if keep:
        sessions = sessions.where(LoginSession.token_sha256 != keep)
        await LoginSession.update({LoginSession.password_stamp: _stamp(new_hash)}).where(
            LoginSession.token_sha256 == keep
        )
    ended = len(await sessions.returning(LoginSession.id))
    revoked = len(
        await ApiToken.update({ApiToken.revoked: True})
        .where((ApiToken.user == user_id) & (ApiToken.revoked == False))  # noqa: E712
        .returning(ApiToken.id)
    )
    own = actor is not None and actor.id == user_id
    await record(
        "user.password_changed" if own else "user.password_reset",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"sessions_ended": ended, "tokens_revoked": revoked},
    )
    return {"sessions_ended": ended, "tokens_revoked": revoked}


PASSWORD_LOCKED = "密码错误次数过多，请 {minutes} 分钟后再试"


async def change_own_password(actor: CurrentUser, current: str, new: str, repeat: str) -> dict:
    """The profile's 修改密码: the current password, a strong new one typed twice. A refusal's
    `extra` names the field ([{"key": field, "message": …}])."""

    def refuse(key: str, message: str) -> Refused:
        return Refused(message, extra=[{"key": key, "message": message}])

    # Guessing the current password (a stolen session or token) is throttled with the signing
    # password's counter: the same credential, checked again.
    key = f"sign:{actor.id}"
    settings = get_settings()
    if await throttle.locked(key):
        raise Forbidden(PASSWORD_LOCKED.format(minutes=settings.lockout_minutes))
    row = await User.select(User.password_hash).where(User.id == actor.id).first()
    if row is None:
        raise NotFound("工作人员不存在")
    if not await verify_password(row["password_hash"], current or ""):
        locks = await throttle.note_failure(key, settings.signing_max_failures)
        await record(
            "user.password_change_failed", actor=actor, target_type="user", target_id=actor.id
        )
        if locks:
            raise Forbidden(PASSWORD_LOCKED.format(minutes=settings.lockout_minutes))
        raise refuse("current", "当前密码不正确")
    await throttle.clear(key)
    if problem := password_problem(new or ""):
        raise refuse("new", problem)
    if new != repeat:
        raise refuse("repeat", "两次输入的新密码不一致")
    return await set_password(actor.id, new, actor)


# ── API tokens ───────────────────────────────────────────────────────────────────────────────


def _expiry(row: dict) -> datetime:
    # Tokens made before tokens expired count their lifetime from creation.
    return row["expires_at"] or row["created_at"] + timedelta(days=get_settings().token_days)


async def create_api_token(actor: CurrentUser, name: str) -> str:
    """A new token for the actor themself (never for somebody else), only from a browser session
    signed in with the password: a token cannot mint tokens. Shown once; expires after token_days."""
    if actor.via_token or not actor.session_sha256:
        raise Forbidden(TOKEN_NEEDS_SESSION)
    token = "ml_" + secrets.token_urlsafe(32)
    expires = _now() + timedelta(days=get_settings().token_days)
    await ApiToken.insert(
        ApiToken(
            user=actor.id,
            name=name[:100],
            token_sha256=sha256(token),
            expires_at=expires,
            password_stamp=await _password_stamp(actor.id),
        )
    )
    return token


async def tokens_of(user_id: int) -> list[dict[str, Any]]:
    """The user's tokens not revoked, oldest first, each with `expires_at` and `expired`."""
    rows = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
        )
        .where((ApiToken.user == user_id) & (ApiToken.revoked == False))  # noqa: E712
        .order_by(ApiToken.id)
    )
    now = _now()
    for row in rows:
        row["expires_at"] = _expiry(row)
        row["expired"] = row["expires_at"] <= now
    return rows


# ── who is asking (every request pays for this: one query, a write at most once a minute) ──────


_WHO = """
SELECT c.id AS credential_id, c.created_at, c.expires_at, c.password_stamp, {extra}
       u.password_hash, u.id, u.username, u.full_name, u.language, u.department, u.is_active,
       r.key AS role_key, r.permissions AS role_permissions
FROM {table} c
JOIN app_user u ON u.id = c."user"
LEFT JOIN user_role ur ON ur."user" = u.id
LEFT JOIN role r ON r.id = ur.role
WHERE c.token_sha256 = {{}} {revoked}
"""
_SESSION_SQL = _WHO.format(extra="", table="login_session", revoked="")
_TOKEN_SQL = _WHO.format(extra="c.last_used_at,", table="api_token", revoked="AND c.revoked = {}")


def _permissions(value: Any) -> list[str]:
    return (json.loads(value) if isinstance(value, str) else value) or []


def _current(rows: list[dict], **marks: Any) -> CurrentUser | None:
    """The user of a credential row set (one row per role, or one with no role)."""
    first = rows[0]
    if not first["is_active"] or first["password_stamp"] != _stamp(first["password_hash"]):
        return None  # disabled, or the password changed since the credential was made
    roles = [r for r in rows if r["role_key"] is not None]
    return CurrentUser(
        id=first["id"],
        username=first["username"],
        full_name=first["full_name"],
        language=first["language"] or "zh",
        department_id=first["department"],
        roles=frozenset(r["role_key"] for r in roles),
        permissions=frozenset(p for r in roles for p in _permissions(r["role_permissions"])),
        **marks,
    )


async def roles_of(user_id: int) -> list[dict]:
    return (
        await Role.select(Role.key, Role.name_zh, Role.name_en, Role.permissions)
        .where(Role.id.is_in(UserRole.select(UserRole.role).where(UserRole.user == user_id)))
        .output(load_json=True)
    )


async def user_for_session(token_sha256: str, now: datetime) -> CurrentUser | None:
    rows = await LoginSession.raw(_SESSION_SQL, token_sha256)
    if not rows or rows[0]["expires_at"] <= now:
        return None
    return _current(rows, session_sha256=token_sha256)


async def user_for_token(token_sha256: str, method: str = "GET") -> CurrentUser | None:
    """The user of a live API token; CredentialRefused when it has expired. last_used_at is
    written on a change (non-GET) or when a minute has passed, not on every read."""
    rows = await ApiToken.raw(_TOKEN_SQL, token_sha256, False)
    if not rows:
        return None
    now = _now()
    first = rows[0]
    if _expiry(first) <= now:
        raise CredentialRefused(TOKEN_EXPIRED)
    last = first["last_used_at"]
    if method not in {"GET", "HEAD"} or last is None or now - last >= TOKEN_TOUCH_EVERY:
        await ApiToken.update({ApiToken.last_used_at: now}).where(
            ApiToken.id == first["credential_id"]
        )
    return _current(rows, via_token=True)


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
