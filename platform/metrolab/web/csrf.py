"""CSRF: Litestar's double-submit cookie check on every unsafe request made with a browser session.
Scripts authenticating with a bearer token (and no session cookie) carry no ambient credentials,
so they are not subject to it."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

from metrolab.web.auth import SESSION_COOKIE, _bearer, _cookie

CSRF_COOKIE = "metrolab_csrf"
CSRF_HEADER = "x-csrftoken"


def csrf_config(secret: str, secure: bool) -> CSRFConfig:
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_samesite="lax",
        cookie_httponly=True,  # pages carry the token in a hidden field / hx-headers
    )


class TokenAwareCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _bearer(scope) and not _cookie(scope, SESSION_COOKIE):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
