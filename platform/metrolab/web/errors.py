"""Errors: 中文 pages for browsers, JSON (with a 中文 message) for the API. Never a bare traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from metrolab.engine.documents.problems import ConversionError
from metrolab.kernel.errors import Refused
from metrolab.web.i18n import N_, _
from metrolab.web.problems import field_problem, parameter_problem

log = logging.getLogger("metrolab")

_TITLES = {
    400: N_("请求有误"),
    401: N_("请先登录"),
    403: N_("没有权限"),
    404: N_("页面不存在"),
    405: N_("不支持的请求方法"),
    409: N_("操作冲突"),
    413: N_("文件过大"),
    415: N_("不支持的内容类型"),
    422: N_("数据有误"),
    429: N_("请求过于频繁"),
    500: N_("服务器内部错误"),
    503: N_("服务暂不可用"),
}


# Routes raise the same refusals services do (metrolab.kernel.errors); this is their usual name here.
UserError = Refused


def said(exc: Refused) -> str:
    """A refusal's message in the person's language: its own English when it has one (a workflow
    definition's guard message), else the catalogue's translation of the 中文."""
    from metrolab.web.i18n import current_language

    if current_language() == "en" and exc.detail_en:
        return exc.detail_en
    return _(str(exc.detail))


def _wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/schema")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _field_problems(exc: HTTPException | Refused) -> list[dict[str, str]]:
    """Which field, what is wrong — in 中文 (Litestar's and msgspec's English messages translated)."""
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or "")
            source = str(item.get("source") or "")
            problems.append(field_problem(key, str(item.get("message", "")), source))
    if not problems and exc.status_code == 400 and (missing := parameter_problem(exc.detail or "")):
        problems.append(missing)
    return problems


def _message(exc: HTTPException | Refused, problems: list[dict[str, str]]) -> str:
    detail = exc.detail or ""
    if exc.status_code == 413:
        from metrolab.web.templating import upload_max_mb

        return _("文件过大：上传的文件不能超过 {limit}", limit=upload_max_mb())
    if "CSRF" in detail:
        return _("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")
    if problems and not _has_chinese(detail):
        # "Validation failed for POST /…": say what is wrong instead, field by field
        shown = "；".join(p["message"] for p in problems[:3])
        more = len(problems) - 3
        return shown + (_("；另有 {n} 处问题", n=more) if more > 0 else "")
    if detail.startswith("JSON is malformed"):
        return _("请求体不是有效的 JSON")
    if (
        isinstance(exc, ValidationException)
        or detail in {"Bad Request", "Validation failed"}
        or detail == _phrase(exc.status_code)
        or not detail
    ):
        return _(_TITLES.get(exc.status_code, "请求有误"))
    if _has_chinese(detail):
        return _(detail)
    if exc.status_code == 400:
        return _("请求数据格式有误：{detail}", detail=detail)
    return _(_TITLES.get(exc.status_code, "错误")) + f"（{detail}）"


def _phrase(status: int) -> str:
    """HTTP's English reason phrase ("Not Found"), which Litestar uses as a default detail."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _headers(exc: HTTPException | Refused) -> dict[str, str]:
    """The exception's own headers (405's Allow, 429's Retry-After), and how to authenticate on 401."""
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="metrolab"')
    return headers


def http_error(request: Request, exc: HTTPException | Refused) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) and not _wants_json(request):
        return Redirect(path=f"/login?next={request.url.path}", status_code=303)
    problems = _field_problems(exc)
    message = _message(exc, problems)
    headers = _headers(exc)
    if _wants_json(request):
        body = {"status_code": status, "detail": message, "title": _(_TITLES.get(status, "错误"))}
        if problems:
            body["errors"] = problems
        return Response(
            content=body, status_code=status, media_type=MediaType.JSON, headers=headers
        )
    return Template(
        template_name="error.html",
        context={
            "status": status,
            "title": _(_TITLES.get(status, "错误")),
            "message": message,
            "problems": problems,
        },
        status_code=status,
        headers=headers,
    )


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    fake = HTTPException(
        status_code=HTTP_500_INTERNAL_SERVER_ERROR, detail="服务器内部错误，已记录，请联系管理员"
    )
    return http_error(request, fake)


def converter_unavailable(request: Request, exc: Exception) -> Response:
    """LibreOffice failed or is not installed: the lab's set-up, not the request, is at fault."""
    log.warning("PDF conversion failed on %s %s: %s", request.method, request.url.path, exc)
    unavailable = HTTPException(
        status_code=503,
        detail="PDF 转换服务暂不可用（LibreOffice），请稍后重试；仍不行请管理员运行 metrolab check",
    )
    return http_error(request, unavailable)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ConversionError: converter_unavailable,
    Refused: http_error,
    HTTPException: http_error,
    NotFoundException: http_error,
    PermissionDeniedException: http_error,
    Exception: server_error,
}
