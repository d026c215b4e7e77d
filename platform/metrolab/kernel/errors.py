"""Refusals meant for a person, raised by services; metrolab.web.errors turns them into an answer
(a 中文 page or JSON with the status code). Services never import the web layer.

    raise NotFound("证书不存在")
    raise Conflict("该证书已撤回")
    raise Refused("请填写原因")                       # 400
    raise Refused("文件过大", status_code=413)
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A refusal: status code + a 中文 message (+ optional field problems in ``extra``)."""

    status_code = 400

    def __init__(
        self,
        detail: str = "",
        *,
        status_code: int | None = None,
        extra: Any = None,
        detail_en: str = "",
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_en = detail_en  # when the refusal's source has its own English (a definition's)
        self.extra = extra
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"


class Forbidden(Refused):
    status_code = 403


class PasswordProblem:
    """Marks a refusal about the signing password (missing, wrong, locked): a page shows it beside
    the password field rather than beside the form's first input."""


class PasswordMissing(Refused, PasswordProblem):
    pass


class PasswordRefused(Forbidden, PasswordProblem):
    pass


class NotFound(Refused):
    status_code = 404


class Conflict(Refused):
    status_code = 409
