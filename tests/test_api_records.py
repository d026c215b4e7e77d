"""The records API as an integrator (the bench PC) uses it with a personal token: create a draft,
compute, autosave, save, revise with a reason — the page's rules and audit rows; bounded inputs."""

from __future__ import annotations

import pytest

from api_client import audit_rows, integrator
from conftest import run
from test_records import DATE, fuel_data


@pytest.fixture
def lab(db):
    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="淄博市张店区示例加油站", category="加油站")
    run(customer.save())
    return {"customer": customer.id}


def _draft(api, lab) -> dict:
    r = api.post(
        "/api/v1/records",
        json={
            "customer": lab["customer"],
            "instrument_type": "fuel_dispenser",
            "verified_on": DATE,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_draft_compute_autosave_save_and_revise(lab, new_browser, make_user):
    from metrolab.records import services

    verifier = make_user("verifier", full_name="王检定")
    api = integrator(new_browser, verifier)
    rec = _draft(api, lab)
    assert rec["status"] == "draft" and audit_rows("record.created", rec["id"])
    data = fuel_data([-20] * 3, [-20] * 3)

    computed = api.post(f"/api/v1/records/{rec['id']}/compute", json={"data": data})
    assert computed.status_code == 200, computed.text
    assert computed.json()["conclusion"] == "合格"

    half = fuel_data([-70], [])
    saved = api.post(
        f"/api/v1/records/{rec['id']}/autosave",
        json={"data": half, "header": {"customer": lab["customer"]}},
    )
    assert saved.status_code == 200 and saved.json()["status"] == "draft", saved.text
    kept = run(services.get_record(rec["id"]))["data"]
    assert kept["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]["E"] == "0.33"

    first = api.put(
        f"/api/v1/records/{rec['id']}", json={"header": {"customer": lab["customer"]}, "data": data}
    )
    assert first.status_code == 200, first.text
    assert first.json()["record"]["status"] == "saved"
    assert audit_rows("record.saved", rec["id"])
    late = api.post(f"/api/v1/records/{rec['id']}/autosave", json={"data": data})
    assert late.status_code == 409 and "修改原因" in late.json()["detail"]

    data["V_0"] = "20.0"
    data["model"] = "CS48"
    no_reason = api.put(f"/api/v1/records/{rec['id']}", json={"data": data})
    assert no_reason.status_code == 400 and "修改原因" in no_reason.json()["detail"]
    revised = api.put(f"/api/v1/records/{rec['id']}", json={"data": data, "reason": "型号抄错"})
    assert revised.status_code == 200 and revised.json()["revision"]["seq"] == 2, revised.text
    assert audit_rows("record.revised", rec["id"])[0]["details"]["reason"] == "型号抄错"
    assert len(api.get(f"/api/v1/records/{rec['id']}/revisions").json()) == 2
    mine = api.get("/api/v1/records?mine=true").json()
    assert [r["id"] for r in mine["items"]] == [rec["id"]]
    assert (mine["total"], mine["total_capped"], mine["pages"], mine["page"]) == (1, False, 1, 1)


def test_api_autosaves_arriving_out_of_order_keep_the_latest(lab, new_browser, make_user):
    from metrolab.records import services

    api = integrator(new_browser, make_user("verifier", full_name="王检定"))
    rec = _draft(api, lab)
    url = f"/api/v1/records/{rec['id']}/autosave"
    later = {**fuel_data([-70], []), "serial": "JY-2026-077"}
    earlier = {**fuel_data([-20], []), "serial": ""}
    assert api.post(url, json={"data": later, "page": "0a1b", "seq": 2}).status_code == 200
    late = api.post(url, json={"data": earlier, "page": "0a1b", "seq": 1})
    assert late.status_code == 200 and late.json()["serial"] == "JY-2026-077", late.text
    assert api.post(url, json={"data": earlier}).status_code == 200  # no order given: it is kept
    assert run(services.get_record(rec["id"]))["serial"] == ""
    for bad in [{"page": "0a1b", "seq": 0}, {"page": "x" * 33, "seq": 1}, {"seq": 2**31}]:
        assert api.post(url, json={"data": later, **bad}).status_code == 400, bad


def test_only_the_records_verifier_changes_it(lab, new_browser, make_user):
    api = integrator(new_browser, make_user("verifier"))
    rec = _draft(api, lab)
    stranger = integrator(new_browser, make_user("verifier"))
    data = fuel_data([-20] * 3, [-20] * 3)
    for method, url in (
        ("POST", f"/api/v1/records/{rec['id']}/autosave"),
        ("PUT", f"/api/v1/records/{rec['id']}"),
    ):
        r = stranger.request(method, url, json={"data": data})
        assert r.status_code == 403 and "只有该记录的检定员" in r.json()["detail"]
    clerk = integrator(new_browser, make_user("clerk"))
    assert clerk.post(f"/api/v1/records/{rec['id']}/compute", json={"data": {}}).status_code == 403


def test_bad_input_is_a_400_or_404_never_a_500(lab, new_browser, make_user):
    api = integrator(new_browser, make_user("verifier"))
    for url in (
        "/api/v1/records/2147483648/compute",
        "/api/v1/records/2147483648/autosave",
    ):
        r = api.post(url, json={"data": {}})
        assert r.status_code == 400 and r.json()["errors"], r.text
    assert api.get("/api/v1/records/2147483648").status_code == 400
    assert api.post("/api/v1/records/999999/compute", json={"data": {}}).status_code == 404
    assert api.get("/api/v1/records?q=%00").status_code == 400
    assert api.get("/api/v1/records?status=lost").status_code == 400
    unknown = api.post(
        "/api/v1/records",
        json={"customer": lab["customer"], "instrument_type": "no_such_type"},
    )
    assert unknown.status_code == 400 and "不存在" in unknown.json()["detail"]
    huge = api.post(
        "/api/v1/records",
        json={"customer": 2147483648, "instrument_type": "fuel_dispenser"},
    )
    assert huge.status_code == 400
    rec = _draft(api, lab)
    too_long = api.put(f"/api/v1/records/{rec['id']}", json={"data": {}, "reason": "因" * 20_001})
    assert too_long.status_code == 400
