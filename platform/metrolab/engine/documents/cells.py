"""Spreadsheet cells that stay data: every xlsx and csv writer passes its values through
``safe_cell``.

A text starting with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return, or blanks before
one of those) is a live formula to Excel, LibreOffice and WPS when the file is opened — a customer
name ``=HYPERLINK(…)`` in an exported ledger would run on the reader's machine (CSV / formula
injection). Such a text gets a leading ``'`` (OWASP's advice), so it is shown, never evaluated.
Real numbers stay numbers, negative ones too, and so does a text that is just a number
(``"-0.12"``): it cannot be a formula. Characters XML 1.0 forbids (control characters) are dropped:
openpyxl refuses them and the export would fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@")
_LEADING_CONTROL = ("\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet cell that cannot run: texts neutralised, anything else as is."""
    if not isinstance(value, str):
        return value
    text = _ILLEGAL.sub("", value)
    if text.startswith(_LEADING_CONTROL):
        return "'" + text
    if text.lstrip(" ").startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def unquote_cell(value: Any) -> Any:
    """What ``safe_cell`` wrote, read back (an exported file imported again): its ``'`` goes."""
    if isinstance(value, str) and value.startswith("'") and safe_cell(value[1:]) == value:
        return value[1:]
    return value
