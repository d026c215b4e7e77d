"""Who is asking: the session cookie or an API token becomes `request.user`; the guard enforces
each route's declared permission (deny by default)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from metrolab.web.i18n import N_, set_language

SESSION_COOKIE = "metrolab_session"
TOKEN_EXPIRED = N_("令牌已过期")


def grants(permissions: frozenset[str], code: str) -> bool:
    """Whether a set of permission codes allows ``code`` (every signed-in user is "authenticated")."""
    return code == "authenticated" or code in permissions


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    full_name: str
    language: str
    department_id: int | None
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    via_token: bool = False  # authenticated by an API token (bearer), not a browser session
    # The SHA-256 of the browser session this request came with (None for a token): a password
    # change ends every other session but this one.
    session_sha256: str | None = None

    def can(self, code: str) -> bool:
        return grants(self.permissions, code)


class CredentialRefused(Exception):
    """A bearer token that is known but no longer valid (expired): answered 401 with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == name:
                    return val
    return None


class AuthenticationMiddleware:
    """Resolve the user for every HTTP request; anonymous requests go on with `user = None`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from metrolab.accounts.services import user_for_session, user_for_token
            from metrolab.settings import get_settings

            user: CurrentUser | None = None
            marks = cast("dict[str, Any]", scope)  # our own keys beside ASGI's
            marks.pop("credential_refused", None)
            if token := _bearer(scope):
                try:
                    user = await user_for_token(sha256(token), str(marks.get("method", "GET")))
                except CredentialRefused as refused:
                    marks["credential_refused"] = refused.message  # the guard's 401 says why
            elif cookie := _cookie(scope, SESSION_COOKIE):
                user = await user_for_session(sha256(cookie), datetime.now(UTC))
            scope["user"] = user
            lang = (
                user.language
                if user
                else (_cookie(scope, "metrolab_lang") or get_settings().default_language)
            )
            set_language(lang)
        await self.app(scope, receive, send)


async def permission_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: a route without a declared permission is refused to everyone.

    Async although it awaits nothing: Litestar runs a sync guard in a thread, a hop on every request."""
    opt = handler.opt
    if opt.get("public"):
        return
    code = opt.get("permission")
    user: CurrentUser | None = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException(connection.scope.get("credential_refused") or "请先登录")
    if not code or not user.can(code):
        raise PermissionDeniedException("没有权限执行此操作")
