"""A record opened from a task (检定任务 → 原始记录) is prefilled from the entrustment and the task:
出厂编号 and 型号 of the entrustment's instrument, 检定员 = the signed-in verifier, and 送检单位
asked once (not once in the header and again in the form)."""

from __future__ import annotations

import re

import pytest

from conftest import run, ui_login

pytestmark = pytest.mark.browser


def test_record_opened_from_a_task_is_prefilled(page, make_user):
    from factories import as_user, entrustment_async, qualify_async
    from metrolab.business import services

    clerk = make_user("clerk", full_name="业务员小王")
    verifier = make_user("verifier", full_name="检定员张晓明")
    run(qualify_async(verifier["id"]))
    v = as_user(verifier, "verifier", name="检定员张晓明")
    e = run(entrustment_async(as_user(clerk, "clerk"), ("SN-PRE-0042",), model="JCB4-A"))
    run(services.receive(e["id"], v, 1))
    (task,) = run(services.tasks_of(e["id"]))
    run(services.assign(task["id"], verifier["id"], v))

    ui_login(page, verifier)
    page.goto("/tasks?mine=1")
    page.goto(f"/entrustments/{e['id']}")
    page.locator("#tasks form[action$='/record'] button").click()
    page.wait_for_url(re.compile(r"/records/\d+/edit"))
    form = page.locator("#record-form")
    assert form.locator("input[name=serial]").input_value() == "SN-PRE-0042"
    assert form.locator("input[name=model]").input_value() == "JCB4-A"
    assert form.locator("input[name=verifier_signature]").input_value() == "检定员张晓明"
    customer_inputs = form.locator(
        "input[name=customer]:visible, select[name='_h.customer']:visible"
    )
    assert customer_inputs.count() == 1  # 送检单位 once
    assert "峰峰集团大淑村矿" in (
        customer_inputs.first.input_value()
        if customer_inputs.first.evaluate("e => e.tagName") == "INPUT"
        else customer_inputs.first.locator("option:checked").inner_text()
    )
    assert page.locator("label:visible", has_text="送检单位").count() == 1
    page.screenshot(path="/tmp/record-from-task.png", full_page=True)
