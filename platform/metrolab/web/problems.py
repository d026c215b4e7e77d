"""Litestar's and msgspec's validation messages (English, for developers) said in 中文, naming the field:

    {"key": "x_id", "message": "Expected `int` <= 2147483647"}  →  字段 “x_id”：须不大于 2147483647

A message this module does not know is kept, in parentheses, after a generic 中文 sentence, so nothing
is lost and nothing English stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from metrolab.web.i18n import N_, _
from metrolab.web.params import _PRINTABLE

# msgspec's names of JSON types
_TYPES = {
    "int": N_("整数"),
    "float": N_("数字"),
    "decimal": N_("数字"),
    "str": N_("文本"),
    "bool": N_("布尔值（true/false）"),
    "null": N_("空值（null）"),
    "object": N_("对象"),
    "array": N_("列表"),
    "bytes": N_("二进制数据"),
    "date": N_("日期"),
    "datetime": N_("日期时间"),
    "time": N_("时间"),
    "uuid": N_("UUID"),
}

# Patterns the app's own bounds use (web.params), said as what a person may type.
_KNOWN_PATTERNS = {
    _PRINTABLE: N_("不得含有控制字符（如 NUL 字节）"),
    r"^[\w.\-]+$": N_("只能由字母、数字、下划线、点和连字符组成"),
}

_BOUNDS = {
    "<=": N_("须不大于 {n}"),
    ">=": N_("须不小于 {n}"),
    "<": N_("须小于 {n}"),
    ">": N_("须大于 {n}"),
}
_LENGTHS = {
    "<=": N_("长度须不超过 {n} 个字符"),
    ">=": N_("长度须至少 {n} 个字符"),
}
_ITEMS = {
    "<=": N_("至多 {n} 项"),
    ">=": N_("至少 {n} 项"),
}


def _type_name(names: str) -> str:
    """`int | null` → 整数或空值（null）."""
    return _("或").join(_(_TYPES[n]) if n in _TYPES else n for n in names.split(" | "))


def _pattern(regex: str) -> str:
    regex = regex.replace("\\\\", "\\")
    known = _KNOWN_PATTERNS.get(regex)
    return _(known) if known else _("格式不符（须匹配 {regex}）", regex=regex)


# (pattern, what to say) — the first that matches wins; `say` gets the match's groups.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^Expected `str` of length (<=|>=) (\d+)$"),
        lambda m: _(_LENGTHS[m[1]], n=m[2]),
    ),
    (
        re.compile(r"^Expected `(?:array|object)` of length (<=|>=) (\d+)$"),
        lambda m: _(_ITEMS[m[1]], n=m[2]),
    ),
    (
        re.compile(r"^Expected `[^`]+` (<=|>=|<|>) (\S+)$"),
        lambda m: _(_BOUNDS[m[1]], n=m[2]),
    ),
    (
        re.compile(r"^Expected `[^`]+` that's a multiple of (\S+)$"),
        lambda m: _("须为 {n} 的倍数", n=m[1]),
    ),
    (re.compile(r"^Expected `str` matching regex '(.*)'$"), lambda m: _pattern(m[1])),
    (
        re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$"),
        lambda m: _(
            "应为{expected}，收到的是{got}", expected=_type_name(m[1]), got=_type_name(m[2])
        ),
    ),
    (re.compile(r"^Expected `([^`]+)`$"), lambda m: _("应为{expected}", expected=_type_name(m[1]))),
    (
        re.compile(r"^Invalid enum value (.+)$"),
        lambda m: _("取值 {value} 不在可选范围内", value=m[1]),
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded date$"),
        lambda m: _("日期格式应为 YYYY-MM-DD（如 2026-03-12）"),
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded datetime$"),
        lambda m: _("日期时间格式应为 ISO 8601（如 2026-03-12T08:30:00+08:00）"),
    ),
    (re.compile(r"^Invalid RFC3339 encoded time$"), lambda m: _("时间格式应为 HH:MM:SS")),
    (re.compile(r"^Invalid decimal string$"), lambda m: _("不是有效的数字")),
    (re.compile(r"^Invalid UUID$"), lambda m: _("不是有效的 UUID")),
    (re.compile(r"^Invalid base64 encoded string$"), lambda m: _("不是有效的 base64 编码")),
]

_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]+)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]+)`$")
_MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']+)'")
_PARAMETER_KINDS = {
    "query": N_("缺少必填的查询参数"),
    "path": N_("缺少路径参数"),
    "header": N_("缺少必填的请求头"),
    "cookie": N_("缺少必填的 Cookie"),
}


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _join(parent: str, child: str) -> str:
    return child if parent in {"", "data"} else f"{parent}.{child}"


def what_is_wrong(message: str) -> str:
    """One msgspec/Litestar message in 中文 (without the field)."""
    message = message.strip()
    if _has_chinese(message):
        return message  # our own services already said it
    for pattern, say in _RULES:
        if m := pattern.match(message):
            return say(m)
    return _("数据有误（{text}）", text=message)


def field_problem(key: str, message: str, source: str = "") -> dict[str, str]:
    """{"field", "message"}: the field named (a nested one as `items[0].x`), the problem in 中文."""
    message = str(message).strip()
    if m := _MISSING_FIELD.match(message):
        key, text = _join(key, m[1]), _("必填，不能缺少")
    elif m := _UNKNOWN_FIELD.match(message):
        key, text = _join(key, m[1]), _("不认识的字段")
    else:
        text = what_is_wrong(message)
    if not key or (key == "data" and source == "body"):
        return {"field": "", "message": _("请求体：{problem}", problem=text)}
    return {"field": key, "message": _("字段 “{key}”：{problem}", key=key, problem=text)}


def parameter_problem(detail: str) -> dict[str, str] | None:
    """Litestar's "Missing required query parameter 'x' for path …" as a field problem."""
    m = _MISSING_PARAMETER.match(detail)
    if not m:
        return None
    kind = _PARAMETER_KINDS.get(m[1], N_("缺少必填的参数"))
    return {"field": m[2], "message": _("字段 “{key}”：{problem}", key=m[2], problem=_(kind))}
