"""受理委托 in Chromium as a clerk types it: 委托单位 picked from the customer file (a mistyped name
creates nobody), the customer's address and contact filled in, 现场地址 only for 现场检定, 器具总数 live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import run, ui_login

pytestmark = pytest.mark.browser
NAME = "冀中能源峰峰集团有限公司大淑村矿"


def _customer() -> int:
    from metrolab.customers.tables import Contact, Customer

    c = Customer(name=NAME, address="邯郸市峰峰矿区大淑村 8 号", phone="0310-5550000")
    run(c.save())
    run(Contact(customer=c.id, name="李四", phone="0310-5551234").save())
    return c.id


def _customers() -> list[str]:
    from metrolab.customers.tables import Customer

    return sorted(r["name"] for r in run(Customer.select(Customer.name)))


def test_customer_is_picked_and_fills_address_and_contact(page, make_user):
    from metrolab.business.tables import Entrustment

    cid = _customer()
    clerk = make_user("clerk", full_name="业务员小王")
    ui_login(page, clerk)
    page.goto("/entrustments/new")

    # 现场地址 is not asked for 送检; 现场检定 shows it
    site = page.locator("input[name=site_address]")
    expect(site).to_be_hidden()
    page.get_by_label("现场检定").check()
    expect(site).to_be_visible()
    page.get_by_label("送检", exact=True).check()
    expect(site).to_be_hidden()

    # a mistyped name (one character missing) is refused beside the field, typed values kept
    customer = page.locator("input[name=customer]")
    customer.press_sequentially("冀中能源峰峰集团有限公司大淑矿")
    page.locator("input[name='instruments.0.instrument_type']").press_sequentially(
        "methane_detector"
    )
    page.locator("input[name='instruments.0.serial']").press_sequentially("SN-PICK-1")
    qty = page.locator("input[name='instruments.0.quantity']")
    qty.fill("")
    qty.press_sequentially("3")
    qty.press("Tab")
    expect(page.locator("output[name=total_quantity]")).to_have_text("3")  # 器具总数, live
    page.click("#entrustment-save")
    field = page.locator(".ml-field", has=page.locator("input[name=customer]"))
    expect(field).to_contain_text("客户档案中没有")
    assert page.locator("input[name='instruments.0.serial']").input_value() == "SN-PICK-1"
    assert _customers() == [NAME]
    page.screenshot(path="/tmp/entrust-unknown-customer.png", full_page=True)

    # 新建 of a look-alike name asks to confirm it is not the one on file
    page.check("#new-customer")
    page.click("#entrustment-save")
    expect(field).to_contain_text("已有名称相近的单位")
    expect(field).to_contain_text(NAME)
    assert _customers() == [NAME]

    # typing part of the name offers the customer on file; picking it fills address and contact
    customer.fill("")
    customer.press_sequentially("大淑村")
    page.locator("#customer-suggestions button", has_text=NAME).click()
    expect(page.locator("#new-customer")).not_to_be_checked()  # an existing one: 新建 untick
    assert customer.input_value() == NAME
    assert page.locator("input[name=address]").input_value() == "邯郸市峰峰矿区大淑村 8 号"
    assert page.locator("input[name=contact]").input_value() == "李四"
    assert page.locator("input[name=phone]").input_value() == "0310-5551234"
    page.screenshot(path="/tmp/entrust-picked.png", full_page=True)
    page.click("#entrustment-save")
    expect(page).to_have_url(re.compile(r"/entrustments/\d+$"))
    page.screenshot(path="/tmp/entrust-after-save.png", full_page=True)

    saved = run(Entrustment.select().order_by(Entrustment.id, ascending=False).first())
    assert saved["customer"] == cid and _customers() == [NAME]
    assert saved["contact"] == "李四"
    page.goto(f"/entrustments/{saved['id']}/slip")
    expect(page.locator("body")).to_contain_text("邯郸市峰峰矿区大淑村 8 号")  # the slip's 地址
    page.screenshot(path="/tmp/entrust-slip.png", full_page=True)


def test_suggestions_api_twin(browser, make_user, db):
    _customer()
    browser.login(make_user("clerk"))
    items = browser.get("/api/v1/entrustments/customers", params={"q": "大淑"}).json()["items"]
    assert [(i["name"], i["contact"]) for i in items] == [(NAME, "李四")]
    assert browser.get("/api/v1/entrustments/customers", params={"q": "%"}).json()["items"] == []
