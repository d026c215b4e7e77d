"""The certificate number pattern a lab chooses (e.g. ``JD{year}-{seq:05d}`` → ``JD2026-00017``).

Only two placeholders exist: ``{year}`` (four digits) and ``{seq}`` (the year's sequence number,
``{seq:05d}`` zero-padded to five digits). The pattern is checked before it is saved and formatted
here without ``str.format`` (whose ``{seq.__class__}`` would reach into Python objects).
"""

from __future__ import annotations

import re

DEFAULT_PATTERN = "JD{year}-{seq:05d}"
MAX_PATTERN = 40
MAX_NUMBER = 50  # certificates.tables.Certificate.number is Varchar(50)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SEQ = re.compile(r"seq(?::0([1-9])d)?")
# Numbers travel in URLs, file names and forms: no spaces and no characters that need escaping.
_FORBIDDEN = re.compile(r"[\s/\\?#%&<>\"']")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot number certificates (中文), or None. Blank means the default."""
    if not pattern:
        return None
    if len(pattern) > MAX_PATTERN:
        return f"证书编号格式不能超过 {MAX_PATTERN} 个字符"
    if _FORBIDDEN.search(pattern):
        return "证书编号格式不能包含空格或 / \\ ? # % & < > 引号等字符"
    names = _PLACEHOLDER.findall(pattern)
    if "{" in _PLACEHOLDER.sub("", pattern) or "}" in _PLACEHOLDER.sub("", pattern):
        return "证书编号格式的花括号不成对：占位符写作 {year}、{seq} 或 {seq:05d}"
    unknown = [n for n in names if n != "year" and not _SEQ.fullmatch(n)]
    if unknown:
        return (
            f"证书编号格式只能使用占位符 {{year}}（年份）和 {{seq}}（流水号，如 {{seq:05d}}），"
            f"不认识「{{{unknown[0]}}}」"
        )
    seqs = [n for n in names if n != "year"]
    if len(seqs) != 1:
        return "证书编号格式必须包含且只包含一个流水号占位符 {seq}（如 {seq:05d}）"
    if "year" not in names:
        return "证书编号格式必须包含年份 {year}：流水号每年从 1 重新开始，缺少年份次年会重号"
    if len(format_number(pattern, 9999, 999_999_999)) > MAX_NUMBER:
        return f"按此格式生成的证书编号会超过 {MAX_NUMBER} 个字符"
    return None


def format_number(pattern: str, year: int, seq: int) -> str:
    """``pattern`` (already checked) with its placeholders filled in."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "year":
            return f"{year:04d}"
        width = _SEQ.fullmatch(name)
        if width is None:
            raise ValueError(f"unknown placeholder {{{name}}} in {pattern!r}")
        return f"{seq:0{width.group(1) or 1}d}"

    return _PLACEHOLDER.sub(fill, pattern or DEFAULT_PATTERN)
