"""Indicator database (指标库): seeders, catalogue shape, validation, pages, import/export, API."""

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import run
from metrolab.engine.forms import load_definition, validate_for_publish
from metrolab.engine.forms.model import parse_json
from metrolab.indicators import services
from metrolab.indicators.catalogue import check_type

ROOT = Path(__file__).resolve().parents[1]
TYPE_FILES = sorted((ROOT / "seed_data/instrument_types").glob("*.json"))
SEED_TYPES = {t["code"]: t for t in (parse_json(p.read_bytes()) for p in TYPE_FILES)}
SEED_STANDARDS = json.loads((ROOT / "seed_data/standards.json").read_text(encoding="utf-8"))


def _seed():
    run(services.seed_instrument_types())
    run(services.seed_standards())


@pytest.mark.parametrize("code", sorted(SEED_TYPES))
def test_shipped_type_is_already_normal(code):
    catalogue, problems = check_type(SEED_TYPES[code])
    assert problems == {}
    assert catalogue == SEED_TYPES[code]


def test_seeders_load_every_shipped_type_and_standard_without_overwriting_edits(db, make_user):
    from metrolab.indicators.tables import InstrumentType, Standard

    run(InstrumentType.delete(force=True))  # the session's seed_all ran them once already
    run(Standard.delete(force=True))
    assert len(SEED_TYPES) == 11
    assert run(services.seed_instrument_types()) == 11
    n_standards = len(SEED_STANDARDS["facilities"]) + len(SEED_STANDARDS["instruments"])
    assert run(services.seed_standards()) == n_standards
    assert {t["code"] for t in run(services.list_types())} == set(SEED_TYPES)
    codes = [s["code"] for s in SEED_STANDARDS["instruments"]]
    assert [s["code"] for s in run(services.get_standards(codes))] == codes
    # a lab's edit survives seeding again
    edited = dict(SEED_TYPES["dipstick"], cycle_months=6)
    run(services.save_type(edited, None, mode="update"))
    assert run(services.seed_instrument_types()) == 0 and run(services.seed_standards()) == 0
    assert run(services.get_catalogue("dipstick"))["cycle_months"] == 6


def test_get_catalogue_is_the_seed_shape_and_every_record_form_publishes_against_it(db):
    _seed()
    forms = {p.stem: p for p in (ROOT / "form_schemas").glob("*.json")}
    for code, shipped in SEED_TYPES.items():
        catalogue = run(services.get_catalogue(code))
        assert catalogue == shipped, code
        defn = load_definition(forms[catalogue["record_form"]].read_bytes(), catalogue)
        validate_for_publish(defn, catalogue)
    assert run(services.get_catalogue("no_such_type")) is None


def test_a_changed_item_is_checked_by_the_record_form(db):
    """The engine really uses what get_catalogue returns: an item rule naming an unknown reading fails."""
    from metrolab.engine.forms import DefinitionInvalid

    _seed()
    catalogue = run(services.get_catalogue("fuel_dispenser"))
    catalogue["items"][0]["conformity"] = "within(no_such_reading, mpe)"
    run(services.save_type(catalogue, None, mode="update"))
    stored = run(services.get_catalogue("fuel_dispenser"))
    defn = load_definition((ROOT / "form_schemas/fuel_dispenser_record.json").read_bytes())
    with pytest.raises(DefinitionInvalid):
        validate_for_publish(defn, stored)


def test_standards_for_picker_and_expiry(db):
    _seed()
    today = date(2026, 11, 24)
    picker = {s["code"]: s for s in run(services.standards_for_picker(today))}
    assert picker["STD-VOL-20-02"]["expired"] is True and picker["STD-VOL-20-01"]["expired"] is False
    assert picker["STD-VOL-20-01"]["valid_until"] == "2027-03-14" and "STD-VOL-20-01" in picker["STD-VOL-20-01"]["label"]
    for_gauges = {s["code"] for s in run(services.standards_for_picker(today, "pressure_gauge"))}
    assert "STD-PRS-06-01" in for_gauges and "STD-VOL-20-01" not in for_gauges
    got = run(services.get_standards(["STD-VOL-20-01"]))[0]
    assert got["valid_until"] == date(2027, 3, 14) and got["kind"] == "instrument"
    assert got["uncertainty"] == "二等，MPE ±0.025 %" and got["measuring_range"] == "20 L"
    assert got["facility"] == "FAC-VOL-01"
    warnings = run(services.expiring_standards(60, today=today))
    status = {s["code"]: s["status"] for s in warnings}
    assert status == {"STD-VOL-20-02": "expired", "FAC-GAS-01": "expired", "STD-GAS-CH4-01": "expired",
                      "STD-THM-01": "expiring"}
    assert [s["code"] for s in warnings][0] == "STD-VOL-20-02"  # soonest first
    assert run(services.expiring_standards(0, today=date(2026, 1, 1))) == []
