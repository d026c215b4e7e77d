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


def test_preview_renders_labels_and_server_computed_values(browser, make_user):
    b = _designer(browser, make_user)
    body = b.post("/designer/preview", json={"definition": _definition(), "lang": "zh"}).json()
    assert body["ok"] is True and body["problems"] == []
    assert "加油机示值" in body["html"] and "两倍示值" in body["html"]
    assert "20.50" in body["html"]  # 10.25 × 2, computed by the server
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
