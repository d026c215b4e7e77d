"""The OpenAPI document (/schema/openapi.json) says what the app really answers.

Besides what each operation declares (`responses=errors(…)` from web.api), every operation gets the
answers that do not depend on it: 401 and 403 from the permission guard (web.auth) on every protected
operation, 400 from the validator wherever the client sends something (path, query, body), 404 where
a path names an object (and an id that is not a number finds no route), 413 where there is a body
(the app's request size limit). The bearer token is declared as the security scheme.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from metrolab.web.api import errors
from metrolab.web.permissions import AUTHENTICATED

BEARER = "bearer"
# Handler arguments that are the framework's, not the client's
_NOT_INPUT = {"request", "state", "scope", "socket"}
_BODY = {"data", "body"}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="metrolab API",
        version="1",
        path="/schema",
        description=(
            "计量检定机构管理平台 JSON API（/api/v1）。在「个人资料」页生成 API 令牌，"
            "以请求头 `Authorization: Bearer <令牌>` 发送；签名动作须在请求体中提供密码。"
            "错误以 JSON 回答：`detail` 为中文说明，`errors` 逐个字段列出问题。"
        ),
        # JSON only here; the interactive viewer is /api-docs (web.apidocs), served from local files.
        render_plugins=[JsonRenderPlugin()],
        openapi_router=Router(
            path="/schema", route_handlers=[], opt=AUTHENTICATED, include_in_schema=False
        ),
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="API 令牌（个人资料页生成；令牌不能再生成令牌）",
                )
            }
        ),
    )


def _takes_input(path: str, handler: Any) -> tuple[bool, bool, bool]:
    """(any client input, a path parameter, a request body) of one handler."""
    names = set(handler.parsed_fn_signature.parameters) - _NOT_INPUT
    has_path = bool(re.search(r"\{[^}]+\}", path))
    has_body = bool(names & _BODY)
    return bool(names) or has_path, has_path, has_body


def declare_common_answers(app: Litestar) -> None:
    """Add the guard's, the validator's and the router's answers to every operation in the document.

    Runs once, after the app is built and before the document is first made (it is made lazily)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if (
                not getattr(handler, "http_methods", None)
                or not handler.resolve_include_in_schema()
            ):
                continue
            takes_input, has_path, has_body = _takes_input(route.path, handler)
            codes: set[int] = set()
            if not handler.opt.get("public"):
                codes |= {401, 403}
                handler.security = [{BEARER: []}]
            if takes_input:
                codes.add(400)
            if has_path:
                codes.add(404)
            if has_body:
                codes.add(413)
            declared = dict(handler.responses or {})
            for code, spec in errors(*codes).items():
                if code in codes:
                    declared.setdefault(code, spec)
            handler.responses = declared
