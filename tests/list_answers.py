"""What every list over a growing table promises (``kernel.listing``): however a search is
asked — walking the newest rows or through the indexes, whatever the windows — it finds the page
the plain question finds and counts it the same, except that a search too short for a trigram may
stop at the newest rows and say "more than n"."""

from __future__ import annotations

from metrolab.kernel import listing

CAP = 3  # the tests' SEARCH_COUNT_CAP


def narrow_windows(monkeypatch, windows: tuple[int, int]) -> None:  # noqa: ANN001
    monkeypatch.setattr(listing, "PAGE_WINDOW", windows[0])
    monkeypatch.setattr(listing, "COUNT_WINDOW", windows[1])
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", CAP)


def assert_same_answer(
    q: str, per_page: int, page_no: int, answer: tuple[list, str], plain: tuple[list, str]
) -> None:
    (found, total), (plain_found, plain_total) = answer, plain
    assert found == plain_found, q
    cap = max(CAP, per_page * page_no)  # a deep page counts past itself
    exact = plain_total if int(plain_total) <= cap else f"{cap}+"
    if len(q) < listing.TRIGRAM and total != exact:  # at least as many as it says
        assert total.endswith("+") and int(total[:-1]) < int(plain_total), q
    else:
        assert total == exact, q
