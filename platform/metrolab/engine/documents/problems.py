"""Errors a template author sees: Chinese first, English second, and where it happened."""

from __future__ import annotations

from metrolab.kernel.errors import Refused


class TemplateProblem(Refused):
    """Something wrong with a certificate template (or its data): a refusal (422) whose 中文
    message says what and where, so a page or the API answers it instead of a 500."""

    status_code = 422

    def __init__(self, message_zh: str, message_en: str, place: str = "") -> None:
        where = f"（{place}）" if place else ""
        super().__init__(f"{message_zh}{where}")
        self.message_zh = message_zh
        self.message_en = message_en
        self.place = place

    def __str__(self) -> str:
        where = f"（{self.place}）" if self.place else ""
        return f"{self.message_zh}{where} / {self.message_en}"

    def __reduce__(self) -> tuple:
        return (type(self), (self.message_zh, self.message_en, self.place))


class RenderTimeout(TemplateProblem):
    """The render worker ran past its time limit and was killed."""


class RenderLimit(TemplateProblem):
    """The sandbox stopped a render: too many loop iterations or too much output."""


class ConversionError(RuntimeError):
    """The converter failed on a document."""


class ConversionTimeout(ConversionError):
    """A conversion did not finish in time; the server was killed. Retry."""
