"""邮寄 in Chromium (issue 14 point 8): the clerk picks 邮寄, the signature pad goes away and carrier
and tracking number are asked for; a missing carrier is refused beside the form with everything typed
kept; the 交接单 prints the carrier and tracking number."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run, ui_login
from metrolab.certificates import printing
from test_business import needs_pdf, people  # noqa: F401  (a fixture)
from test_release import _issued

pytestmark = [pytest.mark.browser, needs_pdf]
SHOTS = Path("/tmp/release-shots")


def test_the_clerk_posts_a_certificate_with_carrier_and_tracking_number(
    page,
    people,  # noqa: F811
    converter,
):
    from test_business import _user_row

    (cid,), e_id, tasks = _issued(people)
    run(printing.print_pdf([cid], people["clerk"]))
    SHOTS.mkdir(exist_ok=True)
    ui_login(page, run(_user_row(people["clerk"].id)))
    page.goto(f"/entrustments/{e_id}")
    page.click("#release-link")
    page.get_by_label("邮寄").check()
    assert not page.locator("#signature-pad").is_visible()  # no on-the-spot signature
    assert (
        page.locator("input[name=collector]").input_value() == "张三"
    )  # the entrustment's contact
    page.locator("input[name=collector]").fill("")
    page.locator("input[name=collector]").press_sequentially("王收件")
    page.locator("input[name=tracking_no]").press_sequentially("SF1234567890")
    page.click("#release-submit")
    expect_error = page.locator("#release-error")
    assert "快递公司" in expect_error.inner_text()
    assert page.locator("input[name=tracking_no]").input_value() == "SF1234567890"  # kept
    assert page.locator("input[name=collector]").input_value() == "王收件"
    page.screenshot(path=str(SHOTS / "1-post-refused.png"), full_page=True)
    page.locator("input[name=carrier]").press_sequentially("顺丰速运")
    page.click("#release-submit")
    page.wait_for_url("**/business/releases/*/slip")
    assert page.locator("#slip-method").inner_text() == "邮寄"
    assert page.locator("#slip-tracking").inner_text() == "SF1234567890"
    assert page.locator("#slip-signature").count() == 0
    page.screenshot(path=str(SHOTS / "2-post-slip.png"), full_page=True)
    page.click("#slip-back")
    releases = page.locator("#releases").inner_text()
    assert "王收件" in releases and "邮寄" in releases
