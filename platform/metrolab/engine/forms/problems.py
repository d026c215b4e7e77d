"""Field-level problems and the labels that locate them ("第1枪 第3行 加油机示值 V_J")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metrolab.engine.forms.model import text_of

Labels = tuple[tuple[str, str], ...]  # prefix parts as (zh, en)


@dataclass(frozen=True)
class FieldProblem:
    """A problem with one value of a record: where (data path and readable label) and what."""

    path: str
    label_zh: str
    label_en: str
    message_zh: str
    message_en: str
    severity: str = "error"  # error | warning
    code: str = "invalid"  # required | number | minimum | maximum | pattern | enum | runtime | limit | schema

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" and self.message_en else self.message_zh

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" and self.label_en else self.label_zh

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "severity": self.severity,
            "code": self.code,
        }


def row_label(node: dict[str, Any], index: int) -> tuple[str, str]:
    """``第3行`` / ``Row 3`` — or the node's own ``row_label`` with ``{n}``."""
    n = index + 1
    custom = node.get("row_label")
    if custom:
        zh = text_of(custom, "zh").replace("{n}", str(n))
        en = text_of(custom, "en").replace("{n}", str(n))
        return zh, en
    if node.get("type") == "group":
        return f"第{n}组", f"Group {n}"
    return f"第{n}行", f"Row {n}"


def full_label(prefix: Labels, label: Any) -> tuple[str, str]:
    zh = " ".join([p[0] for p in prefix if p[0]] + [text_of(label, "zh")]).strip()
    en = " ".join([p[1] for p in prefix if p[1]] + [text_of(label, "en")]).strip()
    return zh, en


def problem(
    path: str,
    prefix: Labels,
    label: Any,
    zh: str,
    en: str,
    *,
    severity: str = "error",
    code: str = "invalid",
) -> FieldProblem:
    label_zh, label_en = full_label(prefix, label)
    return FieldProblem(path, label_zh, label_en, zh, en, severity, code)
