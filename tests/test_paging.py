"""A list counts as far as its page needs: exact below the cap, "N+" past it, and the next page
still offered (an exact count(*) of a million certificates costs more than the page)."""

from __future__ import annotations

from conftest import run
from metrolab.business import services
from metrolab.certificates import printing
from metrolab.kernel import paging
from test_api_certificates import compiled, lab  # noqa: F401 - the fixture


def test_a_list_counts_up_to_the_cap_and_past_the_page_shown(lab, monkeypatch):  # noqa: F811
    _rows, people = lab
    ids = compiled(people, ("SN-PAGE-1", "SN-PAGE-2", "SN-PAGE-3"))
    assert run(services.search_certificates())[1] == 3  # under the cap: exact
    monkeypatch.setattr(paging, "COUNT_CAP", 1)

    seen, shown = [], []
    for page_no in (1, 2, 3):
        rows, total = run(services.search_certificates(page_no=page_no, per_page=1))
        seen += [r["id"] for r in rows]
        shown.append(f"{total}")
        more = page_no * 1 < total  # how the page decides on 下一页
        assert more == (page_no < 3), (page_no, total)
    assert seen == sorted(ids, reverse=True)  # newest first, every one reached page by page
    assert shown == ["1+", "2+", "3"]
    assert run(services.search_certificates(page_no=3, per_page=1))[1].as_json() == {
        "total": 3,
        "total_capped": False,
    }
    first = run(services.search_certificates(per_page=1))[1]
    assert first.capped and first.as_json() == {"total": 1, "total_capped": True}
    assert f"{first.pages(1)}" == "2+"


def test_the_issued_query_says_its_pages_the_same_way(lab, monkeypatch):  # noqa: F811
    monkeypatch.setattr(paging, "COUNT_CAP", 0)
    _rows, total, pages = run(printing.search("", printable_only=False, per_page=1))
    assert (int(total), total.capped, int(pages)) == (0, False, 1)  # nothing issued: one empty page


def test_a_page_that_is_not_full_ends_the_count_without_asking_again(lab, monkeypatch):  # noqa: F811
    _rows, people = lab
    compiled(people, ("SN-LAST-1", "SN-LAST-2", "SN-LAST-3"))
    asked = []
    original = paging.capped_count

    async def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(kwargs)
        return await original(*args, **kwargs)

    monkeypatch.setattr(paging, "capped_count", counting)
    rows, total = run(services.search_certificates(q="SN-LAST", per_page=2, page_no=2))
    assert (len(rows), int(total), asked) == (1, 3, [])  # the last page: its rows end the list
    rows, total = run(services.search_certificates(q="SN-LAST", per_page=2, page_no=1))
    assert (len(rows), int(total), len(asked)) == (2, 3, 1)  # a full page: counted
    rows, total = run(services.search_certificates(q="SN-LAST", per_page=2, page_no=5))
    assert (rows, int(total), len(asked)) == ([], 3, 2)  # past the end: counted, not guessed 8


def test_the_next_page_link_opens_the_next_page(browser, make_user, monkeypatch):
    """下一页 on a paged list (the shared pager) is followed as a person clicks it, and shows the
    rows after the first page's, not the first page again."""
    import re

    from metrolab.customers import services as customers
    from metrolab.customers.tables import Customer

    monkeypatch.setattr(customers, "PAGE_SIZE", 2)
    run(Customer.insert(*[Customer(name=f"翻页测试单位{i}", category="煤矿") for i in range(5)]))
    browser.login(make_user("clerk"))
    url, seen = "/customers?q=翻页测试", []
    for expected_page in (1, 2, 3):
        html = browser.get(url).text
        assert f"第 {expected_page} 页 / 共 3 页" in html
        seen += re.findall(r"翻页测试单位\d", html)
        following = re.search(r'<a href="([^"]+)">下一页</a>', html)
        if expected_page < 3:
            url = following.group(1).replace("&amp;", "&")
        else:
            assert following is None
    assert seen == [f"翻页测试单位{i}" for i in range(5)]
