"""What a person types into a list's search box: found wherever it occurs in a column, ignoring
case, and taken literally — a % or _ typed is that character, not a wildcard that widens the
search to everything. One helper for every list, so every list searches alike."""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import Where, WhereRaw
from piccolo.columns.operators.comparison import ComparisonOperator


class _ContainsPostgres(ComparisonOperator):
    template = "{name} ILIKE {value}"  # backslash is PostgreSQL's default LIKE escape


class _ContainsSqlite(ComparisonOperator):
    template = "{name} LIKE {value} ESCAPE '\\'"  # SQLite's LIKE ignores ASCII case only


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's own characters (% _ \\) escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: Column, text: str) -> Where:
    """``column`` contains ``text`` (a Piccolo condition: a joined column brings its join)."""
    postgres = column._meta.engine_type in ("postgres", "cockroach")
    operator = _ContainsPostgres if postgres else _ContainsSqlite
    return Where(column=column, value=like_pattern(text), operator=operator)


def number_contains(column: Column, text: str) -> Where | WhereRaw:
    """``column`` (a document number: 证书, 原始记录, 委托单) contains ``text``, through its suffix
    index on PostgreSQL (``metrolab_suffixes``, certificates_2026_12_07t02): a number contains q
    when one of its suffixes begins with q, so the numbers found are one range of the index — no
    trigram every number shares ("202") to read and recheck. The index is made by the migration
    of each numbered table; elsewhere it is ``contains``."""
    if column._meta.engine_type not in ("postgres", "cockroach"):
        return contains(column, text)
    name = column._meta.get_full_name(with_alias=False)
    return WhereRaw(f"metrolab_suffixes({name}) @@ metrolab_prefix_query({{}})", text)
