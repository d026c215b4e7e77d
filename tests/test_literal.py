"""Values written into a statement (``kernel.literal``) answer what the same values bound do —
quotes, braces and dates included — and what cannot be written in is refused, not sent."""

from __future__ import annotations

from datetime import date

import pytest
from piccolo.querystring import QueryString

from conftest import run
from metrolab.kernel.literal import sql_literal, written_in


def test_values_written_in_answer_as_bound_values_do(db):
    from metrolab.piccolo_conf import DB

    values = ("it's {x} $1", 7, date(2026, 12, 7), None)
    bound = QueryString(
        "SELECT CAST({} AS TEXT) AS a, CAST({} AS INTEGER) AS b, CAST({} AS DATE) AS c, "
        "CAST({} AS TEXT) AS d",
        *values,
    )
    written = written_in(bound, DB.engine_type)
    expected = run(DB.run_querystring(bound))
    assert run(DB.run_querystring(written)) == expected
    assert expected[0]["a"] == "it's {x} $1" and expected[0]["b"] == 7
    if DB.engine_type == "postgres":
        sql, args = written.compile_string("postgres")
        assert args == [] and "'it''s {x} $1'" in sql and "'2026-12-07'" in sql


def test_what_cannot_be_written_in_is_refused():
    assert sql_literal(True) == "TRUE" and sql_literal(-3) == "-3"
    with pytest.raises(ValueError, match="NUL"):
        sql_literal("a\x00b")
    with pytest.raises(TypeError):
        sql_literal(1.5)


def test_a_list_filter_names_the_lists_own_column():
    """A raw condition on a joined column would not bring its join: refused where it is written."""
    from metrolab.certificates.tables import Certificate
    from metrolab.kernel import listing

    assert str(listing.equals(Certificate.status, "it's").querystring) == (
        "\"certificate\".\"status\" = 'it''s'"
    )
    with pytest.raises(TypeError, match="own column"):
        listing.equals(Certificate.record.verifier, 1)


def test_braces_and_dollars_in_a_written_in_value_stay_text(db):
    """A filter's value is text: braces are not template placeholders, "$1" is not a parameter."""
    from metrolab.certificates.tables import Certificate
    from metrolab.kernel import listing
    from metrolab.piccolo_conf import DB

    query = Certificate.select(Certificate.id).where(listing.equals(Certificate.status, "a{x}$1"))
    assert "'a{x}$1'" in query.querystrings[0].compile_string(DB.engine_type)[0]
    assert run(query) == []
    counted = QueryString(
        "SELECT count(*) AS n FROM certificate WHERE status = {} OR {}",
        "x",
        listing.equals(Certificate.status, "a{x}$1").querystring,
    )
    written = written_in(counted, DB.engine_type)
    assert "'a{x}$1'" in written.compile_string(DB.engine_type)[0]
    assert [dict(r) for r in run(DB.run_querystring(written))] == [{"n": 0}]
