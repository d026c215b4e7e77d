"""Errors a template author sees: Chinese first, English second, and where it happened."""

from __future__ import annotations


class TemplateProblem(Exception):
    """Something wrong with a certificate template (or its data)."""

    def __init__(self, message_zh: str, message_en: str, place: str = "") -> None:
        super().__init__(message_zh, message_en, place)
        self.message_zh = message_zh
        self.message_en = message_en
        self.place = place

    def __str__(self) -> str:
        where = f"（{self.place}）" if self.place else ""
        return f"{self.message_zh}{where} / {self.message_en}"


class RenderTimeout(TemplateProblem):
    """The render worker ran past its time limit and was killed."""


class ConversionError(RuntimeError):
    """The converter failed on a document."""


class ConversionTimeout(ConversionError):
    """A conversion did not finish in time; the server was killed. Retry."""
