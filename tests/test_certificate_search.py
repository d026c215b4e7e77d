"""Finding a certificate by what a person types: any part of its number, in any case, with the
characters typed taken as themselves — through PostgreSQL's suffix index or the plain scan alike."""

from __future__ import annotations

import pytest

from conftest import run
from metrolab.business import services
from metrolab.certificates import search
from metrolab.certificates.tables import Certificate
from test_api_certificates import compiled, lab  # noqa: F401 - the fixture

NUMBERS = ("JD2026-0000123", "JD2026-0001230", "JD2025-0000123", "JD_2026%50", "Q'U\\OTE:*&|!")


def numbered(people) -> dict[str, int]:  # noqa: ANN001
    """Certificates with the numbers above (numbers are given at issue; here set directly)."""
    ids = compiled(people, tuple(f"SN-FIND-{i}" for i in range(len(NUMBERS))))
    for cid, number in zip(ids, NUMBERS, strict=True):
        run(Certificate.update({Certificate.number: number}).where(Certificate.id == cid))
    run(Certificate._meta.db.run_ddl("ANALYZE certificate"))
    return dict(zip(NUMBERS, ids, strict=True))


def found(q: str) -> set[str]:
    rows, total = run(services.search_certificates(q=q))
    assert int(total) == len(rows), q
    return {r["number"] for r in rows if r["number"]}


@pytest.mark.parametrize("through", ["suffix index", "plain scan"])
def test_a_number_is_found_by_any_part_of_it_and_typed_characters_are_themselves(
    lab,  # noqa: F811
    monkeypatch,
    through,
):
    _rows, people = lab
    numbered(people)
    if through == "plain scan":  # as if PostgreSQL expected a year's certificates
        monkeypatch.setattr(search, "SUFFIX_INDEX_ROWS", 0)
    assert found("JD2026-0000123") == {"JD2026-0000123"}  # the whole number
    assert found("jd2026-000") == {"JD2026-0000123", "JD2026-0001230"}  # its start, any case
    assert found("0000123") == {"JD2026-0000123", "JD2025-0000123"}  # its end
    assert found("6-00012") == {"JD2026-0001230"}  # its middle
    assert found("JD2026") == {"JD2026-0000123", "JD2026-0001230"}
    assert found("D_") == {"JD_2026%50"}  # _ is an underscore, not any character
    assert found("6%5") == {"JD_2026%50"}  # % is a percent sign, not anything
    assert found("%") == {"JD_2026%50"}
    assert found("'U\\OTE:*&|") == {"Q'U\\OTE:*&|!"}  # quotes, backslash, query syntax: plain text
    assert found("JD2024") == set()


def test_a_search_counts_to_its_own_cap_newest_first(lab, monkeypatch):  # noqa: F811
    _rows, people = lab
    ids = numbered(people)
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    rows, total = run(services.search_certificates(q="JD20", per_page=1))
    assert (f"{total}", [r["id"] for r in rows]) == ("2+", [ids["JD2025-0000123"]])
    rows, total = run(services.search_certificates(per_page=1))  # no search: the list's own cap
    assert f"{total}" == str(len(ids))
