"""The certificate page's tabs in Chromium (DB1304/T 505 §7.1): the verifier opens 送检单位信息,
检定结果信息, 检定结果页 and 证书查看 of a certificate compiled from a real record, types a remark key by
key, saves, reloads and reads it back; the embedded preview PDF carries it.

Entrustment, record and compile are set up through the services (test_business_flow drives those pages)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import run, ui_login
from factories import as_user, compiled_certificates, qualify_async

pytestmark = [pytest.mark.browser]


def test_the_verifier_reads_every_tab_types_a_remark_and_reads_it_back(page, make_user):
    from metrolab.certificates import template_versions as tv
    from metrolab.certificates import workflow as cw

    run(tv.seed_templates())
    clerk = make_user("clerk", full_name="业务员小王")
    verifier = make_user("verifier", full_name="检定员张晓明")
    run(qualify_async(verifier["id"]))
    cid = run(
        compiled_certificates(
            as_user(clerk, "clerk"), as_user(verifier, "verifier"), serials=("SN-UI-TAB-88",)
        )
    )[0]
    cert = run(cw.get_certificate(cid))

    ui_login(page, verifier)
    page.goto(f"/certificates/{cid}")
    assert page.locator("#certificate-status").inner_text() == "编制中"

    page.click("#tab-cover")
    page.wait_for_url(f"**/certificates/{cid}/cover")
    cover = page.locator("#cover-values").inner_text()
    assert "SN-UI-TAB-88" in cover and "峰峰集团大淑村矿" in cover and "JJG" in cover
    assert page.locator("#edit-record").get_attribute("href") == f"/records/{cert['record']}/edit"

    page.click("#tab-standards")
    page.wait_for_url(f"**/certificates/{cid}/standards")
    devices = (
        page.locator("#standard-devices").inner_text()
        + page.locator("#standard-instruments").inner_text()
    )
    ctx = cert["context"]
    for s in ctx["standard_devices"] + ctx["standard_instruments"]:
        assert s["certificate_no"] in devices

    page.click("#tab-results")
    page.wait_for_url(f"**/certificates/{cid}/results")
    assert ctx["results"][0]["item"] in page.locator("#results").inner_text()
    remark = "传感器已更换，现场检定"
    box = page.locator("#edit-remarks")
    box.click()
    box.press_sequentially(remark)
    box.press("Enter")
    box.press_sequentially("第二行")
    page.click("#save-results")
    page.wait_for_url(re.compile(rf"/certificates/{cid}/results\?saved=1$"))
    assert page.locator(".ml-flash").inner_text() == "已保存"
    page.goto(
        f"/certificates/{cid}/results"
    )  # a fresh load: what was stored, not what the form kept
    assert page.locator("#edit-remarks").input_value() == f"{remark}\n第二行"
    printed = page.locator("#printed-remarks").inner_text()
    assert remark in printed and "第二行" in printed

    page.click("#tab-view")  # the page's "load" waits for the PDF in its frame: the DOM is enough
    page.wait_for_url(f"**/certificates/{cid}/view", wait_until="domcontentloaded")
    src = page.locator("#certificate-pdf").get_attribute("src")
    assert src == f"/business/certificates/{cid}/preview.pdf"
    if shutil.which("soffice") and shutil.which("pdftotext"):
        pdf = page.request.get(src, timeout=120_000)
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.body(), capture_output=True, check=True
        ).stdout
        assert remark in re.sub(r"\s+", "", text.decode())

    page.click("#tab-workflow")
    page.wait_for_url(f"**/business/certificates/{cid}")
    assert page.locator("#act-submit").is_visible()
