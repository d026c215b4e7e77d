"""The 委托单 and 检定任务 lists: what a person types finds an entrustment by any part of its number,
its contact, phone or customer, and a task by its 出厂编号, name or model, its 委托单号, customer or
certificate number; filters (状态, 待发放, 只看我的, 待分配, 待编制) narrow it; the list is paged and
counted — walking the newest rows or through the indexes alike (``kernel.listing``)."""

from __future__ import annotations

import re

import pytest

from conftest import run
from list_answers import assert_same_answer, narrow_windows
from metrolab.business import lists, services
from metrolab.business.tables import Entrustment
from metrolab.certificates.tables import Certificate
from metrolab.kernel import listing
from test_api_business import _compiled, _values, lab  # noqa: F401 - the fixture

# (customer, contact, phone, serials): three entrustments, oldest first.
ENTRUSTED = (
    ("峰峰集团大淑村矿", "张三", "0310-5551234", ("SN-E-1", "SN-E-2")),
    ("冀南加油站", "李四", "0311-7654321", ("SN-E-3",)),
    ("峰峰集团大淑村矿", "王五", "0310-5550000", ("SN-E-4", "SN-E-5")),
)


def entrusted(lab) -> list[dict]:  # noqa: ANN001, F811
    """The three entrustments as a clerk registers them, each answered with its tasks."""
    made, customers = [], set()
    for customer, contact, phone, serials in ENTRUSTED:
        values = _values(serials, customer=customer, contact=contact, phone=phone)
        r = lab["client"].post(
            "/api/v1/entrustments",
            json={"values": values, "new_customer": customer not in customers},
            headers=lab["clerk_h"],
        )
        assert r.status_code == 201, r.text
        customers.add(customer)
        made.append(r.json())
    run(Entrustment._meta.db.run_ddl("ANALYZE entrustment"))
    return made


def entrustment_numbers(q: str = "", **kw) -> tuple[list[str], str]:  # noqa: ANN003
    rows, total = run(lists.entrustments(q, **kw))
    return [r["number"] for r in rows], f"{total}"


def task_serials(user, q: str = "", **kw) -> tuple[list[str], str]:  # noqa: ANN001, ANN003
    rows, total = run(lists.tasks(user, q=q, **kw))
    return [r["serial"] for r in rows], f"{total}"


def signed_in(user_id: int):  # noqa: ANN201
    """The person as a signed-in request sees them."""
    from datetime import UTC, datetime

    from metrolab.accounts import services as accounts
    from metrolab.web.auth import sha256

    async def me():  # noqa: ANN202
        session = await accounts.start_session(user_id, "127.0.0.1")
        return await accounts.user_for_session(sha256(session), datetime.now(UTC))

    return run(me())


@pytest.mark.parametrize("through", ["the newest rows", "the indexes"])
def test_an_entrustment_is_found_by_what_is_typed(lab, monkeypatch, through):  # noqa: F811
    e1, e2, e3 = (e["number"] for e in entrusted(lab))
    if through == "the indexes":  # as if a million newer entrustments came first
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
    assert entrustment_numbers() == ([e3, e2, e1], "3")
    assert entrustment_numbers(e2) == ([e2], "1")  # the whole number
    assert entrustment_numbers(e2[-3:].lower()) == ([e2], "1")  # its end, any case
    assert entrustment_numbers("wt") == ([e3, e2, e1], "3")
    assert entrustment_numbers("峰峰") == ([e3, e1], "2")  # the customer
    assert entrustment_numbers("李四") == ([e2], "1")  # the contact
    assert entrustment_numbers("0310-555") == ([e3, e1], "2")  # the phone
    assert entrustment_numbers("没有这个") == ([], "0")
    assert entrustment_numbers("%") == ([], "0")  # a LIKE character is a character


def test_the_entrustment_filters_and_pages(lab):  # noqa: F811
    made = entrusted(lab)
    e1, e2, e3 = (e["number"] for e in made)
    r = lab["client"].post(
        f"/api/v1/entrustments/{made[1]['id']}/receive",
        json={"count": 1},
        headers=lab["verifier_h"],
    )
    assert r.status_code == 200, r.text
    assert entrustment_numbers(status="received") == ([e2], "1")
    assert entrustment_numbers(status="registered") == ([e3, e1], "2")
    assert entrustment_numbers(status="it's") == ([], "0")  # a quote is a character, not SQL
    assert entrustment_numbers(stage="release") == ([], "0")  # none in progress or completed
    pages = [entrustment_numbers(page_no=n, per_page=2) for n in (1, 2, 3)]
    assert pages == [([e3, e2], "3"), ([e1], "3"), ([], "3")]


@pytest.mark.parametrize("through", ["the newest rows", "the indexes"])
def test_a_task_is_found_by_what_is_typed(lab, monkeypatch, through):  # noqa: F811
    made = entrusted(lab)
    clerk = signed_in(lab["rows"]["clerk"]["id"])
    if through == "the indexes":
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
    newest = ["SN-E-5", "SN-E-4", "SN-E-3", "SN-E-2", "SN-E-1"]
    assert task_serials(clerk) == (newest, "5")
    assert task_serials(clerk, "sn-e-4") == (["SN-E-4"], "1")  # 出厂编号, any case
    assert task_serials(clerk, "jcb4") == (newest, "5")  # the model
    assert task_serials(clerk, made[1]["number"]) == (["SN-E-3"], "1")  # its 委托单号
    assert task_serials(clerk, "峰峰集团") == (["SN-E-5", "SN-E-4", "SN-E-2", "SN-E-1"], "4")
    assert task_serials(clerk, "nothing") == ([], "0")


@pytest.mark.parametrize("through", ["the newest rows", "the indexes"])
def test_a_task_is_found_by_its_certificate_number(lab, monkeypatch, through):  # noqa: F811
    _e, (certificate,) = _compiled(lab, ("SN-C-1",))
    entrusted(lab)  # newer tasks
    # The number the signed approval gives it (its tests are the certificate workflow's).
    number = Certificate.update({Certificate.number: "JD2026-T00042"})
    run(number.where(Certificate.id == certificate))
    if through == "the indexes":
        monkeypatch.setattr(listing, "PAGE_WINDOW", 1)
    clerk = signed_in(lab["rows"]["clerk"]["id"])
    assert task_serials(clerk, "t00042") == (["SN-C-1"], "1")
    assert task_serials(clerk, "JD2026-T") == (["SN-C-1"], "1")


def test_the_task_filters_mine_unassigned_and_to_compile(lab):  # noqa: F811
    made = entrusted(lab)
    c, vh = lab["client"], lab["verifier_h"]
    verifier = lab["rows"]["verifier"]["id"]
    task = made[1]["tasks"][0]  # SN-E-3
    r = c.post(f"/api/v1/entrustments/{made[1]['id']}/receive", json={"count": 1}, headers=vh)
    assert r.status_code == 200, r.text
    r = c.post(f"/api/v1/tasks/{task['id']}/assign", json={"verifier": verifier}, headers=vh)
    assert r.status_code == 200, r.text
    me, other = signed_in(verifier), signed_in(lab["rows"]["other"]["id"])
    assert task_serials(me, mine=True) == (["SN-E-3"], "1")
    assert task_serials(other, mine=True) == ([], "0")
    assert task_serials(me, mine=True, stage="compile") == (["SN-E-3"], "1")
    assert task_serials(me, stage="unassigned") == (
        ["SN-E-5", "SN-E-4", "SN-E-2", "SN-E-1"],
        "4",
    )
    # The home page's 待编制 counter and the list it opens agree.
    assert run(services.task_count("compile", me)) == 1
    assert run(services.task_count("compile", other)) == 0


@pytest.mark.parametrize("windows", [(1, 1), (1, 3), (2, 2), (3, 5)])
def test_how_a_search_is_asked_never_changes_what_it_finds(lab, monkeypatch, windows):  # noqa: F811
    made = entrusted(lab)
    clerk = signed_in(lab["rows"]["clerk"]["id"])
    number = made[1]["number"]
    asked = [("SN-E", 1, 1), ("SN-E", 2, 2), ("SN-E", 2, 3), ("峰峰", 1, 2), ("E-", 2, 1)]
    asked += [(number, 1, 1), (number[-2:], 2, 1), ("WT", 2, 2), ("李四", 1, 1), ("nothing", 1, 1)]

    def answers() -> list[tuple[tuple, tuple]]:
        return [
            (
                task_serials(clerk, q, per_page=per_page, page_no=page_no),
                entrustment_numbers(q, per_page=per_page, page_no=page_no),
            )
            for q, per_page, page_no in asked
        ]

    plain = answers()  # a handful of rows: all of them are the newest
    narrow_windows(monkeypatch, windows)
    for (q, per_page, page_no), now, before in zip(asked, answers(), plain, strict=True):
        for answer, plain_answer in zip(now, before, strict=True):
            assert_same_answer(q, per_page, page_no, answer, plain_answer)


def test_the_pages_count_and_page_as_a_person_reads_them(lab, browser, monkeypatch):  # noqa: F811
    made = entrusted(lab)
    monkeypatch.setattr(lists, "PER_PAGE", 2)
    browser.login(lab["rows"]["clerk"])
    first = browser.get("/tasks", params={"q": "峰峰"}).text
    assert "共 4 项检定任务" in first and "第 1 页 / 共 2 页" in first
    assert re.findall(r"SN-E-\d", first) == ["SN-E-5", "SN-E-4"]
    following = re.search(r'href="(/tasks\?q=[^"]*page_no=2)"', first)
    assert following, "no link to the next page"
    second = browser.get(following.group(1).replace("&amp;", "&")).text
    assert re.findall(r"SN-E-\d", second) == ["SN-E-2", "SN-E-1"] and "第 2 页 / 共 2 页" in second

    first = browser.get("/entrustments", params={"status": "registered"}).text
    assert "共 3 份委托单" in first and "第 1 页 / 共 2 页" in first
    following = re.search(r'href="(/entrustments\?[^"]*page_no=2)"', first)
    assert following, "no link to the next page"
    second = browser.get(following.group(1).replace("&amp;", "&")).text
    assert made[0]["number"] in second and made[2]["number"] not in second

    c, h = lab["client"], lab["clerk_h"]
    api = c.get("/api/v1/entrustments", params={"page_no": 2}, headers=h).json()
    assert [e["number"] for e in api["items"]] == [made[0]["number"]]
    assert (api["total"], api["total_capped"], api["pages"], api["page"]) == (3, False, 2, 2)
    api = c.get("/api/v1/tasks/search", params={"q": "SN-E", "page_no": 3}, headers=h).json()
    assert [t["serial"] for t in api["items"]] == ["SN-E-1"]
    assert (api["total"], api["total_capped"], api["pages"], api["page"]) == (5, False, 3, 3)
    for path in ("/api/v1/entrustments", "/api/v1/tasks/search", "/tasks", "/entrustments"):
        assert c.get(path, params={"page_no": 10**12}, headers=h).status_code == 400, path
