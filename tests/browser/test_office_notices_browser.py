"""§5.6.3 消息公告 in Chromium: the technical manager writes a notice for 力学室 (paragraph, list, a
<script> that must stay text), publishes it; a verifier of 力学室 sees it unread on the home page, opens
it and confirms; the author reads 执行情况. Screenshots in /tmp/office-shots (looked at)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login
from metrolab.accounts.tables import Department

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/office-shots")


@pytest.fixture
def tabs(chromium, live_server, db):
    contexts = []

    def make():  # noqa: ANN202
        ctx = chromium.new_context(
            base_url=live_server, locale="zh-CN", viewport={"width": 1366, "height": 900}
        )
        contexts.append(ctx)
        tab = ctx.new_page()
        tab.set_default_timeout(15_000)
        return tab

    yield make
    for ctx in contexts:
        ctx.close()


def _shot(tab, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SHOTS / name), full_page=True)


def test_notice_write_publish_read_confirm(tabs, make_user):
    dept = Department(name="力学室", code="mech")
    run(dept.save())
    boss = make_user("tech_manager", full_name="李主任")
    member = make_user("verifier", full_name="周检定", department=str(dept.id))

    me = tabs()
    ui_login(me, boss)
    me.goto("/office/notices")
    me.locator("input[name=title]").press_sequentially("关于规程换版的通知")
    body = me.locator("textarea[name=body]")
    body.press_sequentially("请于本周学习新规程。")
    body.press("Enter")
    body.press("Enter")
    body.press_sequentially("- 学习 JJG 52")
    body.press("Enter")
    body.press_sequentially("- 完成考核<script>x</script>")
    expect(body).to_have_value(
        "请于本周学习新规程。\n\n- 学习 JJG 52\n- 完成考核<script>x</script>"
    )
    me.locator("select[name=needs_action]").select_option("acknowledge")
    me.locator(f"input[name=dept_{dept.id}]").check()
    me.get_by_role("button", name="保存草稿").click()
    expect(me.locator("#notice-title")).to_have_text("关于规程换版的通知")
    me.get_by_role("button", name="发布").click()
    expect(me.get_by_role("button", name="撤回")).to_be_visible()

    them = tabs()
    ui_login(them, member)
    them.goto("/home")
    expect(them.locator('[data-task="notices_unread"] b')).to_have_text("1")
    them.goto("/office/notices")
    them.get_by_role("link", name="关于规程换版的通知").click()
    expect(them.locator("#notice-body li")).to_have_text(
        ["学习 JJG 52", "完成考核<script>x</script>"]
    )
    _shot(them, "notice-reader.png")
    them.get_by_role("button", name="确认已读").click()
    expect(them.locator("#confirmed")).to_contain_text("已确认已读")

    me.get_by_role("link", name="执行情况").click()
    row = me.locator(f'#recipients tr[data-person="{member["id"]}"]')
    expect(row).to_contain_text("周检定")
    expect(row.locator("td").nth(3)).not_to_have_text("")
    _shot(me, "notice-status.png")
