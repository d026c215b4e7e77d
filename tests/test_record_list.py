"""The 原始记录 list: what a person types finds a record by any part of its number, 出厂编号, model,
instrument name or type, or its customer; the list is paged and counted — walking the newest
records or through the indexes alike (``kernel.listing``)."""

from __future__ import annotations

import re

import pytest

from conftest import run
from factories import compiled_certificates
from list_answers import assert_same_answer, narrow_windows
from metrolab.customers.tables import Customer
from metrolab.kernel import listing
from metrolab.records import services
from metrolab.records.tables import OriginalRecord
from test_api_certificates import compiled, lab  # noqa: F401 - the fixture

SERIALS = ("SN-LIST-0", "SN-LIST-1", "SN-LIST-2", "SN-LIST-3")


def records(people) -> dict[str, dict]:  # noqa: ANN001
    """Four records of 峰峰集团大淑村矿 (model JCB4) and one of another customer (model CS-9)."""
    compiled(people, SERIALS)
    other = run(
        Customer.insert(Customer(name="冀南加油站", category="加油站")).returning(Customer.id)
    )
    run(  # the record's own customer and model (the columns it is saved with)
        compiled_certificates(
            people["clerk"],
            people["verifier"],
            ("SN-OTHER-9",),
            customer=other[0]["id"],
            model="CS-9",
        )
    )
    rows = run(
        OriginalRecord.select(OriginalRecord.id, OriginalRecord.number, OriginalRecord.serial)
    )
    run(OriginalRecord._meta.db.run_ddl("ANALYZE original_record"))
    return {r["serial"]: r for r in rows}


def found(q: str, **kw) -> tuple[list[str], str]:  # noqa: ANN003
    rows, total = run(services.search(q, **kw))
    return [r["serial"] for r in rows], f"{total}"


@pytest.mark.parametrize("through", ["the newest records", "the indexes"])
def test_a_record_is_found_by_what_is_typed(lab, monkeypatch, through):  # noqa: F811
    _rows, people = lab
    by_serial = records(people)
    if through == "the indexes":  # as if a million newer records came first
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
    newest_first = sorted(by_serial, key=lambda s: -by_serial[s]["id"])
    assert found("") == (newest_first, "5")
    assert found("sn-list-2") == (["SN-LIST-2"], "1")  # 出厂编号, any case
    assert found("LIST") == ([s for s in newest_first if "LIST" in s], "4")
    number = by_serial["SN-LIST-1"]["number"]  # YS2026-000123: its end
    assert found(number[-4:])[0] == [
        s for s in newest_first if by_serial[s]["number"].endswith(number[-4:])
    ]
    assert found("冀南") == (["SN-OTHER-9"], "1")  # the customer
    assert found("cs-9") == (["SN-OTHER-9"], "1")  # the model
    assert found("甲烷") == (newest_first, "5")  # the instrument type's name
    assert found("nothing here") == ([], "0")
    assert set(by_serial) == {*SERIALS, "SN-OTHER-9"}


def test_the_list_is_paged_newest_first_and_mine_is_the_verifiers(lab, make_user):  # noqa: F811
    _rows, people = lab
    by_serial = records(people)
    newest_first = sorted(by_serial, key=lambda s: -by_serial[s]["id"])
    pages = [found("", page_no=n, per_page=2) for n in (1, 2, 3)]
    assert [serials for serials, _ in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert {total for _, total in pages} == {"5"}
    other = make_user("verifier", full_name="检定员赵")
    assert found("", verifier=people["verifier"].id) == (newest_first, "5")
    assert found("", verifier=other["id"]) == ([], "0")


@pytest.mark.parametrize("windows", [(1, 1), (1, 3), (2, 2), (3, 5)])
def test_how_a_search_is_asked_never_changes_what_it_finds(lab, monkeypatch, windows):  # noqa: F811
    """The answers of ``list_answers``: the same page and count however it is asked."""
    _rows, people = lab
    records(people)
    asked = [("LIST", 1, 1), ("LIST", 2, 2), ("LIST", 3, 2), ("SN", 2, 3), ("-9", 1, 1)]
    asked += [("大淑村", 2, 1), ("YS", 2, 2), ("T-3", 1, 1), ("nothing", 1, 1)]

    def answers() -> list[tuple[list[str], str]]:
        return [found(q, per_page=per_page, page_no=page_no) for q, per_page, page_no in asked]

    plain = answers()  # a handful of records: all of them are the newest
    narrow_windows(monkeypatch, windows)
    for (q, per_page, page_no), answer, plain_answer in zip(asked, answers(), plain, strict=True):
        assert_same_answer(q, per_page, page_no, answer, plain_answer)


def test_the_page_counts_and_pages_as_a_person_reads_it(lab, browser, monkeypatch):  # noqa: F811
    rows, people = lab
    records(people)
    monkeypatch.setattr(services, "PER_PAGE", 3)
    browser.login(rows["verifier"])
    first = browser.get("/records", params={"q": "峰峰"}).text
    assert "共 4 份原始记录" in first and "第 1 页 / 共 2 页" in first
    assert len(re.findall(r"SN-LIST-\d", first)) == 3
    following = re.search(r'href="(/records\?q=[^"]*page_no=2)"', first)
    assert following, "no link to the next page"
    second = browser.get(following.group(1).replace("&amp;", "&")).text
    assert re.findall(r"SN-LIST-\d", second) == ["SN-LIST-0"] and "第 2 页 / 共 2 页" in second
    api = browser.get("/api/v1/records", params={"q": "峰峰", "page_no": 2}).json()
    assert [r["serial"] for r in api["items"]] == ["SN-LIST-0"]
    assert (api["total"], api["total_capped"], api["pages"], api["page"]) == (4, False, 2, 2)
    assert browser.get("/api/v1/records", params={"page_no": 10**12}).status_code == 400
