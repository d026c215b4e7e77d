"""The form designer's server side: expression checks, previews, import validation, permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run

ROOT = Path(__file__).resolve().parents[1]


def _definition(expression: str = "V_J * 2") -> dict:
    return {
        "format": "metrolab.form/1",
        "key": "designer_demo",
        "kind": "other",
        "title": {"zh": "设计器演示", "en": "Designer demo"},
        "layout": [
            {
                "type": "section",
                "label": {"zh": "读数", "en": "Readings"},
                "children": [
                    {
                        "type": "field",
                        "key": "V_J",
                        "control": "number",
                        "decimals": 2,
                        "example": "10.25",
                        "label": {"zh": "加油机示值", "en": "Dispenser reading"},
                    },
                    {
                        "type": "computed",
                        "key": "double",
                        "label": {"zh": "两倍示值", "en": "Twice"},
                        "expression": expression,
                        "round": "0.01",
                    },
                ],
            }
        ],
    }


@pytest.fixture
def shipped(db):
    """Instrument types and shipped forms, as `metrolab seed` loads them (emptied after each test)."""
    from metrolab.forms.services import seed_shipped_forms
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())
    run(seed_shipped_forms())


def _designer(browser, make_user):  # noqa: ANN001, ANN202
    return browser.login(make_user("tech_manager"))


def test_check_expression_ok_lists_the_names(browser, make_user):
    b = _designer(browser, make_user)
    r = b.post(
        "/designer/check-expression",
        json={"expression": "round_gb(V_J * 2, 0.01)", "known_names": ["V_J"]},
    )
    assert r.status_code == 200
    assert r.json() == {
        "ok": True,
        "message": "",
        "position": None,
        "names": ["V_J"],
        "functions": ["round_gb"],
    }


def test_check_expression_unknown_name_has_its_position(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post(
        "/designer/check-expression", json={"expression": "V_J + V_X", "known_names": ["V_J"]}
    ).json()
    assert body["ok"] is False and body["code"] == "unknown_name"
    assert "V_X" in body["message"] and body["position"] == 7


def test_check_expression_refuses_dunder_attribute_access(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post(
        "/designer/check-expression", json={"expression": "V_J.__class__", "known_names": ["V_J"]}
    ).json()
    assert body["ok"] is False and body["code"] == "forbidden"
    assert body["position"] is not None


def test_check_expression_syntax_error(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post(
        "/designer/check-expression", json={"expression": "(V_J + ", "known_names": ["V_J"]}
    ).json()
    assert body["ok"] is False and body["code"] == "syntax" and body["message"]


def test_preview_computes_only_from_what_was_typed(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post("/designer/preview", json={"definition": _definition(), "lang": "zh"}).json()
    assert body["ok"] is True and body["problems"] == []
    assert "加油机示值" in body["html"] and "两倍示值" in body["html"]
    # nothing typed: an empty input and no computed value beside it (not the field's example)
    assert 'name="V_J"' in body["html"] and 'value="10.25"' not in body["html"]
    assert '<output class="ml-computed" id="c-double" name="double"></output>' in body["html"]
    typed = {"definition": _definition(), "values": [["V_J", "3.5"]]}
    body = b.post("/designer/preview", json=typed).json()
    assert 'value="3.5"' in body["html"] and ">7.00</output>" in body["html"]  # by the server
    too_many = {"definition": _definition(), "values": [["V_J", "1"]] * 20_001}
    assert b.post("/designer/preview", json=too_many).status_code == 400
    en = b.post("/designer/preview", json={"definition": _definition(), "lang": "en"}).json()
    assert "Dispenser reading" in en["html"]


def test_preview_lists_definition_problems_with_their_place(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post("/designer/preview", json={"definition": _definition("V_J + nope")}).json()
    assert body["ok"] is False and body["html"] == ""
    assert any(
        "nope" in p["message"] and p["place"].startswith("layout[0].children[1]")
        for p in body["problems"]
    )
    empty_table = _definition()
    empty_table["layout"].append(
        {"type": "table", "key": "t", "label": {"zh": "表"}, "columns": []}
    )
    body = b.post("/designer/preview", json={"definition": empty_table}).json()
    assert body["ok"] is False and body["problems"][0]["place"].startswith("layout[1]")


def test_preview_of_a_shipped_record_form_expands_its_indicator_table(shipped, browser, make_user):
    b = _designer(browser, make_user)
    raw = json.loads((ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8"))
    body = b.post("/designer/preview", json={"definition": raw}).json()
    assert body["ok"] is True, body["problems"]
    assert "示值误差" in body["html"]


def test_import_validation_refuses_a_malformed_file_whole(browser, make_user):
    b = _designer(browser, make_user)
    good = json.dumps(_definition(), ensure_ascii=False)
    assert b.post("/designer/validate?key=designer_demo", json={"text": good}).json()["ok"] is True
    dup = good.replace('"kind": "other"', '"kind": "other", "kind": "record"')
    body = b.post("/designer/validate", json={"text": dup}).json()
    assert body["ok"] is False and "重复" in body["problems"][0]["message"]
    body = b.post("/designer/validate", json={"text": "{not json"}).json()
    assert body["ok"] is False and "JSON" in body["problems"][0]["message"]
    other = b.post("/designer/validate?key=entrustment", json={"text": good}).json()
    assert other["ok"] is False and "entrustment" in other["problems"][0]["message"]


def test_open_in_designer_makes_a_draft_of_a_shipped_form_and_shows_the_page(
    shipped, browser, make_user
):
    b = _designer(browser, make_user)
    r = b.post("/designer/open/entrustment", follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    assert url.startswith("/forms/versions/") and url.endswith("/designer")
    page = b.get(url)
    assert page.status_code == 200
    assert (
        "提交审核" in page.text
        and 'id="dz-boot"' in page.text
        and "/static/designer/designer.js" in page.text
    )
    assert (
        b.post("/designer/open/entrustment", follow_redirects=False).headers["location"] == url
    )  # same draft
    assert b.get("/designer").status_code == 200
    assert b.get("/static/designer/model.js").status_code == 200


def test_permissions_refuse_anonymous_and_users_without_forms_design(
    browser, new_browser, make_user
):
    payload = {"expression": "1", "known_names": []}
    as_json = {"accept": "application/json"}
    assert (
        browser.post("/designer/check-expression", json=payload, headers=as_json).status_code == 401
    )
    assert browser.get("/designer", follow_redirects=False).status_code == 303
    clerk = new_browser().login(make_user("clerk"))
    assert (
        clerk.post("/designer/check-expression", json=payload, headers=as_json).status_code == 403
    )
    assert clerk.post("/designer/preview", json={"definition": _definition()}).status_code == 403
    assert clerk.get("/forms/versions/1/designer", follow_redirects=False).status_code == 403
    assert clerk.post("/designer/open/entrustment", follow_redirects=False).status_code == 403
    assert (
        browser.get("/static/designer/designer.js").status_code == 200
    )  # static assets are public


def test_the_page_speaks_english_when_the_user_chose_it(shipped, browser, make_user):
    b = _designer(browser, make_user)
    url = b.post("/designer/open/entrustment", follow_redirects=False).headers["location"]
    assert (
        b.post(
            "/language", data={"language": "en", "next": url}, follow_redirects=False
        ).status_code
        == 303
    )
    text = b.get(url).text
    assert "Submit for review" in text and '"undo": "Undo"' in text and "提交审核" not in text


def test_new_form_from_each_starter_page_and_api(shipped, browser, make_user):
    from metrolab.forms.services import get_version

    b = _designer(browser, make_user)
    page = b.get("/designer/new")
    assert page.status_code == 200 and "空白表单" in page.text and "委托单" in page.text
    assert 'href="/designer/new"' in b.get("/designer").text

    # the page: an empty form, opened in the designer as v1 draft
    r = b.post(
        "/designer/new",
        data={
            "starter": "blank",
            "key": "tank_check",
            "title_zh": "油罐自查",
            "kind": "self_check",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/designer")
    version = run(get_version(int(r.headers["location"].split("/")[3])))
    assert version["status"] == "draft" and version["number"] == 1
    assert version["definition"]["kind"] == "self_check"
    assert version["definition"]["title"]["zh"] == "油罐自查"
    assert b.get(r.headers["location"]).status_code == 200

    # a wrong field: the message beside it, what was typed kept, status 400
    r = b.post(
        "/designer/new",
        data={"starter": "record", "key": "tank_check", "title_zh": "压力表记录"},
    )
    assert r.status_code == 400
    assert "已被使用" in r.text and "须选择器具类型" in r.text and 'value="压力表记录"' in r.text

    # the API twin: 原始记录 with the instrument type's indicator table; 委托单
    r = b.post(
        "/api/v1/designer/forms",
        json={
            "starter": "record",
            "key": "co_record_2",
            "title_zh": "一氧化碳记录",
            "catalogue": "co_detector",
        },
    )
    assert r.status_code == 201, r.text
    raw = run(get_version(r.json()["version_id"]))["definition"]
    assert raw["catalogue"] == "co_detector" and raw["kind"] == "record"
    assert any(n["type"] == "indicator_table" for n in raw["layout"])
    r = b.post(
        "/api/v1/designer/forms",
        json={"starter": "entrustment", "key": "entrust_2", "title_zh": "委托单二"},
    )
    assert r.status_code == 201 and r.json()["designer_url"].endswith("/designer")
    bad = b.post("/api/v1/designer/forms", json={"starter": "nope", "key": "X", "title_zh": ""})
    assert bad.status_code == 400 and "请选择起点" in bad.json()["detail"]
    assert (
        b.post("/api/v1/designer/forms", json={"key": "a" * 101, "title_zh": "x"}).status_code
        == 400
    )
    assert (
        b.post("/api/v1/designer/forms", json={"key": "ab", "title_zh": "x\x00"}).status_code == 400
    )


def test_submit_asks_for_a_change_note_shown_in_the_review(shipped, browser, make_user):
    b = _designer(browser, make_user)
    draft = b.post("/api/v1/designer/open/entrustment").json()
    url = f"/api/v1/forms/versions/{draft['version_id']}/submit"
    r = b.post(url, json={})
    assert r.status_code == 400 and "变更说明" in r.json()["detail"]
    assert b.post(url, json={"note": "x" * 2001}).status_code == 400
    r = b.post(url, json={"note": "增加现场地址字段"})
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    assert r.json()["change_note"] == "增加现场地址字段"
    review = b.get(f"/forms/entrustment?v={draft['version_id']}")
    assert 'id="change-note"' in review.text and "增加现场地址字段" in review.text
