"""The 业务服务 portal in Chromium: a customer applies (typing key by key), the clerk sees the task
on the home page and accepts it, the customer's lookup shows the progress; the portal pages on a
375 px phone without horizontal scroll. Screenshots in /tmp/portal-shots (looked at)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login
from metrolab.business.tables import Entrustment, VerificationTask
from metrolab.services.tables import ServiceApplication

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/portal-shots")


def test_customer_applies_clerk_accepts_customer_sees_progress(page, make_user):
    SHOTS.mkdir(exist_ok=True)
    page.goto("/login")
    page.get_by_role("link", name="业务服务").click()
    page.get_by_role("link", name="检定申请").first.click()
    expect(page.get_by_role("heading", name="检定申请")).to_be_visible()
    page.locator("input[name=unit]").press_sequentially("邯郸市永年区加油站")
    page.locator("input[name=contact]").press_sequentially("赵六")
    page.locator("input[name=phone]").press_sequentially("13900001111")
    page.select_option("select[name='lines.0.instrument_type']", label="甲烷检测报警仪")
    page.locator("input[name='lines.0.quantity']").press_sequentially("12x")
    page.locator("input[name='lines.0.serial']").press_sequentially("SN-PORTAL-1")
    page.locator("textarea[name=remarks]").press_sequentially("请尽快")
    page.get_by_role("button", name="提交申请").click()
    # A typo: the message beside the field, everything typed still there.
    expect(page.locator(".ml-error").filter(has_text="数量应为 1–9999 的整数")).to_be_visible()
    expect(page.locator("input[name=unit]")).to_have_value("邯郸市永年区加油站")
    expect(page.locator("textarea[name=remarks]")).to_have_value("请尽快")
    page.locator("input[name='lines.0.quantity']").fill("")
    page.locator("input[name='lines.0.quantity']").press_sequentially("12")
    wished = (date.today() + timedelta(days=10)).isoformat()
    page.locator("input[name=wished_date]").fill(wished)
    page.get_by_role("button", name="提交申请").click()
    number_el = page.locator(".ml-app-number")
    expect(number_el).to_be_visible()
    number = number_el.inner_text()
    saved = run(
        ServiceApplication.select()
        .where(ServiceApplication.number == number)
        .output(load_json=True)
        .first()
    )
    assert saved["unit"] == "邯郸市永年区加油站" and saved["instruments"][0]["quantity"] == 12
    page.screenshot(path=str(SHOTS / "applied.png"), full_page=True)

    clerk = page.context.browser.new_context(base_url=page.base, locale="zh-CN")
    tab = clerk.new_page()
    ui_login(tab, make_user("clerk"))
    task = tab.locator("a", has_text="待受理的检定申请")
    expect(task).to_contain_text("1")
    task.click()
    tab.get_by_role("link", name=number).click()
    expect(tab.get_by_text("该单位尚未在客户中建档")).to_be_visible()
    tab.get_by_role("button", name="受理并生成委托单").click()
    expect(tab.locator(".ml-error")).to_contain_text("尚未建档")
    tab.get_by_role("checkbox", name="作为新客户建档").check()
    tab.get_by_role("button", name="受理并生成委托单").click()
    tab.wait_for_url("**/entrustments/*")
    e = run(Entrustment.select().first())
    tasks = run(VerificationTask.select().where(VerificationTask.entrustment == e["id"]))
    assert tasks[0]["quantity"] == 12 and e["contact"] == "赵六"
    expect(tab.get_by_text(e["number"]).first).to_be_visible()
    tab.goto("/home")
    expect(tab.locator("a", has_text="待受理的检定申请")).to_contain_text("0")
    clerk.close()

    page.goto("/services")
    page.get_by_role("link", name="申请进度查询").click()
    page.locator("input[name=number]").press_sequentially(number)
    page.locator("input[name=phone]").press_sequentially("13900001111")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".ml-current")).to_have_text("已受理")
    expect(page.locator(".ml-steps li.done")).to_have_count(2)
    expect(page.get_by_text(e["number"])).to_be_visible()
    page.screenshot(path=str(SHOTS / "status.png"), full_page=True)


@pytest.mark.parametrize(
    "path",
    [
        "/services",
        "/services/apply",
        "/services/status",
        "/services/standards",
        "/services/qr",
        "/services/documents",
    ],
)
def test_portal_pages_fit_a_375px_phone(page, path):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone{path.replace('/', '-')}.png"), full_page=True)
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
