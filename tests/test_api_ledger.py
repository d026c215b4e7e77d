"""The ledger through /api/v1 as an integrator drives it with a personal API token: the same rules,
files and audit rows as the pages, and bounded inputs (a big id, a NUL, a huge window → 400/404)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from conftest import run
from metrolab.audit.tables import AuditEvent
from metrolab.ledger import compliance
from metrolab.ledger.tables import LedgerInstrument, Licence, SelfCheck
from test_ledger import HEADER, compliant_station, customer, instrument, pdf_bytes, xlsx

TODAY = date.today()
BIG = 2147483648
EXAMPLES = {"credit_code": "91370303MA3DEMX01J", "apply_date": TODAY.isoformat()}


@pytest.fixture
def types(db):
    from metrolab.indicators.services import seed_instrument_types

    run(seed_instrument_types())


@pytest.fixture
def api_user(make_user, new_browser):
    """``api_user(*roles)`` → the user with the ``headers`` of a token made on their profile page."""

    def make(*roles: str) -> dict:
        user = make_user(*roles)
        page = new_browser().login(user).post("/me/tokens", data={"name": "集成"})
        token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
        return {**user, "headers": {"Authorization": f"Bearer {token}"}}

    return make


@pytest.fixture
def client(new_browser):
    return new_browser().client  # no session, no CSRF: only the token


def audited(action: str) -> int:
    return run(AuditEvent.count().where(AuditEvent.action == action))


def test_instruments_by_token_with_bounded_inputs(types, client, api_user):
    clerk = api_user("clerk")
    h = clerk["headers"]
    cid = customer()
    r = client.post(
        f"/api/v1/ledger/customers/{cid}/instruments",
        json={
            "instrument_type": "pressure_gauge",
            "serial": "T-1",
            "last_verified_on": "2026-06-10",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    assert r.json()["next_due_on"] == "2026-12-09" and audited("ledger.instrument_saved") == 1
    r = client.put(
        f"/api/v1/ledger/instruments/{iid}",
        json={"instrument_type": "pressure_gauge", "serial": "T-1", "status": "停用"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["status"] == "idle"
    assert run(LedgerInstrument.select().first())["status"] == "idle"
    bad = client.post(
        f"/api/v1/ledger/customers/{cid}/instruments", json={"nozzles": 65}, headers=h
    )
    assert bad.status_code == 400 and bad.json()["detail"]
    # the reproductions of issue 12: a window, an id and a text the database cannot hold
    assert client.get("/api/v1/ledger/due?within=99999999", headers=h).status_code == 400
    assert client.get("/api/v1/ledger/due?within=90", headers=h).json()["items"] == []
    for url in (
        f"/api/v1/ledger/instruments/{BIG}",
        f"/api/v1/ledger/customers/{BIG}/notice.xlsx",
        f"/api/v1/ledger?customer={BIG}",
        f"/ledger/instruments/{BIG}",
    ):
        assert client.get(url, headers=h).status_code in (400, 404), url
    r = client.put(f"/api/v1/ledger/instruments/{BIG}", json={}, headers=h)
    assert r.status_code in (400, 404)
    assert client.get("/api/v1/ledger/instruments/999999", headers=h).status_code == 404
    nul = client.get("/api/v1/ledger", params={"q": "a\x00b"}, headers=h)
    assert nul.status_code == 400 and nul.json()["detail"]
    assert client.get("/api/v1/ledger", params={"q": "T-"}, headers=h).json()["total"] == 1
    checker = api_user("checker")
    r = client.post(
        f"/api/v1/ledger/customers/{cid}/instruments", json={}, headers=checker["headers"]
    )
    assert r.status_code == 403


def test_downloads_are_the_pages_files(types, client, api_user):
    h = api_user("clerk")["headers"]
    cid, _ids = compliant_station()
    for url, kind in (
        ("/api/v1/ledger/export.xlsx", "xlsx"),
        (f"/api/v1/ledger/customers/{cid}/export.xlsx", "xlsx"),
        (f"/api/v1/ledger/customers/{cid}/notice.xlsx", "xlsx"),
        (f"/api/v1/ledger/customers/{cid}/station/equipment.xlsx", "xlsx"),
        ("/api/v1/ledger/import-template.xlsx", "xlsx"),
        ("/api/v1/ledger/export.csv", "csv"),
        (f"/api/v1/ledger/customers/{cid}/export.csv", "csv"),
        (f"/api/v1/ledger/customers/{cid}/station/equipment.docx", "docx"),
        (f"/api/v1/ledger/customers/{cid}/application.docx", "docx"),
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 200, (url, r.text)
        assert "attachment" in r.headers["content-disposition"]
        if kind == "xlsx":
            assert load_workbook(io.BytesIO(r.content)).active.max_row >= 1
        elif kind == "csv":
            assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) >= 2
        else:
            assert r.content.startswith(b"PK")
    page = client.get(f"/api/v1/ledger/customers/{cid}/export.csv", headers=h).content
    rows = list(csv.reader(io.StringIO(page.decode("utf-8-sig"))))
    assert any("D1" in row for row in rows)
    other = customer("某煤矿", "煤矿")
    r = client.get(f"/api/v1/ledger/customers/{other}/station/equipment.docx", headers=h)
    assert r.status_code == 409 and "加油站" in r.json()["detail"]


def test_import_in_one_step_with_dry_run(types, client, api_user):
    h = api_user("clerk")["headers"]
    cid = customer()
    good = xlsx(
        [HEADER, ["pressure_gauge", "", "Y-100", "P-1", "", "", "在用", "", "", "", "", ""]]
    )
    url = f"/api/v1/ledger/customers/{cid}/import"
    r = client.post(url, params={"dry_run": "true"}, files={"file": ("l.xlsx", good)}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 0 and len(r.json()["good"]) == 1
    assert run(LedgerInstrument.count()) == 0
    bad = xlsx(
        [
            HEADER,
            ["pressure_gauge", "", "", "P-2", "", "", "在用", "", "", "", "", ""],
            ["没有的类型", "", "", "P-3", "", "", "在用", "", "", "", "", ""],
        ]
    )
    r = client.post(url, files={"file": ("l.xlsx", bad)}, headers=h)
    assert r.status_code == 400 and "第" in r.json()["detail"] and r.json()["errors"]
    assert run(LedgerInstrument.count()) == 0
    r = client.post(url, files={"file": ("l.xlsx", good)}, headers=h)
    assert r.status_code == 200 and r.json()["imported"] == 1
    assert run(LedgerInstrument.count()) == 1 and audited("ledger.imported") == 1
    r = client.post(url, files={"file": ("l.xlsx", b"not a workbook")}, headers=h)
    assert r.status_code == 400 and r.json()["detail"]
    assert client.post(url, headers=h).status_code == 400


def test_dossier_rows_licence_scan_portal_and_sync(types, client, api_user):
    clerk = api_user("clerk")
    h = clerk["headers"]
    cid = customer()
    r = client.post(
        f"/api/v1/ledger/customers/{cid}/records/licences",
        json={"kind": "营业执照", "number": "L-9", "valid_until": "2030-01-01"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    scan_url = f"/api/v1/ledger/customers/{cid}/licences/{lid}/scan"
    r = client.post(scan_url, files={"scan": ("x.pdf", b"<html>", "application/pdf")}, headers=h)
    assert r.status_code == 400 and "PDF" in r.json()["detail"]
    r = client.post(scan_url, files={"scan": ("x.pdf", pdf_bytes(), "application/pdf")}, headers=h)
    assert r.status_code == 200 and r.json()["scan_type"] == "pdf"
    assert run(Licence.select().first())["scan_sha256"] == r.json()["scan_sha256"]
    assert audited("ledger.licence_scan") == 1
    r = client.post(
        f"/api/v1/ledger/customers/{cid}/records/licences", json={"number": "x\x00"}, headers=h
    )
    assert r.status_code == 400
    r = client.post(f"/api/v1/ledger/customers/{cid}/records/nope", json={}, headers=h)
    assert r.status_code == 404
    gone = client.delete(f"/api/v1/ledger/customers/{cid}/records/licences/{lid}", headers=h)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert run(Licence.count()) == 0 and audited("ledger.licences_deleted") == 1
    again = client.delete(f"/api/v1/ledger/customers/{cid}/records/licences/{lid}", headers=h)
    assert again.status_code == 404
    big = client.delete(f"/api/v1/ledger/customers/{cid}/records/licences/{BIG}", headers=h)
    assert big.status_code in (400, 404)
    checker = api_user("checker")["headers"]
    r = client.post(
        f"/api/v1/ledger/customers/{cid}/records/contracts",
        json={"number": "H", "signed_on": "2026-01-01", "amount": "1"},
        headers=checker,
    )
    assert r.status_code == 403 and r.json()["detail"]

    first = client.post(f"/api/v1/ledger/customers/{cid}/portal", headers=h).json()
    second = client.post(f"/api/v1/ledger/customers/{cid}/portal", headers=h).json()
    assert first["token"] != second["token"] and second["url"].endswith(second["token"])
    assert client.get(f"/portal/{first['token']}").status_code == 404
    assert client.get(f"/portal/{second['token']}").status_code == 200

    r = client.post("/api/v1/ledger/sync", headers=h)
    assert r.status_code == 200 and r.json() == {"certificates": 0}
    assert audited("ledger.synced") == 1


def test_self_check_and_application_by_json(types, client, api_user):
    h = api_user("clerk")["headers"]
    cid = customer()
    iid = instrument(cid, "fuel_dispenser", "SC-9", TODAY - timedelta(days=20), nozzles=1)
    data = {
        "check_date": TODAY.isoformat(),
        "dispenser": "SC-9",
        "checker": "李计量员",
        "nozzles": [{"nozzle_no": "1", "V_J": "20.00", "V_s": "19.980"}],
    }
    r = client.post(
        f"/api/v1/ledger/instruments/{iid}/self-check/compute", json={"data": data}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["nozzles"][0]["E"] == "0.10" and r.json()["problems"] == []
    month = compliance.previous_months(TODAY)[0]
    url = f"/api/v1/ledger/instruments/{iid}/self-check"
    bad = dict(data, nozzles=[{"nozzle_no": "1", "V_J": "20.00", "V_s": "abc"}])
    r = client.post(url, json={"month": month, "data": bad}, headers=h)
    assert r.status_code == 400 and r.json()["errors"] and run(SelfCheck.count()) == 0
    assert client.post(url, json={"month": "2026-13", "data": data}, headers=h).status_code == 400
    r = client.post(url, json={"month": month, "data": data}, headers=h)
    assert r.status_code == 201, r.text
    row = run(SelfCheck.select().output(load_json=True).first())
    assert row["id"] == r.json()["id"] and row["conclusion"] == "合格"
    assert audited("ledger.self_check") == 1
    gauge = instrument(cid, "pressure_gauge", "PG-1", None)
    r = client.post(
        f"/api/v1/ledger/instruments/{gauge}/self-check",
        json={"month": month, "data": data},
        headers=h,
    )
    assert r.status_code == 409 and "加油机" in r.json()["detail"]

    app_url = f"/api/v1/ledger/customers/{cid}/application"
    prefilled = client.get(app_url, headers=h).json()["data"]
    assert prefilled
    r = client.post(f"{app_url}/compute", json={"data": prefilled}, headers=h)
    assert r.status_code == 200 and "data" in r.json()
    r = client.put(app_url, json={"data": {}}, headers=h)
    assert r.status_code == 400 and r.json()["errors"]
    filled = dict(prefilled)
    for p in client.post(f"{app_url}/compute", json={"data": prefilled}, headers=h).json()[
        "problems"
    ]:
        if p["severity"] == "error" and "." not in p["path"]:
            filled[p["path"]] = EXAMPLES.get(p["path"], "测试")
    r = client.put(app_url, json={"data": filled}, headers=h)
    assert r.status_code == 200, r.text
    assert client.get(app_url, headers=h).json()["data"]["applicant"] == filled["applicant"]
    assert audited("ledger.application_saved") == 1
