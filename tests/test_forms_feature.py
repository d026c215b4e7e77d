"""Form definitions: shipped forms published, draft → review → published → retired, e-signature,
separation of duties, optimistic locking, immutability (services and database), import/export."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import run

ROOT = Path(__file__).resolve().parents[1]
FUEL = json.loads((ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8"))


@pytest.fixture
def everything(db):
    """Everything `metrolab seed` loads (types, standards, forms, templates, workflows)."""
    from metrolab.seed import seed_all

    run(seed_all())


def _user(make_user, *roles):
    from metrolab.web.auth import CurrentUser

    u = make_user(*roles)
    return u, CurrentUser(
        id=u["id"], username=u["username"], full_name="x", language="zh", department_id=None
    )


def test_shipped_forms_are_published_once(everything):
    from metrolab.forms import services
    from metrolab.forms.tables import FormDefinition

    shipped = sorted(p.stem for p in (ROOT / "form_schemas").glob("*.json"))
    published = run(services.published_version("fuel_dispenser_record"))
    assert published["number"] == 1 and published["status"] == "published"
    assert published["approval_signature"]["signer"] == "system"
    assert published["approval_signature"]["meaning"] == "随产品发布"
    assert published["schema"]["type"] == "object"
    assert run(services.seed_shipped_forms()) == 0  # idempotent
    assert sorted(r["key"] for r in run(FormDefinition.select(FormDefinition.key))) == shipped


def _draft_v2(browser, make_user):
    author = make_user("tech_manager")
    browser.login(author)
    r = browser.post("/api/v1/forms/fuel_dispenser_record/drafts")
    assert r.status_code == 201, r.text
    return author, r.json()


def test_lifecycle_through_the_api(everything, browser, new_browser, make_user):
    from metrolab.forms import services

    author, v2 = _draft_v2(browser, make_user)
    assert v2["number"] == 2 and v2["status"] == "draft"
    changed = copy.deepcopy(v2["definition"])
    changed["layout"][0]["children"][0]["columns"][0][1]["label"]["zh"] = "出厂编号（铭牌）"
    changed["layout"][0]["children"][1]["expression"] = (
        'if(fuel == "汽油", 0.00120, if(fuel == "柴油", 0.0009, None))'
    )
    r = browser.put(
        f"/api/v1/forms/versions/{v2['id']}",
        json={"definition": changed, "revision": v2["revision"]},
    )
    assert r.status_code == 200 and r.json()["revision"] == v2["revision"] + 1
    # a second save with the old revision is a conflict naming who saved and when
    stale = browser.put(
        f"/api/v1/forms/versions/{v2['id']}",
        json={"definition": changed, "revision": v2["revision"]},
    )
    assert stale.status_code == 409
    assert (
        "该草稿已被 测试用户" in stale.json()["detail"]
        and "修改，请刷新后再编辑" in stale.json()["detail"]
    )

    assert (
        browser.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"}).json()[
            "status"
        ]
        == "in_review"
    )
    # the author (also a reviewer here) cannot approve their own submission
    both = make_user("tech_manager", "template_reviewer")
    own = new_browser().login(both)
    drafted = own.post(f"/api/v1/forms/versions/{v2['id']}/return", json={"reason": "先退回"})
    assert drafted.status_code == 200
    own_v = own.post("/api/v1/forms/fuel_dispenser_record/drafts").json()
    assert own_v["id"] == v2["id"]  # the open draft is reused
    assert (
        own.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"}).status_code
        == 200
    )
    r = own.post(f"/api/v1/forms/versions/{v2['id']}/approve", json={"password": both["password"]})
    assert r.status_code == 403 and "不能审批自己编写或提交的模板" in r.json()["detail"]

    reviewer = make_user("template_reviewer")
    rb = new_browser().login(reviewer)
    r = rb.post(f"/api/v1/forms/versions/{v2['id']}/approve", json={"password": "wrong-password-1"})
    assert r.status_code == 403 and "密码不正确" in r.json()["detail"]
    r = rb.post(f"/api/v1/forms/versions/{v2['id']}/return", json={"reason": "  "})
    assert r.status_code == 400 and r.json()["detail"] == "退回须填写原因"
    r = rb.post(
        f"/api/v1/forms/versions/{v2['id']}/approve", json={"password": reviewer["password"]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "published" and body["approval_signature"]["meaning"] == "模板批准"
    assert body["approval_signature"]["sha256"] == services.sha256_of(changed)
    versions = {
        v["number"]: v["status"] for v in run(services.versions_of("fuel_dispenser_record"))
    }
    assert versions == {1: "retired", 2: "published"}
    assert run(services.published_version("fuel_dispenser_record"))["id"] == v2["id"]

    # published → immutable: the service refuses, and so does the API
    r = browser.put(
        f"/api/v1/forms/versions/{v2['id']}",
        json={"definition": changed, "revision": body["revision"]},
    )
    assert r.status_code == 409 and "已发布的表单版本不可修改" in r.json()["detail"]
    # the definition page shows the readable diff against v1 and the preview
    page = browser.get(f"/forms/fuel_dispenser_record?v={v2['id']}")
    assert page.status_code == 200
    assert "出厂编号（铭牌）" in page.text and "标签" in page.text and 'id="form-body"' in page.text
    diff = page.text[page.text.index('id="diff"') : page.text.index('id="preview"')]
    assert "v1 → v2" in diff and "表达式由" in diff and "0.00120" in diff and "0.0012, " in diff


def test_published_version_refuses_a_database_update(everything):
    from metrolab.forms.tables import FormVersion

    row = run(FormVersion.select(FormVersion.id).where(FormVersion.status == "published").first())
    with pytest.raises(Exception, match="已发布的表单版本不可修改"):
        run(
            FormVersion.update({FormVersion.definition: {"tampered": True}}).where(
                FormVersion.id == row["id"]
            )
        )
    with pytest.raises(Exception, match="已发布的表单版本不可修改"):
        run(FormVersion.update({FormVersion.status: "draft"}).where(FormVersion.id == row["id"]))
    # retiring is the one change allowed
    run(FormVersion.update({FormVersion.status: "retired"}).where(FormVersion.id == row["id"]))
    after = run(
        FormVersion.select(FormVersion.definition).where(FormVersion.id == row["id"]).first()
    )
    assert "tampered" not in str(after["definition"])


def test_submit_lists_every_problem_with_its_place(everything, browser, make_user):
    _, v2 = _draft_v2(browser, make_user)
    runs = ["layout", 2, "children", 1, "by_item", "indication", "point_columns", 0, "columns"]

    def with_expressions(v_b: str, v_bt: str) -> dict:
        doc = copy.deepcopy(v2["definition"])
        cols = doc
        for part in runs:
            cols = cols[part]
        cols[4]["expression"], cols[5]["expression"] = v_b, v_bt
        return doc

    # a draft is kept with its problems (here: an expression that does not parse yet), each listed
    r = browser.put(
        f"/api/v1/forms/versions/{v2['id']}",
        json={"definition": with_expressions("V_0 +", "V_B"), "revision": v2["revision"]},
    )
    assert r.status_code == 200, r.text
    assert any("V_0 +" in p["message"] or "表达式" in p["message"] for p in r.json()["problems"])
    assert browser.get(f"/api/v1/forms/versions/{v2['id']}").json()["problems"]
    r = browser.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"})
    assert r.status_code == 400 and "不能发布" in r.json()["detail"]
    v2["revision"] += 1
    # names only an instrument type can give are checked at submission, every one with its place
    r = browser.put(
        f"/api/v1/forms/versions/{v2['id']}",
        json={
            "definition": with_expressions("V_0 + V_x / 1000", "V_B * C_y"),
            "revision": v2["revision"],
        },
    )
    assert r.status_code == 200, r.text
    r = browser.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "V_x" in detail and "C_y" in detail and "point_columns[0]" in detail, detail
    unknown_type = copy.deepcopy(v2["definition"]) | {"catalogue": "no_such_type"}
    assert (
        browser.put(
            f"/api/v1/forms/versions/{v2['id']}",
            json={"definition": unknown_type, "revision": v2["revision"] + 1},
        ).status_code
        == 200
    )
    r = browser.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"})
    assert (
        r.status_code == 400
        and "catalogue：器具类型 “no_such_type” 不在指标库中" in r.json()["detail"]
    )


def test_malformed_import_is_refused_whole(everything, browser, make_user):
    from metrolab.forms.tables import FormDefinition, FormVersion

    browser.login(make_user("tech_manager"))
    before = (run(FormDefinition.count()), run(FormVersion.count()))
    bad = json.dumps(
        {
            "format": "metrolab.form/1",
            "key": "new_form",
            "kind": "record",
            "title": {"zh": "新表单"},
            "layout": [
                {"type": "field", "key": "a", "control": "number", "label": {"zh": "甲"}},
                {"type": "computed", "key": "b", "expression": "a +", "label": {"zh": "乙"}},
            ],
        }
    )
    r = browser.post(
        "/forms/import", files={"file": ("new_form.json", bad.encode(), "application/json")}
    )
    assert r.status_code == 400 and "表单定义有误" in r.text and "乙" in r.text or "b" in r.text
    r = browser.post(
        "/forms/import", files={"file": ("x.json", b'{"key": "a", "key": "b"}', "application/json")}
    )
    assert r.status_code == 400 and "重复" in r.text
    assert (run(FormDefinition.count()), run(FormVersion.count())) == before


def test_import_export_round_trip_and_pages(everything, browser, make_user):
    browser.login(make_user("tech_manager"))
    doc = copy.deepcopy(FUEL) | {
        "key": "fuel_dispenser_record_b",
        "title": {"zh": "加油机记录 B", "en": "B"},
    }
    r = browser.post(
        "/forms/import",
        files={"file": ("b.json", json.dumps(doc).encode(), "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail = browser.get(r.headers["location"])
    assert (
        "加油机记录 B" in detail.text
        and "提交审核" in detail.text
        and "批准发布" not in detail.text
    )
    vid = int(r.headers["location"].split("v=")[1])
    exported = browser.get(f"/forms/versions/{vid}/export")
    assert exported.headers["content-disposition"].startswith("attachment")
    assert json.loads(exported.content) == doc
    listing = browser.get("/forms")
    assert "fuel_dispenser_record_b" in listing.text and "草稿" in listing.text


def test_reviewer_task_counter_and_returned_reason(everything, browser, new_browser, make_user):
    author, v2 = _draft_v2(browser, make_user)
    browser.post(f"/api/v1/forms/versions/{v2['id']}/submit", json={"note": "变更"})
    reviewer = new_browser().login(make_user("template_reviewer"))
    tasks = {t["key"]: t["count"] for t in reviewer.get("/api/v1/tasks").json()}
    assert tasks["forms_in_review"] == 1
    assert "燃油加油机检定原始记录" in reviewer.get("/forms/review").text
    page = reviewer.post(f"/forms/versions/{v2['id']}/return", data={"reason": ""})
    assert page.status_code == 400 and "退回须填写原因" in page.text
    reviewer.post(f"/forms/versions/{v2['id']}/return", data={"reason": "温度单位请写 ℃"})
    mine = {t["key"]: t["count"] for t in browser.get("/api/v1/tasks").json()}
    assert mine["forms_returned"] == 1
    assert "温度单位请写 ℃" in browser.get(f"/forms/fuel_dispenser_record?v={v2['id']}").text
