"""What every JSON operation declares: its error answers, in the OpenAPI document.

    @post("/api/v1/…", opt=perm("…"), responses=errors(404, 409), tags=["…"], summary="中文")

Every operation may answer 400 (bad input: `errors` names each field), 401 (no or expired token) and
403 (the permission or a rule refuses); `errors()` adds those and the codes you name. The body is the
one `web.errors.http_error` writes, with a 中文 `detail`.
"""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class ErrorBody(msgspec.Struct):
    status_code: int
    detail: str  # 中文 (or English when the client chose it): what is wrong and how to go on
    title: str
    errors: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    400: "请求有误（errors 列出每个字段的问题）",
    401: "未登录或令牌无效、已过期",
    403: "没有权限，或业务规则拒绝（如职责分离、资质、密码错误）",
    404: "对象不存在",
    409: "操作冲突（状态已变化、内容已被他人修改、编号重复等）",
    413: "上传内容过大",
    415: "不支持的文件类型",
    422: "数据有误",
    429: "请求过于频繁，请稍后再试",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The error answers of an operation: 400, 401, 403 always, plus `codes`."""
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code])
        for code in sorted({400, 401, 403, *codes})
    }
