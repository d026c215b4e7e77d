"""Original records: the JJG 443 worked case through the shipped form, the records service and the
htmx compute endpoint; pinned form versions; typed values kept; expired standards refused; changes
after the first save need a reason and leave a 划改 with old → new; the hash chain catches tampering."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run

ROOT = Path(__file__).resolve().parents[1]
DATE = "2026-11-24"


@pytest.fixture
def lab(db):
    """Shipped types, standards and forms (the db fixture empties them after every test), a customer."""
    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="淄博市张店区示例加油站", category="加油站")
    run(customer.save())
    return {"customer": customer.id}


def _run(v_s: int, v_j: str = "20.00", t: str = "24.0") -> dict[str, str]:
    return {"V_J": v_j, "V_s": str(v_s), "t_J": t, "t_B": t}


def fuel_data(
    q1: list[int], q2: list[int], standards: tuple[str, ...] = ("STD-VOL-20-01",)
) -> dict:
    """Two nozzles × two flow points × three runs, as typed."""
    nozzle = {
        "items": {
            "indication": {
                "points": [{"runs": [_run(v) for v in q1]}, {"runs": [_run(v) for v in q2]}]
            },
            "payment": {"points": [{"P": "7.50", "V_J": "20.00", "J": "150.00"}]},
            "self_lock": {"points": [{"outcome": "合格"}]},
            "anti_cheat": {"points": [{"outcome": "合格"}]},
            "seal": {"points": [{"outcome": "合格"}]},
        }
    }
    return {
        "customer": "淄博市张店区示例加油站",
        "serial": "JY-2024-001",
        "model": "CS46",
        "manufacturer": "正星",
        "verification_date": DATE,
        "fuel": "汽油",
        "material": "不锈钢",
        "V_0": "20",
        "environment": {"temperature": "21.5", "humidity": "55"},
        "standards": list(standards),
        "nozzles": [
            copy.deepcopy(nozzle) | {"nozzle_no": "1"},
            copy.deepcopy(nozzle) | {"nozzle_no": "2"},
        ],
    }


def flatten(data, prefix: str = "") -> list[tuple[str, str]]:
    """Record data → the posted form's names (dotted paths)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += flatten(v, f"{prefix}{k}.")
    elif isinstance(data, list):
        if all(isinstance(v, (dict, list)) for v in data):
            for i, v in enumerate(data):
                out += flatten(v, f"{prefix}{i}.")
        else:
            out += [(prefix[:-1], str(v)) for v in data]
    else:
        out.append((prefix[:-1], "" if data is None else str(data)))
    return out


def post_body(data: dict, header: dict | None = None, **extra: str) -> dict[str, list[str]]:
    body: dict[str, list[str]] = {}
    for name, value in (
        flatten(data)
        + [(f"_h.{k}", str(v)) for k, v in (header or {}).items()]
        + list(extra.items())
    ):
        body.setdefault(name, []).append(value)
    return body


def _verifier(make_user, name: str = "王检定"):
    return make_user("verifier", full_name=name)


def _new_record(browser, lab, instrument_type: str = "fuel_dispenser") -> int:
    r = browser.post(
        "/records",
        data={
            "customer": str(lab["customer"]),
            "instrument_type": instrument_type,
            "verified_on": DATE,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("/")[2])


def _item(evaluation, code: str):
    return next(i for i in evaluation.items if i.code == code and i.path.startswith("nozzles.0."))


def test_jjg443_worked_case_through_service_and_compute_endpoint(lab, browser, make_user):
    from metrolab.records import services

    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    rec = run(services.get_record(record_id))
    assert (
        rec["number"].startswith("YS2026-")
        and rec["status"] == "draft"
        and rec["form_key"] == "fuel_dispenser_record"
    )

    # the service: V_B 19.930 L, V_Bt 19.934 L, V_J 20.00 L → E +0.33 % → 不合格
    pin = run(services.pinned(rec["form_version"]))
    data = fuel_data([-70] * 3, [-76, -120, -94])
    evaluation = run(services.evaluate(pin, data, {"customer": lab["customer"]}))
    assert evaluation.errors == [], evaluation.errors
    first = evaluation.data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]
    assert (first["V_B"], first["V_Bt"], first["E"]) == ("19.930", "19.934", "0.33")
    q2 = evaluation.data["nozzles"][0]["items"]["indication"]["points"][1]
    assert [r["E"] for r in q2["runs"]] == ["0.36", "0.58", "0.45"]
    # repeatability (0.58 − 0.36) / 1.69 = 0.13 % > 0.10 % → 不合格
    assert q2["E_rep"] == "0.13"
    assert (
        _item(evaluation, "indication").conclusion,
        _item(evaluation, "repeatability").result,
        _item(evaluation, "repeatability").conclusion,
    ) == ("不合格", "0.13", "不合格")
    assert evaluation.conclusion == "不合格"

    # the htmx compute endpoint: the server computes and returns #form-body with the values
    r = browser.post(
        f"/records/{record_id}/compute",
        data=post_body(data, {"customer": lab["customer"]}),
        headers={"hx-request": "true"},
    )
    assert r.status_code == 200 and "<html" not in r.text and 'id="form-body"' in r.text
    assert (
        '<output class="ml-computed" id="c-nozzles-0-items-indication-points-0-runs-0-V_Bt"'
        in r.text
    )
    assert (
        ">19.934</output>" in r.text and ">0.33</output>" in r.text and ">0.13</output>" in r.text
    )
    assert 'id="c-nozzles-0-items-repeatability-conclusion">不合格</output>' in r.text

    # saving through the page stores typed + computed values and the conclusion
    r = browser.post(
        f"/records/{record_id}/save",
        data=post_body(data, {"customer": lab["customer"], "instrument_name": "燃油加油机"}),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    saved = run(services.get_record(record_id))
    assert saved["status"] == "saved" and saved["conclusion"] == "不合格"
    assert saved["serial"] == "JY-2024-001" and saved["standards"] == ["STD-VOL-20-01"]
    assert str(saved["verified_on"]) == DATE and saved["environment"] == {
        "temperature": "21.5",
        "humidity": "55",
    }
    stored = saved["data"]["nozzles"][1]["items"]["indication"]["points"][0]["runs"][0]
    assert stored["V_J"] == "20.00" and stored["E"] == "0.33"
    view = browser.get(f"/records/{record_id}")
    assert (
        view.status_code == 200
        and "不合格" in view.text
        and "重复性" in view.text
        and "0.13" in view.text
    )


def _publish_v2(make_user, new_label: str) -> int:
    from metrolab.forms import services as forms
    from metrolab.web.auth import CurrentUser

    author, reviewer = make_user("tech_manager"), make_user("template_reviewer")
    roles = {
        author["id"]: frozenset({"tech_manager"}),
        reviewer["id"]: frozenset({"template_reviewer"}),
    }

    def current(u):
        return CurrentUser(
            id=u["id"],
            username=u["username"],
            full_name="",
            language="zh",
            department_id=None,
            roles=roles[u["id"]],
        )

    draft = run(forms.new_draft("fuel_dispenser_record", current(author)))
    doc = copy.deepcopy(draft["definition"])
    doc["layout"][0]["children"][0]["columns"][0][1]["label"]["zh"] = new_label
    run(forms.save_draft(draft["id"], doc, draft["revision"], current(author)))
    run(forms.submit_for_review(draft["id"], current(author), "新版本"))
    run(forms.approve(draft["id"], current(reviewer), reviewer["password"]))
    return draft["id"]


def test_a_record_keeps_its_form_version(lab, browser, make_user):
    from metrolab.records import services

    browser.login(_verifier(make_user))
    old_id = _new_record(browser, lab)
    r = browser.post(
        f"/records/{old_id}/save",
        data=post_body(fuel_data([-20] * 3, [-20] * 3), {"customer": lab["customer"]}),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    v2 = _publish_v2(make_user, "铭牌编号")
    old_view = browser.get(f"/records/{old_id}")
    assert (
        "出厂编号" in old_view.text
        and "铭牌编号" not in old_view.text
        and "fuel_dispenser_record v1" in old_view.text
    )
    new_id = _new_record(browser, lab)
    assert run(services.get_record(new_id))["form_version"] == v2
    assert "铭牌编号" in browser.get(f"/records/{new_id}/edit").text
    assert run(services.get_record(old_id))["form_version"] != v2


def test_bad_and_missing_readings_are_named_and_kept(lab, browser, make_user):
    from metrolab.records import services

    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    data = fuel_data([-70] * 3, [-70] * 3)
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][2]["V_J"] = "20.0O"
    data["nozzles"][1]["items"]["indication"]["points"][1]["runs"][1]["t_J"] = ""
    r = browser.post(
        f"/records/{record_id}/save", data=post_body(data, {"customer": lab["customer"]})
    )
    assert r.status_code == 400
    assert "第1枪 示值误差 大流量 Q1 第3次 加油机示值 V_J：必须是数字" in r.text
    assert "第2枪 示值误差 小流量 Q2 第2次 加油机出口油温 t_J：必填" in r.text
    assert 'value="20.0O"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="JY-2024-001"' in r.text  # everything else typed is still there
    rec = run(services.get_record(record_id))
    assert rec["status"] == "draft"  # not saved, but the draft keeps what was typed
    assert (
        rec["data"]["nozzles"][0]["items"]["indication"]["points"][0]["runs"][2]["V_J"] == "20.0O"
    )


def test_expired_standard_is_refused_by_name(lab, browser, make_user):
    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    data = fuel_data([-20] * 3, [-20] * 3, standards=("STD-VOL-20-01", "STD-VOL-20-02"))
    r = browser.post(
        f"/records/{record_id}/save", data=post_body(data, {"customer": lab["customer"]})
    )
    assert r.status_code == 400
    assert "STD-VOL-20-02）已于 2026-06-30 过期" in r.text and "标准器 " in r.text
    assert "STD-VOL-20-01）已于" not in r.text


def test_changes_after_saving_need_a_reason_and_show_as_strike_through(lab, browser, make_user):
    from metrolab.records import services

    browser.login(_verifier(make_user, "李检定"))
    record_id = _new_record(browser, lab)
    data = fuel_data([-20] * 3, [-20] * 3)
    header = {"customer": lab["customer"]}
    assert (
        browser.post(
            f"/records/{record_id}/save", data=post_body(data, header), follow_redirects=False
        ).status_code
        == 303
    )
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][1]["V_J"] = "20.04"
    r = browser.post(f"/records/{record_id}/save", data=post_body(data, header))
    assert r.status_code == 400 and "修改已保存的原始记录须填写修改原因" in r.text
    assert 'value="20.04"' in r.text  # kept
    assert len(run(services.revisions(record_id))) == 1
    r = browser.post(
        f"/records/{record_id}/save",
        data=post_body(data, header, _reason="读数抄错，按量器复读更正"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    revs = run(services.revisions(record_id))
    assert [v["seq"] for v in revs] == [1, 2] and revs[1]["prev_hash"] == revs[0]["hash"]
    change = next(c for c in revs[1]["changes"] if c["path"].endswith("runs.1.V_J"))
    assert change == {
        "path": "nozzles.0.items.indication.points.0.runs.1.V_J",
        "label_zh": "第1枪 示值误差 大流量 Q1 第2次 加油机示值 V_J",
        "old": "20.00",
        "new": "20.04",
    }
    history = browser.get(f"/records/{record_id}/history")
    assert "<del>20.00</del>" in history.text and "<ins>20.04</ins>" in history.text
    assert "李检定" in history.text and "读数抄错，按量器复读更正" in history.text
    assert "第1枪 示值误差 大流量 Q1 第2次 加油机示值 V_J" in history.text
    # autosave is for drafts only
    assert (
        browser.post(f"/records/{record_id}/autosave", data=post_body(data, header)).status_code
        == 409
    )


def _audit_verify() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metrolab.cli", "audit", "verify"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_tampering_with_a_revision_is_detected(lab, browser, make_user):
    from metrolab.records import services
    from metrolab.records.tables import RecordRevision

    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    data, header = fuel_data([-20] * 3, [-20] * 3), {"customer": lab["customer"]}
    browser.post(f"/records/{record_id}/save", data=post_body(data, header))
    data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]["V_J"] = "20.02"
    browser.post(f"/records/{record_id}/save", data=post_body(data, header, _reason="更正"))
    number = run(services.get_record(record_id))["number"]
    ok = _audit_verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "审计链完好" in ok.stdout
    rev = run(services.revisions(record_id))[1]
    forged = [dict(c, new="20.00") for c in rev["changes"]]
    run(
        RecordRevision.raw(
            "UPDATE record_revision SET changes = {} WHERE id = {}",
            json.dumps(forged, ensure_ascii=False),
            rev["id"],
        )
    )
    bad = _audit_verify()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"记录 {number} 修订 #2" in bad.stdout


def test_no_record_without_a_published_form(lab, browser, make_user):
    from metrolab.forms.tables import FormVersion

    browser.login(_verifier(make_user))
    run(
        FormVersion.update({FormVersion.status: "retired"}).where(FormVersion.status == "published")
    )
    r = browser.post(
        "/records", data={"customer": str(lab["customer"]), "instrument_type": "fuel_dispenser"}
    )
    assert r.status_code == 409 and "该器具类型的原始记录表单尚未发布" in r.text


def test_autosave_draft_and_my_drafts_counter(lab, browser, make_user):
    from metrolab.records import services

    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    data = fuel_data([-70], [])
    r = browser.post(
        f"/records/{record_id}/autosave",
        data=post_body(data, {"customer": lab["customer"]}),
        headers={"hx-request": "true"},
    )
    assert r.status_code == 200 and "已自动保存" in r.text
    rec = run(services.get_record(record_id))
    assert rec["status"] == "draft" and rec["serial"] == "JY-2024-001"
    assert rec["data"]["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]["E"] == "0.33"
    tasks = {t["key"]: t["count"] for t in browser.get("/api/v1/tasks").json()}
    assert tasks["records_my_drafts"] == 1
    edit = browser.get(f"/records/{record_id}/edit")
    assert (
        f'data-autosave-url="/records/{record_id}/autosave"' in edit.text
        and f'hx-post="/records/{record_id}/compute"' in edit.text
    )
    assert browser.get(f"/records/{record_id}").status_code == 200


def test_a_late_autosave_from_the_same_page_does_not_undo_a_later_one(lab, browser, make_user):
    """Leaving a field then the page at once sends two saves; the second (with the serial) may be
    stored first. The page numbers its saves and the older one is dropped; another page's save
    (the record opened again) is kept whatever its number."""
    from metrolab.records import services

    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    header = {"customer": lab["customer"]}

    def autosave(serial: str, page: str, seq: str) -> int:
        body = post_body({**fuel_data([-70], []), "serial": serial}, header)
        headers = {"hx-request": "true", "x-autosave-page": page, "x-autosave-seq": seq}
        return browser.post(
            f"/records/{record_id}/autosave", data=body, headers=headers
        ).status_code

    assert autosave("JY-2026-077", "a1b2c3d4", "2") == 200
    assert autosave("", "a1b2c3d4", "1") == 200  # the earlier save, arriving late
    assert run(services.get_record(record_id))["serial"] == "JY-2026-077"
    assert autosave("JY-2026-078", "ffee0011", "1") == 200  # the record opened again
    assert run(services.get_record(record_id))["serial"] == "JY-2026-078"
    for page, seq in [("a1b2c3d4", "2147483648"), ("A1B2!", "3"), ("a1b2c3d4", "0")]:
        assert autosave("JY-X", page, seq) == 400
    assert run(services.get_record(record_id))["serial"] == "JY-2026-078"


def test_api_save_and_ownership(lab, browser, new_browser, make_user):
    browser.login(_verifier(make_user))
    rec = browser.post(
        "/api/v1/records",
        json={
            "customer": lab["customer"],
            "instrument_type": "fuel_dispenser",
            "verified_on": DATE,
        },
    ).json()
    data = fuel_data([-20] * 3, [-20] * 3)
    r = browser.put(
        f"/api/v1/records/{rec['id']}", json={"header": {"customer": lab["customer"]}, "data": data}
    )
    assert r.status_code == 200 and r.json()["record"]["conclusion"] == "合格", r.text
    data["V_0"] = "abc"
    r = browser.put(f"/api/v1/records/{rec['id']}", json={"data": data, "reason": "x"})
    assert r.status_code == 400 and "标准金属量器标称容量 V_0：必须是数字" in r.json()["detail"]
    stranger = new_browser().login(make_user("verifier"))
    assert stranger.put(f"/api/v1/records/{rec['id']}", json={"data": data}).status_code == 403
    assert len(browser.get(f"/api/v1/records/{rec['id']}/revisions").json()) == 1


def test_environment_outside_limits_warns_or_refuses_as_the_type_says(lab, browser, make_user):
    from metrolab.indicators import services as indicators

    browser.login(_verifier(make_user))
    header = {"customer": lab["customer"]}
    data = fuel_data([-20] * 3, [-20] * 3)
    data["environment"]["temperature"] = "60"  # the fuel dispenser allows −25～55 ℃, mode "warn"
    record_id = _new_record(browser, lab)
    r = browser.post(
        f"/records/{record_id}/compute",
        data=post_body(data, header),
        headers={"hx-request": "true"},
    )
    assert "ml-warning" in r.text and "温度 60 ℃ 超出允许范围 -25～55 ℃" in r.text
    assert (
        browser.post(
            f"/records/{record_id}/save", data=post_body(data, header), follow_redirects=False
        ).status_code
        == 303
    )
    fuel = run(indicators.get_catalogue("fuel_dispenser"))
    fuel["environment"]["mode"] = "error"
    run(indicators.save_type(fuel, None, mode="update", original_code="fuel_dispenser"))
    record_id = _new_record(browser, lab)
    r = browser.post(f"/records/{record_id}/save", data=post_body(data, header))
    assert r.status_code == 400 and "温度 60 ℃ 超出允许范围 -25～55 ℃" in r.text


def test_saved_meanwhile_shows_theirs_and_yours_and_keeps_the_typed_form(lab, browser, make_user):
    import re

    from metrolab.records import services

    browser.login(_verifier(make_user, "赵检定"))
    record_id = _new_record(browser, lab)
    data = fuel_data([-20] * 3, [-20] * 3)
    header = {"customer": lab["customer"]}
    browser.post(f"/records/{record_id}/save", data=post_body(data, header))
    opened = browser.get(f"/records/{record_id}/edit").text  # the first tab opens the form
    base = re.search(r'name="_base" value="([0-9a-f]*)"', opened).group(1)
    run0 = data["nozzles"][0]["items"]["indication"]["points"][0]["runs"][1]
    run0["V_J"] = "20.04"  # the second tab saves first
    r = browser.post(
        f"/records/{record_id}/save",
        data=post_body(data, header, _reason="复读更正"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    run0["V_J"] = "20.06"  # the first tab, still on the old version
    r = browser.post(
        f"/records/{record_id}/save", data=post_body(data, header, _reason="我的更正", _base=base)
    )
    assert r.status_code == 409 and "已被他人保存" in r.text
    theirs_yours = re.search(r'id="save-conflict".*?</div>', r.text, re.S).group(0)
    assert '<td class="ml-theirs">20.04</td><td class="ml-yours">20.06</td>' in theirs_yours
    assert 'value="20.06"' in r.text and 'value="我的更正"' in r.text  # the typed form is kept
    assert [v["seq"] for v in run(services.revisions(record_id))] == [1, 2]
    browser.post("/language", data={"language": "en", "next": "/home"})
    r = browser.post(  # the same conflict in English: the rows are named by the form's English labels
        f"/records/{record_id}/save", data=post_body(data, header, _reason="我的更正", _base=base)
    )
    assert r.status_code == 409
    table = re.search(r'id="save-conflict".*?</div>', r.text, re.S).group(0)
    labels = re.findall(r'<tr><td>([^<]*)</td><td class="ml-theirs">', table)
    assert labels and not any(re.search(r"[\u4e00-\u9fff]", label) for label in labels), labels
    browser.post("/language", data={"language": "zh", "next": "/home"})
    new_base = re.search(r'name="_base" value="([0-9a-f]*)"', r.text).group(1)
    r = browser.post(  # looked at both, saves again: theirs is replaced on purpose
        f"/records/{record_id}/save",
        data=post_body(data, header, _reason="我的更正", _base=new_base),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert [v["seq"] for v in run(services.revisions(record_id))] == [1, 2, 3]


def test_expired_and_expiring_standards_are_labelled_in_the_record_form(lab, browser, make_user):
    from datetime import date, timedelta

    from metrolab.indicators.tables import Standard

    soon = date.today() + timedelta(days=10)
    run(Standard.update({Standard.valid_until: soon}).where(Standard.code == "STD-VOL-20-01"))
    browser.login(_verifier(make_user))
    record_id = _new_record(browser, lab)
    page = browser.get(f"/records/{record_id}/edit").text
    assert f"— 即将到期 {soon.isoformat()}" in page
    assert "— 已过期 2026-06-30，不能选用" in page  # STD-VOL-20-02 as shipped
    assert 'class="ml-help ml-std-note"' in page


def test_a_fresh_demo_lab_has_valid_standards_whenever_it_is_made(db):
    from datetime import date, timedelta

    from metrolab import features
    from metrolab.indicators import services
    from metrolab.indicators.services import renew_demo_standards, seed_standards

    assert "standards_dates" in [name for name, _fn in features.seeders(demo=True)]
    later = date(2031, 3, 1)
    run(seed_standards())
    run(renew_demo_standards(later))
    picker = {s["code"]: s for s in run(services.standards_for_picker(later, "methane_detector"))}
    assert not picker["STD-GAS-CH4-01"]["expired"] and not picker["FAC-GAS-01"]["expired"]
    vol = {s["code"]: s for s in run(services.standards_for_picker(later, "fuel_dispenser"))}
    assert vol["STD-VOL-20-02"]["expired"] and not vol["STD-VOL-20-01"]["expired"]
    assert date.fromisoformat(vol["STD-VOL-20-02"]["valid_until"]) == later - timedelta(days=15)
