"""Values written into a statement instead of bound as ``$1``.

After five runs of a prepared statement PostgreSQL may switch to a generic plan, made without the
values, which takes any value for an average one: a verifier with no drafts, or a state few rows
are in, then costs a walk of the whole table (the home page's 我的原始记录草稿 counter at 1 M
records: 129 ms, against 0.1 ms through the status index). Where a statement is made for one
person or one filter anyway — a list's filter, the home page's counters — its values are written in,
so each statement is planned once for what it asks. Only values from code and the database (ids,
state keys, dates) are written in; what a person types stays a bound parameter.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from piccolo.querystring import QueryString


def sql_literal(value: object) -> str:
    """``value`` as SQL text (standard quoting, the same on PostgreSQL and SQLite)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise TypeError(f"no SQL literal for {type(value).__name__}")
    if "\x00" in value:
        raise ValueError("a statement cannot hold a NUL character")
    return "'" + value.replace("'", "''") + "'"


def written_in(statement: QueryString, engine_type: str) -> QueryString:
    """``statement`` with its values written in, on PostgreSQL (SQLite plans each run anyway)."""
    if engine_type not in ("postgres", "cockroach"):
        return statement
    sql, values = statement.compile_string(engine_type=engine_type)
    # A $n inside a quoted literal already in the text is that literal's, not a parameter.
    text = re.sub(
        r"('(?:[^']|'')*')|\$(\d+)\b",
        lambda m: m.group(1) or sql_literal(values[int(m.group(2)) - 1]),
        sql,
    )
    return QueryString(text.replace("{", "{{").replace("}", "}}"))
