"""Signing in through the real login page in Chromium."""

import pytest

from conftest import ui_login

pytestmark = pytest.mark.browser


def test_login_page_in_chinese_then_home_and_customers(page, make_user):
    user = make_user("clerk", full_name="孙业务")
    page.goto("/login")
    assert page.locator("h1").inner_text().startswith("登录")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", "wrong-password-1")
    page.click("form[action='/login'] button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码错误"
    assert page.input_value("input[name=username]") == user["username"]
    ui_login(page, user)
    assert "孙业务" in page.locator("header").inner_text()
    assert page.locator("h1").inner_text() == "我的检定任务"
    page.click("text=客户")
    page.wait_for_url("**/customers")
    assert page.locator("h1").inner_text() == "客户"
    page.screenshot(path=str(page_screenshot_path("home-customers.png")))


def page_screenshot_path(name: str):  # noqa: ANN201
    from conftest import _DATA_DIR

    return _DATA_DIR / name
