"""Per-type templates (issue 10 §6): an instrument type's own published 检定证书 and 检定结果通知书
templates are the ones its certificates are issued with (through the signed approval); the type's
pages show which template and version are in use; a template that does not exist, is of the other
kind or has no published version is refused by the service, the API, the editor page and import; the
last published version of a template a type uses cannot be retired. Real database, real PDFs.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import run
from factories import PASSWORD, approved, person_async
from metrolab.certificates import template_versions as tv
from metrolab.certificates.tables import Certificate, TemplateVersion
from metrolab.indicators import services
from metrolab.indicators.tables import InstrumentType
from metrolab.web.errors import UserError
from test_certificates import docx_with, make_certificate, needs_pdf, pdf_text
from test_indicators import _posted_form, _type_form

TYPE = "methane_detector"


async def _template(key: str, name: str, kind: str, marker: str, publish: bool = True) -> dict:
    """A template uploaded by a technical manager and (unless publish=False) approved by a reviewer."""
    author = await person_async("tech_manager")
    version = await tv.upload(
        docx_with(f"{marker} {{{{ certificate.number }}}} {{{{ instrument.serial }}}}"),
        f"{key}.docx",
        author,
        key=key,
        name=name,
        kind=kind,
    )
    if publish:
        await tv.submit(version["id"], author)
        await tv.approve(version["id"], await person_async("template_reviewer"), PASSWORD)
    return await tv.get_version(version["id"])


def _own_templates() -> tuple[dict, dict]:
    cert = run(_template("methane_cert", "甲烷专用检定证书", "检定证书", "甲烷专用证书格式"))
    notice = run(
        _template("methane_notice", "甲烷专用结果通知书", "检定结果通知书", "甲烷专用通知书格式")
    )
    return cert, notice


def _with(**templates: str) -> dict:
    return run(services.get_catalogue(TYPE)) | templates


# ── issuing ───────────────────────────────────────────────────────────────────────────────────


@needs_pdf
def test_the_types_own_certificate_and_notice_templates_are_used_through_the_approval(
    db, converter
):  # noqa: F811
    cert_tpl, notice_tpl = _own_templates()
    run(
        services.save_type(
            _with(certificate_template="methane_cert", notice_template="methane_notice"),
            None,
            mode="update",
        )
    )
    ok = run(approved(run(make_certificate(TYPE, conforming=True, serial="SN-OWN-C1"))["id"]))
    bad = run(approved(run(make_certificate(TYPE, conforming=False, serial="SN-OWN-N1"))["id"]))
    assert ok["kind"] == "检定证书" and bad["kind"] == "检定结果通知书"
    from metrolab import storage

    ok_text, bad_text = (
        pdf_text(storage.get(ok["pdf_sha256"])),
        pdf_text(storage.get(bad["pdf_sha256"])),
    )
    assert "甲烷专用证书格式" in ok_text and ok["number"] in ok_text and "SN-OWN-C1" in ok_text
    assert (
        "甲烷专用通知书格式" in bad_text
        and "SN-OWN-N1" in bad_text
        and "甲烷专用证书格式" not in bad_text
    )
    assert (ok["template_version"], bad["template_version"]) == (cert_tpl["id"], notice_tpl["id"])
    # back to the shipped ones: an empty choice is the system default, for each kind on its own
    run(
        services.save_type(
            _with(certificate_template="", notice_template="methane_notice"), None, mode="update"
        )
    )
    again = run(approved(run(make_certificate(TYPE, conforming=True, serial="SN-OWN-C2"))["id"]))
    shipped = run(
        TemplateVersion.select(TemplateVersion.id)
        .where(
            (TemplateVersion.template.key == "verification_certificate")
            & (TemplateVersion.status == "published")
        )
        .first()
    )
    assert again["template_version"] == shipped["id"]
    assert "甲烷专用证书格式" not in pdf_text(storage.get(again["pdf_sha256"]))


def test_a_template_that_became_unusable_is_refused_by_name_never_replaced(db):
    """Data from before the rules (a notice template named as the certificate template, a key that is
    gone): the approval refuses, naming the type, field and key; no other layout is printed."""
    run(_template("methane_notice", "甲烷专用结果通知书", "检定结果通知书", "通知书"))
    for key, why in (("methane_notice", "是检定结果通知书模板"), ("gone_template", "不存在")):
        run(
            InstrumentType.update({InstrumentType.certificate_template: key}).where(
                InstrumentType.code == TYPE
            )
        )
        cert = run(make_certificate(TYPE, conforming=True))
        with pytest.raises(UserError) as refused:
            run(approved(cert["id"]))
        detail = str(refused.value.detail)
        assert "证书模板" in detail and f"“{key}”{why}" in detail and "甲烷" in detail, detail
        after = run(
            Certificate.select(Certificate.pdf_sha256).where(Certificate.id == cert["id"]).first()
        )
        assert after["pdf_sha256"] == ""


# ── refusals: service, API, editor page, import ───────────────────────────────────────────────


def test_the_service_refuses_a_missing_wrong_kind_or_unpublished_template_naming_the_field(db):
    run(_template("methane_notice", "甲烷专用结果通知书", "检定结果通知书", "通知书"))
    run(_template("methane_draft", "甲烷证书草稿", "检定证书", "草稿", publish=False))
    cases = [
        ({"certificate_template": "no_such"}, "certificate_template", "证书模板“no_such”不存在"),
        (
            {"certificate_template": "methane_notice"},
            "certificate_template",
            "是检定结果通知书模板，不能用作检定证书模板",
        ),
        (
            {"notice_template": "verification_certificate"},
            "notice_template",
            "检定结果通知书模板“verification_certificate”（检定证书（附录 A））是检定证书模板",
        ),
        ({"certificate_template": "methane_draft"}, "certificate_template", "没有已发布的版本"),
    ]
    for change, field, message in cases:
        with pytest.raises(services.Invalid) as refused:
            run(services.save_type(_with(**change), None, mode="update"))
        assert set(refused.value.errors) == {field} and message in refused.value.errors[field], (
            refused.value.errors
        )
        assert refused.value.status_code == 400
    assert (
        run(services.get_catalogue(TYPE))["certificate_template"] == "verification_certificate"
    )  # unchanged
    # a whole import file is refused for one bad template, nothing written
    gauge = run(services.get_catalogue("pressure_gauge"))
    bad = json.dumps(
        [
            _with(notice_template="methane_notice"),
            gauge | {"certificate_template": "methane_draft"},
        ],
        ensure_ascii=False,
    ).encode()
    result = run(services.import_types(bad))
    assert not result.applied and any("没有已发布的版本" in e for e in result.errors), result.errors
    assert run(services.get_catalogue(TYPE))["notice_template"] == ""


def test_the_api_refuses_and_then_accepts_a_published_template(browser, make_user):
    run(_template("methane_notice", "甲烷专用结果通知书", "检定结果通知书", "通知书"))
    browser.login(make_user("tech_manager"))
    body = browser.get(f"/api/v1/instrument-types/{TYPE}").json()
    r = browser.put(
        f"/api/v1/instrument-types/{TYPE}",
        json=body | {"notice_template": "verification_certificate"},
    )
    assert (
        r.status_code == 400
        and "检定结果通知书模板" in r.json()["detail"]
        and "是检定证书模板" in r.json()["detail"]
    )
    r = browser.put(
        f"/api/v1/instrument-types/{TYPE}", json=body | {"notice_template": "methane_notice"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["notice_template"] == "methane_notice"
    uses = {u["field"]: u for u in browser.get(f"/api/v1/instrument-types/{TYPE}/templates").json()}
    assert (
        uses["notice_template"]["template"]["key"] == "methane_notice"
        and not uses["notice_template"]["default"]
    )
    assert (
        uses["notice_template"]["template"]["number"] == 1
        and uses["notice_template"]["problem"] is None
    )
    assert uses["certificate_template"]["template"]["key"] == "verification_certificate"
    assert browser.get("/api/v1/instrument-types/no_such/templates").status_code == 404
    # the export carries the choice, and reads back
    exported = json.loads(
        browser.get("/api/v1/instrument-types/export", params={"code": TYPE}).content
    )
    assert exported[0]["notice_template"] == "methane_notice"


def test_the_editor_offers_published_templates_of_the_kind_and_refuses_another_beside_the_field(
    browser, make_user
):
    cert_tpl, notice_tpl = _own_templates()
    run(_template("methane_draft", "甲烷证书草稿", "检定证书", "草稿", publish=False))
    browser.login(make_user("tech_manager"))
    page = browser.get(f"/instrument-types/{TYPE}/edit").text
    selects = dict(
        re.findall(r'<select name="(\w+_template)" id="\w+"[^>]*>(.*?)</select>', page, re.S)
    )
    assert 'value="methane_cert"' in selects["certificate_template"]
    assert "methane_notice" not in selects["certificate_template"] and "methane_draft" not in page
    assert (
        'value="methane_notice"' in selects["notice_template"]
        and "methane_cert" not in selects["notice_template"]
    )
    assert "甲烷专用检定证书（methane_cert），第 1 版" in selects["certificate_template"]
    assert 'value="verification_certificate" selected' in selects["certificate_template"]
    assert '<option value="" selected>使用系统默认模板</option>' in selects["notice_template"]
    assert "使用系统默认模板（" in page and "检定结果通知书（result_notice），第 1 版" in page
    # choose both through the page, read them back
    form = _posted_form(page) | {
        "certificate_template": "methane_cert",
        "notice_template": "methane_notice",
    }
    r = browser.post(f"/instrument-types/{TYPE}", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    saved = run(services.get_catalogue(TYPE))
    assert (saved["certificate_template"], saved["notice_template"]) == (
        "methane_cert",
        "methane_notice",
    )
    # a key posted that is not offered (unpublished): 400, the message beside the field, the value kept
    r = browser.post(
        f"/instrument-types/{TYPE}", data=form | {"certificate_template": "methane_draft"}
    )
    assert r.status_code == 400
    assert re.search(
        r'id="certificate_template" aria-invalid="true".*?<option value="methane_draft" selected>'
        r'methane_draft（不能使用）</option>.*?<em class="ml-error" role="alert">证书模板“methane_draft”'
        r"（甲烷证书草稿）没有已发布的版本",
        r.text,
        re.S,
    ), r.text
    assert run(services.get_catalogue(TYPE))["certificate_template"] == "methane_cert"
    # a new type through the page, naming a template of the other kind
    r = browser.post("/instrument-types", data=_type_form(notice_template="methane_cert"))
    assert (
        r.status_code == 400
        and "检定结果通知书模板“methane_cert”（甲烷专用检定证书）是检定证书模板" in r.text
    )
    assert run(services.get_catalogue("ch4_test")) is None


def test_the_type_pages_show_the_templates_in_use_with_version_and_link(browser, make_user):
    cert_tpl, _notice = _own_templates()
    run(services.save_type(_with(certificate_template="methane_cert"), None, mode="update"))
    browser.login(make_user("clerk"))
    detail = browser.get(f"/instrument-types/{TYPE}").text
    uses_cert = re.search(r'id="uses-certificate_template">(.*?)</span>', detail, re.S).group(1)
    assert (
        f'<a href="/certificate-templates/{cert_tpl["template"]}">甲烷专用检定证书</a>（methane_cert），第 1 版'
        in uses_cert
    )
    assert "使用系统默认模板" not in uses_cert
    uses_notice = re.search(r'id="uses-notice_template">(.*?)</span>', detail, re.S).group(1)
    assert (
        uses_notice.startswith("使用系统默认模板（")
        and "检定结果通知书</a>（result_notice），第 1 版" in uses_notice
    )
    listing = browser.get("/instrument-types", params={"q": "甲烷"}).text
    row = re.search(rf'<a href="/instrument-types/{TYPE}">.*?</tr>', listing, re.S).group(0)
    assert "甲烷专用检定证书" in row and "第 1 版" in row and "使用系统默认模板" in row
    # a newer published version is what the pages name
    author = run(person_async("tech_manager"))
    v2 = run(
        tv.upload(
            docx_with("第二版 {{ certificate.number }}"),
            "v2.docx",
            author,
            template_id=cert_tpl["template"],
        )
    )
    run(tv.submit(v2["id"], author))
    run(tv.approve(v2["id"], run(person_async("template_reviewer")), PASSWORD))
    assert "（methane_cert），第 2 版" in browser.get(f"/instrument-types/{TYPE}").text
    # the template's page names the types that use it
    page = browser.get(f"/certificate-templates/{cert_tpl['template']}").text
    assert re.search(rf'id="used-by">.*?<a href="/instrument-types/{TYPE}">', page, re.S)


# ── retiring a template in use ────────────────────────────────────────────────────────────────


def test_the_last_published_version_of_a_template_in_use_cannot_be_retired(browser, make_user):
    cert_tpl, notice_tpl = _own_templates()
    run(services.save_type(_with(certificate_template="methane_cert"), None, mode="update"))
    browser.login(make_user("tech_manager"))
    r = browser.post(f"/certificate-templates/versions/{cert_tpl['id']}/retire")
    assert (
        r.status_code == 409
        and "不能停用" in r.text
        and "methane_detector" in r.text
        and "甲烷" in r.text
    )
    r = browser.post(f"/api/v1/certificate-templates/versions/{cert_tpl['id']}/retire")
    assert r.status_code == 409 and "methane_detector" in r.json()["detail"]
    assert run(tv.get_version(cert_tpl["id"]))["status"] == "published"
    # the shipped notice template serves every type that names none: retiring it is refused too
    shipped = run(
        TemplateVersion.select(TemplateVersion.id)
        .where(
            (TemplateVersion.template.key == "result_notice")
            & (TemplateVersion.status == "published")
        )
        .first()
    )
    r = browser.post(f"/api/v1/certificate-templates/versions/{shipped['id']}/retire")
    assert (
        r.status_code == 409
        and "methane_detector" in r.json()["detail"]
        and "pressure_gauge" in r.json()["detail"]
    )
    # a template no type uses may be retired (page and API); then no type may name it
    r = browser.post(
        f"/certificate-templates/versions/{notice_tpl['id']}/retire", follow_redirects=False
    )
    assert r.status_code == 303
    assert run(tv.get_version(notice_tpl["id"]))["status"] == "retired"
    with pytest.raises(services.Invalid) as refused:
        run(services.save_type(_with(notice_template="methane_notice"), None, mode="update"))
    assert "没有已发布的版本" in refused.value.errors["notice_template"]
    # re-pointed to the shipped one, the type lets its old template go
    run(services.save_type(_with(certificate_template=""), None, mode="update"))
    r = browser.post(f"/api/v1/certificate-templates/versions/{cert_tpl['id']}/retire")
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert (
        browser.post(f"/api/v1/certificate-templates/versions/{cert_tpl['id']}/retire").status_code
        == 409
    )


@pytest.mark.browser
def test_chromium_a_technical_manager_picks_the_notice_template_and_the_type_page_names_it(
    page, make_user
):
    from conftest import ui_login

    _cert, notice_tpl = _own_templates()
    ui_login(page, make_user("tech_manager"))
    page.goto(f"/instrument-types/{TYPE}/edit")
    assert page.input_value("#notice_template") == ""
    assert (
        page.locator("#uses-notice_template")
        .inner_text()
        .startswith("使用系统默认模板（检定结果通知书")
    )
    offered = page.locator("#notice_template option").all_inner_texts()
    assert offered == [
        "使用系统默认模板",
        "甲烷专用结果通知书（methane_notice），第 1 版",
        "检定结果通知书（result_notice），第 1 版",
    ]
    page.select_option("#notice_template", "methane_notice")
    page.click("#save-type")
    page.wait_for_url(f"**/instrument-types/{TYPE}")
    assert run(services.get_catalogue(TYPE))["notice_template"] == "methane_notice"
    uses = page.locator("#uses-notice_template")
    assert uses.inner_text() == "甲烷专用结果通知书（methane_notice），第 1 版"
    uses.get_by_role("link", name="甲烷专用结果通知书").click()
    page.wait_for_url(f"**/certificate-templates/{notice_tpl['template']}")
    assert "甲烷检测报警仪（methane_detector）" in page.locator("#used-by").inner_text()
