"""下厂单 and 入库 in Chromium: the clerk schedules an on-site entrustment typing key by key (a wrong plate
first: the message beside the field, the rest kept), the department confirms, the clerk prints the 下厂单;
after the certificate is approved the verifier completes 入库 and the record shows 已归档 + where.

The verification itself (record, certificate chain) is done by helpers: their pages have their own tests."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import pytest

from conftest import run, ui_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed"),
]
SHOTS = "/tmp/onsite-shots"


def test_clerk_schedules_and_prints_the_onsite_order_then_the_verifier_stores(
    page, chromium, make_user, converter
):
    import os

    from metrolab.business import services
    from metrolab.business.tables import ArchivedRecord, OnsiteOrder, StorageIn
    from metrolab.certificates import template_versions as tv
    from metrolab.certificates import workflow as cw
    from test_business import PASSWORD, _fill_record, qualify, who
    from test_onsite_storage import _onsite_entrustment

    os.makedirs(SHOTS, exist_ok=True)
    run(tv.seed_templates())
    clerk, verifier = (
        make_user("clerk", full_name="业务员小王"),
        make_user("verifier", full_name="检定员张晓明"),
    )
    checker, approver = (
        make_user("checker", full_name="核验员李建华"),
        make_user("signatory", full_name="批准人王志刚"),
    )
    qualify(verifier)
    people = {
        "clerk": who(clerk, "clerk", name="业务员小王"),
        "verifier": who(verifier, "verifier", name="检定员张晓明"),
        "checker": who(checker, "checker"),
        "approver": who(approver, "signatory"),
    }
    e = _onsite_entrustment(people)
    url = f"/entrustments/{e['id']}"
    soon = date.today() + timedelta(days=2)

    # 1. the clerk schedules it: a wrong plate first
    ui_login(page, clerk)
    page.goto(url)
    page.click("#link-schedule_onsite")
    page.wait_for_url(f"**{url}/onsite")
    assert page.locator("#address").input_value() == "大淑村矿井下北翼"  # from the entrustment
    page.get_by_label("检定员张晓明").check()
    page.locator("#planned_date").fill(soon.isoformat())
    page.locator("#vehicle").press_sequentially("冀D 12 ??")
    page.locator("#remarks").press_sequentially("带甲烷标准气体两瓶")
    page.locator("#site_contact").fill("")
    page.locator("#site_contact").press_sequentially("李矿长")
    page.click("#onsite-submit")
    page.wait_for_load_state()
    assert "车牌号格式不正确" in page.locator("#vehicle-error").inner_text()
    assert page.locator("#remarks").input_value() == "带甲烷标准气体两瓶"  # kept
    assert page.get_by_label("检定员张晓明").is_checked()
    page.screenshot(path=f"{SHOTS}/1-onsite-refused.png", full_page=True)
    page.locator("#vehicle").fill("")
    page.locator("#vehicle").press_sequentially("冀D12345")
    page.click("#onsite-submit")
    page.wait_for_url(re.compile(rf"{url}$"))
    assert page.locator("#entrustment-status").inner_text() == "下厂已安排"
    order = run(OnsiteOrder.select().output(load_json=True).first())
    assert order["vehicle"] == "冀D12345" and order["site_contact"] == "李矿长"
    assert order["planned_date"] == soon and order["staff"] == [verifier["id"]]

    # 2. the department confirms; the clerk prints the 下厂单 (the 打印下厂单 step)
    run(services.entrustment_act(e["id"], "confirm_onsite", people["verifier"]))
    page.goto(url)
    page.locator("#act-print_task_order button").click()
    page.wait_for_url(f"**{url}/onsite/slip?print=1")
    assert page.locator("#slip-vehicle").inner_text() == "冀D12345"
    assert page.locator("#slip-staff").inner_text() == "检定员张晓明"
    assert page.locator("#slip-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=f"{SHOTS}/2-onsite-slip.png", full_page=True)
    page.click("#slip-back")
    assert "打印下厂单" in page.locator("body").inner_text()

    # 3. the verification (helpers), approved
    for t in run(services.tasks_of(e["id"])):
        run(services.assign(t["id"], people["verifier"].id, people["verifier"]))
        run(_fill_record(run(services.open_record(t["id"], people["verifier"]))))
        cid = run(services.compile_certificate(t["id"], people["verifier"]))
        run(cw.act(cid, "submit", people["verifier"], password=PASSWORD))
        run(cw.act(cid, "pass_check", people["checker"], password=PASSWORD))
        run(cw.act(cid, "approve", people["approver"], password=PASSWORD))

    # 4. the verifier completes 入库: too many pieces first
    v_context = chromium.new_context(
        base_url=page.base, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    v = v_context.new_page()
    ui_login(v, verifier)
    v.goto(url)
    v.click("#link-complete")
    v.locator("#location").press_sequentially("二楼仪表库 A-03")
    v.locator("#count").fill("")
    v.locator("#count").press_sequentially("3")
    v.click("#store-submit")
    v.wait_for_load_state()
    assert "超过接收的仪表 2 件" in v.locator("#count-error").inner_text()
    assert v.locator("#location").input_value() == "二楼仪表库 A-03"
    v.locator("#count").fill("")
    v.locator("#count").press_sequentially("2")
    v.click("#store-submit")
    v.wait_for_url(re.compile(rf"{url}$"))
    assert v.locator("#entrustment-status").inner_text() == "已完成入库"
    assert v.locator("#storage-location").inner_text() == "二楼仪表库 A-03"
    assert "已归档 · 二楼仪表库 A-03" in v.locator("#tasks").inner_text()
    v.screenshot(path=f"{SHOTS}/3-stored.png", full_page=True)
    stored = run(StorageIn.select().first())
    assert stored["pieces"] == 2 and stored["receiver"] == verifier["id"]
    record_id = run(ArchivedRecord.select().first())["record"]
    v.goto(f"/records/{record_id}")
    assert "已归档 · 二楼仪表库 A-03" in v.locator("#record-archived").inner_text()
    v.screenshot(path=f"{SHOTS}/4-record-archived.png")
    v_context.close()
