"""Finding a certificate by what a person types: any part of its number, in any case, with the
characters typed taken as themselves — walking the newest certificates or through the indexes
(PostgreSQL's number suffix index) alike."""

from __future__ import annotations

import pytest

from conftest import run
from metrolab.business import services
from metrolab.certificates.tables import Certificate
from metrolab.kernel import listing
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


@pytest.mark.parametrize("through", ["the newest certificates", "the indexes"])
def test_a_number_is_found_by_any_part_of_it_and_typed_characters_are_themselves(
    lab,  # noqa: F811
    monkeypatch,
    through,
):
    _rows, people = lab
    numbered(people)
    if through == "the indexes":  # as if a million newer certificates came first
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
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
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 2)
    rows, total = run(services.search_certificates(q="JD20", per_page=1))
    assert (f"{total}", [r["id"] for r in rows]) == ("2+", [ids["JD2025-0000123"]])
    rows, total = run(services.search_certificates(per_page=1))  # no search: the list's own cap
    assert f"{total}" == str(len(ids))


@pytest.mark.parametrize("windows", [(1, 1), (1, 3), (2, 2), (2, 4), (3, 5)])
@pytest.mark.parametrize("max_ids", [0, 1000])
def test_how_a_search_is_asked_never_changes_what_it_finds(lab, monkeypatch, windows, max_ids):  # noqa: F811
    """Walking the newest certificates first, or the indexes; the matching records by id or
    looked up row by row: every page is the one the plain question gives, and so is its count —
    but when the records are not named by id (too many, or too short a search for a trigram), the
    count may stop at the newest ones and say "more than n" rather than read every record."""
    _rows, people = lab
    numbered(people)
    asked = [("JD2026", 1, 1), ("JD2026", 1, 2), ("jd20", 2, 1), ("jd20", 2, 2), ("jd20", 2, 3)]
    asked += [("SN-FIND", 2, 1), ("SN-FIND-3", 1, 1), ("0000123", 1, 2), ("nothing", 1, 1)]
    asked += [("12", 1, 1), ("12", 2, 2), ("-3", 1, 1)]  # too short for a trigram

    def answers() -> list[tuple[list[int], str]]:
        out = []
        for q, per_page, page_no in asked:
            rows, total = run(services.search_certificates(q=q, per_page=per_page, page_no=page_no))
            out.append(([r["id"] for r in rows], f"{total}"))
        return out

    plain = answers()  # a handful of certificates: all of them are the newest
    monkeypatch.setattr(listing, "PAGE_WINDOW", windows[0])
    monkeypatch.setattr(listing, "COUNT_WINDOW", windows[1])
    monkeypatch.setattr(listing, "MAX_IDS", max_ids)
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 3)
    for (q, _, _), (ids, total), (plain_ids, plain_total) in zip(
        asked, answers(), plain, strict=True
    ):
        assert ids == plain_ids
        exact = plain_total if int(plain_total) <= 3 else "3+"
        many_records = max_ids == 0 or len(q) < listing.TRIGRAM  # records not named by id
        if many_records and total != exact:  # at least as many as it says
            assert total.endswith("+") and int(total[:-1]) < int(plain_total)
        else:
            assert total == exact
