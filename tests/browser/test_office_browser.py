"""Office management in Chromium, by the people who do it. §5.6.2 周工作计划 — a verifier registers the
week's plan, types its items and submits; the department head reads the department's week, returns
it with a comment; the verifier corrects and resubmits; the head accepts. §5.6.4 收文: the clerk
registers with a scan and proposes, the leader reviews, readers sign off, the assignee closes. Screenshots in
/tmp/office-shots (looked at)."""

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


def test_weekly_plan_submit_return_accept(tabs, make_user):
    dept = Department(name="力学室", code="mech")
    run(dept.save())
    staff = make_user("verifier", full_name="周检定", department=str(dept.id))
    head = make_user("tech_manager", full_name="李主任", department=str(dept.id))

    me = tabs()
    ui_login(me, staff)
    me.get_by_role("link", name="周工作计划").first.click()
    me.locator("input[name=week]").fill("2026-12-02")
    me.get_by_role("button", name="登记本周计划").click()
    expect(me.locator("#plan-status")).to_have_text("填写中")
    me.locator("input[name=content_0]").press_sequentially("检定压力表 20 台")
    me.locator("input[name=planned_0]").press_sequentially("周三前")
    me.locator("input[name=content_1]").press_sequentially("标准器送检")
    me.locator("input[name=remarks_1]").press_sequentially("送省院")
    me.get_by_role("button", name="保存条目").click()
    expect(me.locator("input[name=content_0]")).to_have_value("检定压力表 20 台")
    expect(me.locator("input[name=remarks_1]")).to_have_value("送省院")
    _shot(me, "plan-draft.png")
    me.locator("#act-submit button").click()
    expect(me.locator("#plan-status")).to_have_text("已提交")
    expect(me.locator("#plan-items")).to_contain_text("标准器送检")

    boss = tabs()
    ui_login(boss, head)
    expect(boss.locator('[data-task="plans_to_review"] b')).to_have_text("1")
    boss.get_by_role("link", name="科室周计划").first.click()
    boss.locator("input[name=week]").fill("2026-12-01")
    boss.get_by_role("button", name="查询").click()
    expect(boss.locator("#week")).to_contain_text("周检定")
    _shot(boss, "plans-week.png")
    boss.locator("#week").get_by_role("link", name="已提交").click()
    boss.locator("#act-return input[name=comment]").press_sequentially("请写明完成数量")
    boss.locator("#act-return button").click()
    expect(boss.locator("#plan-status")).to_have_text("已退回")

    me.goto("/home")
    expect(me.locator('[data-task="plans_returned"] b')).to_have_text("1")
    me.locator('[data-task="plans_returned"]').click()
    me.get_by_role("link", name="2026-11-30").click()
    expect(me.locator("#head-comment")).to_have_text("请写明完成数量")
    me.locator("input[name=done_0]").press_sequentially("已完成 20 台")
    me.get_by_role("button", name="保存条目").click()
    expect(me.locator("input[name=done_0]")).to_have_value("已完成 20 台")
    me.locator("#act-submit button").click()

    boss.reload()
    boss.locator("#act-accept input[name=comment]").press_sequentially("同意")
    boss.locator("#act-accept button").click()
    expect(boss.locator("#plan-status")).to_have_text("已确认")
    expect(boss.locator("#plan-items")).to_contain_text("已完成 20 台")
    expect(boss.locator("#plan-history")).to_contain_text("退回修改")
    _shot(boss, "plan-accepted.png")
    with boss.expect_download() as download:
        boss.goto("/office/plans/week?week=2026-11-30")
        boss.get_by_role("link", name="导出 xlsx").click()
    assert download.value.suggested_filename == "weekly-plans-2026-11-30.xlsx"


def test_incoming_document_register_to_close(tabs, make_user, tmp_path):
    clerk = make_user("clerk", full_name="业务员小王")
    leader = make_user("tech_manager", full_name="李主任")
    handler = make_user("verifier", full_name="周检定")
    scan = tmp_path / "notice.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    desk = tabs()
    ui_login(desk, clerk)
    desk.get_by_role("link", name="收文管理").first.click()
    form = desk.locator("#register")
    form.locator("input[name=doc_no]").press_sequentially("冀质监函〔2026〕12号")
    form.locator("input[name=sender]").press_sequentially("市市场监督管理局")
    form.locator("input[name=title]").press_sequentially("关于开展计量专项检查的通知")
    form.locator("input[name=received_on]").fill("2026-11-20")
    form.locator("input[name=due_date]").fill("2026-11-25")
    form.locator("input[name=scan]").set_input_files(str(scan))
    form.get_by_role("button", name="登记").click()
    expect(desk.locator("#doc-status")).to_have_text("已登记")
    expect(desk.locator("#doc")).to_contain_text("市市场监督管理局")
    expect(desk.locator("#doc")).to_contain_text("notice.pdf")
    desk.locator("#act-propose textarea[name=comment]").press_sequentially("请检定科办理")
    desk.locator("#act-propose button").click()
    expect(desk.locator("#proposal")).to_contain_text("请检定科办理")

    boss = tabs()
    ui_login(boss, leader)
    boss.locator('[data-task="documents_to_review"]').click()
    boss.locator("#documents").get_by_role("link", name="冀质监函〔2026〕12号").click()
    boss.locator("#act-review textarea[name=comment]").press_sequentially("同意")
    boss.locator("#act-review button").click()
    expect(boss.locator("#doc-status")).to_have_text("已审核")

    desk.reload()
    desk.locator("#act-circulate").get_by_role("checkbox", name="李主任").check()
    desk.locator("#act-circulate select[name=assignee]").select_option(label="周检定")
    desk.locator("#act-circulate button").click()
    expect(desk.locator("#doc-status")).to_have_text("传阅中")
    expect(desk.locator("#assignee")).to_have_text("周检定")

    boss.goto("/home")
    boss.locator('[data-task="documents_to_read"]').click()
    boss.locator("#documents").get_by_role("link", name="冀质监函〔2026〕12号").click()
    boss.locator("#sign-off input[name=note]").press_sequentially("已阅，按期办理")
    boss.locator("#sign-off button").click()
    expect(boss.locator("#readers")).to_contain_text("已阅，按期办理")
    _shot(boss, "document-circulating.png")

    desk.reload()
    desk.locator("#act-assign button").click()
    expect(desk.locator("#doc-status")).to_have_text("办理中")

    doer = tabs()
    ui_login(doer, handler)
    doer.locator('[data-task="documents_to_handle"]').click()
    doer.locator("#documents").get_by_role("link", name="冀质监函〔2026〕12号").click()
    doer.locator("#act-close textarea[name=result]").press_sequentially("已完成自查并上报")
    doer.locator("#act-close button").click()
    expect(doer.locator("#doc-status")).to_have_text("已办结")
    expect(doer.locator("#result")).to_have_text("已完成自查并上报")
    expect(doer.locator("#doc-history")).to_contain_text("传阅")
    _shot(doer, "document-closed.png")
    desk.goto("/office/documents?q=市场监督")
    expect(desk.locator("#documents")).to_contain_text("已办结")
    _shot(desk, "documents-list.png")
    with desk.expect_download() as download:
        desk.get_by_role("link", name="导出 xlsx").click()
    assert download.value.suggested_filename == "incoming-documents.xlsx"
