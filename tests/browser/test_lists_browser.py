"""The 检定任务 and 委托单 lists as a clerk uses them in Chromium: the count above the table, 下一页
to the older tasks, a 出厂编号 typed key by key finding its task, a customer its 委托单."""

from __future__ import annotations

import pytest

from conftest import run, ui_login

pytestmark = pytest.mark.browser


def test_a_clerk_pages_and_searches_the_task_and_entrustment_lists(page, make_user):
    from factories import as_user, entrustment_async

    clerk = make_user("clerk", full_name="业务员小王")
    who = as_user(clerk, "clerk")
    serials = tuple(f"SN-BL-{n:03d}" for n in range(1, 56))  # 55 tasks: two pages of 50
    older = run(entrustment_async(who, serials))
    newer = run(entrustment_async(who, ("SN-OTHER-1",), customer="冀南加油站"))

    ui_login(page, clerk)
    page.goto("/tasks")
    assert page.locator("#task-total").inner_text() == "共 56 项检定任务"
    assert "第 1 页 / 共 2 页" in page.locator(".ml-pager").inner_text()
    rows = page.locator("#task-list tr td:nth-child(4)")
    assert rows.count() == 50 and rows.first.inner_text() == "SN-OTHER-1"
    page.get_by_role("link", name="下一页").click()
    page.wait_for_url("**page_no=2**")
    assert rows.all_inner_texts() == [f"SN-BL-{n:03d}" for n in range(6, 0, -1)]
    assert "第 2 页 / 共 2 页" in page.locator(".ml-pager").inner_text()

    search = page.locator("form.ml-toolbar input[name=q]")
    search.fill("")
    search.press_sequentially("sn-bl-05", delay=30)  # any case, as a person types it
    page.locator("form.ml-toolbar button[type=submit]").click()
    page.wait_for_url("**q=sn-bl-05**")
    assert page.locator("#task-total").inner_text() == "共 6 项检定任务"
    assert rows.all_inner_texts() == [f"SN-BL-{n:03d}" for n in range(55, 49, -1)]
    assert search.input_value() == "sn-bl-05"  # what was typed stays in the box

    page.goto("/entrustments")
    box = page.locator("form.ml-toolbar input[name=q]")
    box.press_sequentially("冀南", delay=30)
    page.locator("form.ml-toolbar button[type=submit]").click()
    page.wait_for_url("**/entrustments?**")
    assert page.locator("#entrustment-total").inner_text() == "共 1 份委托单"
    numbers = page.locator("#entrustments tr td:first-child").all_inner_texts()
    assert numbers == [newer["number"]] and older["number"] not in numbers
    page.screenshot(path="/tmp/entrustment-search.png", full_page=True)
