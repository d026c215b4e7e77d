"""报价单 in Chromium, by the people who do it (§5.3.2): the clerk drafts a quotation with the mouse and
the keyboard (customer picked, contact and the customer's price filled in by the server, a second line
typed key by key, totals following), submits; the technical manager signs the review with the password;
the signatory signs the approval; the clerk prints it (PDF) and converts it into an entrustment.
Screenshots and the printed PDF in /tmp/quotation-shots (looked at)."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/quotation-shots")


@pytest.fixture
def tabs(chromium, live_server, db):
    contexts = []

    def make():  # noqa: ANN202
        ctx = chromium.new_context(
            base_url=live_server,
            locale="zh-CN",
            viewport={"width": 1366, "height": 900},
            accept_downloads=True,
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


def _customer() -> int:
    from metrolab.certificates.template_versions import seed_shipped
    from metrolab.customers.tables import Contact, Customer
    from metrolab.ledger.tables import CustomerPrice

    run(seed_shipped("quotation", "报价单", "报价单"))
    customer = Customer(name="峰峰集团大淑村矿", address="邯郸市峰峰矿区", phone="0310-5550000")
    run(customer.save())
    run(Contact(customer=customer.id, name="王建国", phone="0310-5551234").save())
    run(
        CustomerPrice(
            customer=customer.id,
            instrument_type="co_detector",
            price=Decimal("133.33"),
            valid_from=date.today() - timedelta(days=10),
        ).save()
    )
    return customer.id


def test_quotation_draft_review_approve_print_convert(tabs, make_user):
    customer_id = _customer()
    clerk = make_user("clerk", full_name="张业务")
    manager = make_user("tech_manager", full_name="李技术")
    signatory = make_user("signatory", full_name="王批准")

    me = tabs()
    ui_login(me, clerk)
    me.get_by_role("link", name="报价单").first.click()
    me.locator("#quotation-new").click()
    me.locator("#f-customer").select_option(str(customer_id))
    expect(me.locator("#f-contact")).to_have_value("王建国")  # the server filled it in
    me.locator("#f-0-type").select_option("co_detector")
    expect(me.locator("#f-0-price")).to_have_value("133.33")  # 客户证价
    qty = me.locator("#f-0-quantity")
    qty.click()
    qty.press("Control+a")
    qty.press_sequentially("3")
    me.locator("#f-0-discount").click()
    me.locator("#f-0-discount").press("Control+a")
    me.locator("#f-0-discount").press_sequentially("10")
    me.keyboard.press("Tab")
    expect(me.locator("#line-total-0")).to_have_text("359.99")
    me.locator("#add-line").click()
    me.locator("#f-1-type").select_option("fuel_dispenser")
    me.locator("#f-1-price").click()
    me.locator("#f-1-price").press_sequentially("250.5")
    me.locator("#f-1-remarks").click()  # leaving the price posts the form: totals follow
    me.locator("#f-1-remarks").press_sequentially("现场检定")
    me.keyboard.press("Tab")
    expect(me.locator("#total-net")).to_have_text("610.49")
    expect(me.locator("#f-1-price")).to_have_value("250.5")  # nothing typed is lost
    expect(me.locator("#f-1-remarks")).to_have_value("现场检定")
    _shot(me, "quotation-form.png")
    me.locator("#quotation-save").click()
    expect(me.locator("#quotation-status")).to_have_text("草稿")
    expect(me.locator("#total-net")).to_have_text("610.49")
    number = me.locator("h1").inner_text().split("·")[1].split()[0]
    me.locator("#do-submit").click()
    expect(me.locator("#quotation-status")).to_have_text("审核中")

    boss = tabs()
    ui_login(boss, manager)
    expect(boss.locator('[data-task="quotations_to_review"] b')).to_have_text("1")
    boss.locator('[data-task="quotations_to_review"]').click()
    boss.get_by_role("link", name=number).click()
    boss.locator("#pass_review-password").press_sequentially("wrong-pass")
    boss.locator("#do-pass_review").click()
    expect(boss.locator("#act-pass_review .ml-error")).to_contain_text("密码")
    boss.locator("#pass_review-password").press_sequentially("secret-pass-1")
    boss.locator("#do-pass_review").click()
    expect(boss.locator("#quotation-status")).to_have_text("审批中")

    chief = tabs()
    ui_login(chief, signatory)
    expect(chief.locator('[data-task="quotations_to_approve"] b')).to_have_text("1")
    chief.locator('[data-task="quotations_to_approve"]').click()
    chief.get_by_role("link", name=number).click()
    chief.locator("#approve-password").press_sequentially("secret-pass-1")
    chief.locator("#do-approve").click()
    expect(chief.locator("#quotation-status")).to_have_text("已批准")
    expect(chief.locator("#quotation-history")).to_contain_text("审批通过")
    _shot(chief, "quotation-approved.png")

    me.reload()
    with me.expect_download() as download:
        me.locator("#print-pdf").click()
    pdf = SHOTS / "quotation.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(pdf), str(SHOTS / "quotation-pdf")], check=True
    )
    me.locator("#convert").click()
    expect(me.locator("h1")).to_contain_text(f"报价单 {number} 转为委托单")
    expect(me.locator('input[name="customer"]')).to_have_value("峰峰集团大淑村矿")
    expect(me.locator('input[name="instruments.0.instrument_type"]')).to_have_value(
        "一氧化碳检测报警器"
    )
    expect(me.locator('input[name="instruments.0.quantity"]')).to_have_value("3")
    me.locator('input[name="instruments.0.serial"]').press_sequentially("CO-1001")
    me.locator('input[name="instruments.1.serial"]').press_sequentially("JY-0001")
    me.keyboard.press("Tab")
    _shot(me, "quotation-entrustment-form.png")
    me.locator("#entrustment-save").click()
    me.wait_for_url("**/entrustments/*")
    expect(me.locator("body")).to_contain_text("CO-1001")
    _shot(me, "quotation-entrustment.png")
    me.goto("/quotations")
    expect(me.locator("#quotations")).to_contain_text("已转委托")
    _shot(me, "quotation-list.png")
