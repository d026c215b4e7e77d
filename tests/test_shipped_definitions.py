"""Shipped data is tested like code: every form publishes, every instrument type names its source."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from metrolab.engine.forms import compute, load_definition, sample_data, validate_for_publish
from metrolab.engine.forms.model import parse_json

ROOT = Path(__file__).resolve().parents[1]
FORM_FILES = sorted((ROOT / "form_schemas").glob("*.json"))
TYPE_FILES = sorted((ROOT / "seed_data/instrument_types").glob("*.json"))
TYPES = {t["code"]: t for t in (parse_json(p.read_bytes()) for p in TYPE_FILES)}
FORMS = {p.stem: p for p in FORM_FILES}


def test_there_is_something_to_test():
    assert len(FORM_FILES) >= 12 and len(TYPE_FILES) >= 11
    assert "entrustment" in FORMS


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_form_publishes_against_its_catalogue(path):
    defn = load_definition(path.read_bytes())
    assert defn.key == path.stem
    if defn.kind == "record":
        assert defn.catalogue in TYPES, f"{path.name}: catalogue {defn.catalogue} missing"
        assert TYPES[defn.catalogue]["record_form"] == defn.key
    validate_for_publish(defn, TYPES.get(defn.catalogue))


RECORD_FORMS = [
    p for p in FORM_FILES if json.loads(p.read_text(encoding="utf-8")).get("kind") == "record"
]


@pytest.mark.parametrize("path", RECORD_FORMS, ids=lambda p: p.stem)
def test_record_form_sample_computes_a_conclusion(path):
    defn = load_definition(path.read_bytes())
    catalogue = TYPES[defn.catalogue]
    result = compute(defn, sample_data(defn, catalogue), catalogue)
    assert result.problems == []
    assert result.conclusion in ("合格", "不合格")
    assert {item.code for item in result.items} == {i["code"] for i in catalogue["items"]}


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_instrument_type_is_complete_and_sourced(path):
    from metrolab.engine.expressions import compile_expression

    t = parse_json(path.read_bytes())
    assert t["code"] == path.stem
    for key in (
        "name",
        "category",
        "range",
        "accuracy",
        "mpe",
        "regulation",
        "cycle_months",
        "compulsory",
        "environment",
        "record_form",
        "certificate_template",
        "items",
        "source",
    ):
        assert key in t, f"{path.name}: missing {key}"
    assert t["name"]["zh"] and t["name"]["en"] and t["source"]
    assert {"code", "edition", "name"} <= set(t["regulation"])
    assert isinstance(t["cycle_months"], int) and isinstance(t["compulsory"], bool)
    assert t["environment"]["mode"] in ("error", "warn")
    assert t["record_form"] in FORMS, f"{path.name}: record form {t['record_form']} not shipped"
    codes = [item["code"] for item in t["items"]]
    assert codes and len(codes) == len(set(codes))
    for item in t["items"]:
        assert item.get("source"), f"{path.name}: item {item['code']} names no source"
        assert item["name"]["zh"]
        if item.get("conformity"):
            compile_expression(item["conformity"])
        if item.get("to_be_confirmed"):
            assert item.get("note"), f"{path.name}: item {item['code']} unconfirmed without a note"
        point_codes = [p["code"] for p in item["points"]]
        assert len(point_codes) == len(set(point_codes))
    if t.get("to_be_confirmed"):
        assert t.get("note")


@pytest.mark.parametrize(
    ("code", "mpe", "cycle", "compulsory"),
    [
        ("fuel_dispenser", "±0.30 %", 6, True),
        ("metering_tank", "U≤0.4 %（k=2）", 48, False),
        ("standard_metal_measure", "±0.05 %", 24, False),
        ("dipstick", "首检 ±1.5 mm；使用中 ±2.0 mm", 12, False),
        ("temperature_transmitter", "±0.5 %（量程）", 12, False),
        ("level_gauge", "±0.5 %（满量程）", 12, False),
    ],
)
def test_table_1_of_t_zbms_005(code, mpe, cycle, compulsory):
    t = TYPES[code]
    assert (t["mpe"], t["cycle_months"], t["compulsory"]) == (mpe, cycle, compulsory)
    assert "T/ZBMS 005" in t["source"]


def test_fuel_dispenser_items_follow_jjg_443():
    t = TYPES["fuel_dispenser"]
    assert t["regulation"] == {"code": "JJG 443", "edition": "2023", "name": "燃油加油机检定规程"}
    items = {i["code"]: i for i in t["items"]}
    assert items["indication"]["mpe"] == "0.30"
    assert [p["code"] for p in items["indication"]["points"]] == ["Q1", "Q2"]
    assert all(p["params"]["runs"] == 3 for p in items["indication"]["points"])
    assert items["repeatability"]["mpe"] == "0.10"
    assert {"payment", "self_lock", "anti_cheat", "seal"} <= set(items)


def test_standards():
    data = parse_json((ROOT / "seed_data/standards.json").read_bytes())
    today = datetime.date.today().isoformat()
    instruments = {s["code"]: s for s in data["instruments"]}
    expired = [s for s in data["instruments"] if s["valid_until"] < today]
    valid = [s for s in data["instruments"] if s["valid_until"] >= today]
    assert expired and valid
    for std in [*data["instruments"], *data["facilities"]]:
        datetime.date.fromisoformat(std["valid_until"])
        assert std["certificate_no"] and std["name"]["zh"]
        assert set(std["for_types"]) <= set(TYPES), std["code"]
    for facility in data["facilities"]:
        assert set(facility["instruments"]) <= set(instruments)


def _credit_code_ok(code: str) -> bool:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    if len(code) != 18 or any(c not in chars for c in code):
        return False
    total = sum(chars.index(c) * w for c, w in zip(code[:17], weights, strict=True))
    return chars[(31 - total % 31) % 31] == code[17]


def test_demo_lab():
    data = parse_json((ROOT / "seed_data/demo_lab.json").read_bytes())
    kinds = {c["kind"] for c in data["customers"]}
    assert kinds == {"gas_station", "coal_mine"}
    serials = set()
    for customer in data["customers"]:
        assert _credit_code_ok(customer["credit_code"]), customer["credit_code"]
        assert customer["address"] and customer["contact"] and customer["phone"]
        for inst in customer["instruments"]:
            assert inst["type"] in TYPES
            assert inst["serial"] not in serials
            serials.add(inst["serial"])
            assert inst["last_verified"] < inst["next_due"]
    assert not _credit_code_ok("91370303MA3DEMX01A")


def test_every_seed_file_is_strict_json():
    for path in [*FORM_FILES, *TYPE_FILES, *sorted((ROOT / "seed_data").glob("*.json"))]:
        parse_json(path.read_bytes())  # raises on duplicate keys
    assert (
        json.loads((ROOT / "form_schemas/entrustment.json").read_text("utf-8"))["kind"]
        == "entrustment"
    )


def _gauge_record(up: str, down: str, tap: str) -> dict:
    from decimal import Decimal

    points = []
    for pct in (0, 25, 50, 75, 100):
        p_std = Decimal("1.6") * pct / 100
        points.append(
            {
                "p_up": str(p_std + Decimal(up)),
                "p_down": str(p_std + Decimal(down)),
                "d_up": "0",
                "d_down": tap,
            }
        )
    return {
        "customer": "示范煤矿",
        "serial": "YB-1",
        "verification_date": "2026-11-24",
        "stage": "后续检定",
        "p_min": "0",
        "p_max": "1.6",
        "p_unit": "MPa",
        "accuracy_class": "1.6",
        "standards": ["STD-PRS-06-01"],
        "items": {"indication": {"points": points}, "zero": {"points": [{"outcome": "合格"}]}},
    }


@pytest.mark.parametrize(
    ("up", "down", "tap", "expected"),
    [
        # class 1.6, span 1.6 MPa: |MPE| = 0.0256 MPa; hysteresis ≤ 0.0256; tapping ≤ 0.0128
        ("0.020", "0.025", "0.012", {"indication": "合格", "hysteresis": "合格", "tap": "合格"}),
        ("0.020", "0.030", "0.012", {"indication": "不合格", "hysteresis": "合格", "tap": "合格"}),
        (
            "-0.015",
            "0.015",
            "0.013",
            {"indication": "合格", "hysteresis": "不合格", "tap": "不合格"},
        ),
    ],
)
def test_pressure_gauge_rules_of_jjg_52(up, down, tap, expected):
    defn = load_definition((ROOT / "form_schemas/pressure_gauge_record.json").read_bytes())
    catalogue = TYPES["pressure_gauge"]
    result = compute(defn, _gauge_record(up, down, tap), catalogue)
    assert result.data["mpe_abs"] == "0.0256"
    got = {i.code: i.conclusion for i in result.items if i.code != "zero"}
    assert got == expected
    assert result.conclusion == ("合格" if set(expected.values()) == {"合格"} else "不合格")


def test_catalogue_rules_are_checked_against_the_form():
    import copy

    from metrolab.engine.forms import DefinitionInvalid

    raw = parse_json((ROOT / "form_schemas/pressure_gauge_record.json").read_bytes())
    header = raw["layout"][0]["children"][0]["columns"][1]
    header[:] = [n for n in header if n.get("key") != "mpe_abs"]
    defn = load_definition(raw)
    with pytest.raises(DefinitionInvalid) as info:
        validate_for_publish(defn, copy.deepcopy(TYPES["pressure_gauge"]))
    assert "mpe_abs" in str(info.value)
