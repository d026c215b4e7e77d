"""In Chromium, every form the server recomputes (htmx) keeps every character typed while the answer is on
its way: a person changes a select (or leaves a field), types at once without pause, saves, and every
character is in the saved data — the gas-station monthly self-check (per-nozzle 油品 then V_J/V_s), the
T/ZBMS 申请书 (邮政编码 then 总营业面积) and an original record."""

from __future__ import annotations

import json

import pytest

from conftest import run, ui_login

pytestmark = pytest.mark.browser


def _field(page, name: str):  # noqa: ANN001, ANN202
    return page.locator(f'[name="{name}"]')


def test_self_check_keeps_digits_typed_right_after_choosing_the_fuel(page, make_user):
    from metrolab.indicators.services import seed_instrument_types
    from metrolab.ledger.tables import SelfCheck
    from test_ledger import compliant_station

    run(seed_instrument_types())
    _cid, ids = compliant_station("淄博周村快打加油站")
    ui_login(page, make_user("clerk", full_name="孙业务"))
    page.goto(f"/ledger/instruments/{ids['D1']}/self-check")
    typed = [("20.00", "19.995"), ("20.05", "20.010"), ("19.98", "19.975"), ("20.10", "20.080")]
    for n, (v_j, v_s) in enumerate(typed):
        _field(page, f"nozzles.{n}.fuel").select_option("汽油")  # a compute request leaves now
        _field(page, f"nozzles.{n}.V_J").click()
        _field(page, f"nozzles.{n}.V_J").press_sequentially(v_j)
        _field(page, f"nozzles.{n}.V_s").click()  # leaving V_J posts again
        _field(page, f"nozzles.{n}.V_s").press_sequentially(v_s)
    _field(page, "checker").click()
    _field(page, "checker").press_sequentially("李计量员")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/ledger/self-checks/*")
    row = run(
        SelfCheck.select()
        .where(SelfCheck.instrument == ids["D1"])
        .order_by(SelfCheck.id, ascending=False)
        .first()
    )
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    saved = [(r.get("V_J"), r.get("V_s")) for r in data["nozzles"]]
    assert saved == typed
    assert [r.get("fuel") for r in data["nozzles"]] == ["汽油"] * 4
    assert data["checker"] == "李计量员"


def test_application_keeps_postcode_and_area_typed_while_the_server_computes(page, make_user):
    from metrolab.indicators.services import seed_instrument_types
    from metrolab.ledger.tables import Application
    from test_ledger import compliant_station

    run(seed_instrument_types())
    cid, _ids = compliant_station("淄博博山快打加油站")
    ui_login(page, make_user("clerk", full_name="孙业务"))
    page.goto(f"/ledger/customers/{cid}/application")
    for name, text in [
        ("legal_representative", "王法人"),
        ("contact", "李联系"),
        ("credit_code", "91370303MA3DEMX01J"),
        ("postcode", "255000"),
        ("area", "1200.5"),
        ("legal_phone", "0533-1234567"),
        ("contact_phone", "13800000000"),
        ("metrologists", "3"),
    ]:
        _field(page, name).click()  # leaving the previous field posts a compute
        _field(page, name).fill("")
        _field(page, name).press_sequentially(text)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/application?saved=1")
    row = run(Application.select().where(Application.customer == cid).first())
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    assert data["legal_representative"] == "王法人" and data["contact"] == "李联系"
    assert data["postcode"] == "255000"
    assert str(data["area"]) == "1200.5"
    assert data["legal_phone"] == "0533-1234567"
    assert data["contact_phone"] == "13800000000"
    assert str(data["metrologists"]) == "3"


def _new_fuel_record(page, make_user) -> int:  # noqa: ANN001
    import re

    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    run(Customer(name="淄博市张店区快打加油站", category="加油站").save())
    ui_login(page, make_user("verifier", full_name="王检定"))
    page.goto("/records/new")
    page.select_option("select[name=customer]", label="淄博市张店区快打加油站")
    page.select_option("select[name=instrument_type]", value="fuel_dispenser")
    page.click("form[action='/records'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/records/\d+/edit"))
    return int(page.url.split("/")[-2])


def _record_once_saved(record_id: int, saved, seconds: float = 10.0) -> dict:  # noqa: ANN001
    """The record as stored once `saved(record)` holds: the page's last save leaves with keepalive
    as the page goes, so it lands a moment later (longer on a busy SQLite); the record as it is if
    it never does, for the assertions to name what is missing."""
    import time

    from metrolab.records import services

    deadline = time.monotonic() + seconds
    while not saved(rec := run(services.get_record(record_id))) and time.monotonic() < deadline:
        time.sleep(0.1)
    return rec


def test_record_keeps_readings_typed_during_computes_and_autosaves_on_leaving(page, make_user):
    record_id = _new_fuel_record(page, make_user)
    run0 = "nozzles.0.items.indication.points.0.runs.0"
    for name, text in [
        (f"{run0}.V_J", "20.00"),
        (f"{run0}.V_s", "19995"),
        (f"{run0}.t_J", "24.5"),
        (f"{run0}.t_B", "24.0"),
    ]:
        _field(page, name).click()  # leaving the previous reading posts a compute
        _field(page, name).press_sequentially(text)
    _field(page, "serial").click()
    _field(page, "serial").press_sequentially("JY-2026-077")
    page.goto("/home")  # straight away: no pause for the timer, the field never left
    rec = _record_once_saved(record_id, lambda r: r["serial"] == "JY-2026-077")
    assert rec["serial"] == "JY-2026-077"
    runs = rec["data"]["nozzles"][0]["items"]["indication"]["points"][0]["runs"][0]
    assert (runs["V_J"], runs["V_s"], runs["t_J"], runs["t_B"]) == (
        "20.00",
        "19995",
        "24.5",
        "24.0",
    )
    page.goto(f"/records/{record_id}/edit")
    assert page.input_value("[name=serial]") == "JY-2026-077"
    assert page.input_value(f"[name='{run0}.V_J']") == "20.00"
