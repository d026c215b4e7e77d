"""The audit log page in Chromium: an administrator opens 系统 › 审计日志, narrows to one action,
follows a row to its object. Screenshot in /tmp/audit-shots (looked at)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import ui_login

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/audit-shots")


def test_admin_reads_and_filters_the_log(page, make_user):
    clerk = make_user("clerk", full_name="收样员甲")
    ui_login(page, clerk)
    page.goto("/customers/new")
    page.fill("input[name=name]", "审计浏览器测试客户")
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_text("审计浏览器测试客户").first).to_be_visible()
    page.context.clear_cookies()

    ui_login(page, make_user("admin"))
    page.goto("/")
    page.get_by_role("link", name="审计日志").click()
    expect(page.locator("#audit-events")).to_contain_text("新建客户")
    page.select_option("select[name=action]", "customer.created")
    page.locator("#audit-filters button[type=submit]").click()
    table = page.locator("#audit-events")
    expect(table).to_contain_text("name: 审计浏览器测试客户")
    expect(table).not_to_contain_text("登录")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    table.locator("a[href^='/customers/']").first.click()
    expect(page.get_by_text("审计浏览器测试客户").first).to_be_visible()
