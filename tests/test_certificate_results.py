"""The 检定结果 page: for every shipped instrument type a realistic record, computed by the form engine on
the shipped form, gives rows whose 技术要求 is the limit that applies to THAT instrument (never a
formula) and whose 实测值 carries its unit and, for errors, its sign; the instrument's own range and
class reach the certificate; a type's range is validated. Real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import run
from metrolab.certificates import services as certs
from metrolab.certificates.results import MINUS
from metrolab.indicators import services as indicators

ROOT = Path(__file__).resolve().parents[1]
FORMULA = re.compile(r"[=×·]|[A-Za-z]\w*_\w+|\bMPE\b|\bpoints\b|\bresult\b|\bmpe\b")


@pytest.fixture
def lab(db):
    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="冀中能源峰峰集团有限公司大淑村矿", address="河北省邯郸市峰峰矿区")
    run(customer.save())
    return {"customer": customer.id}


# ── realistic readings, as a verifier types them ───────────────────────────────────────────────


def _head(**extra) -> dict:
    return {
        "customer": "冀中能源峰峰集团有限公司大淑村矿",
        "serial": "SN-2026-0417",
        "model": "XK-20",
        "manufacturer": "邯郸市恒安矿用仪器有限公司",
        "verification_date": "2026-11-24",
        "stage": "后续检定",
        "environment": {"temperature": "21.5", "humidity": "48"},
        "standards": [],
        **extra,
    }


def _gauge(p_max: str, accuracy: str, up: list[str], down: list[str], tap: str) -> dict:
    points = []
    for pct, u, d in zip((0, 25, 50, 75, 100), up, down, strict=True):
        std = Decimal(p_max) * pct / 100
        points.append(
            {
                "p_up": str(std + Decimal(u)),
                "p_down": str(std + Decimal(d)),
                "d_up": "0",
                "d_down": tap,
            }
        )
    return _head(
        p_min="0",
        p_max=p_max,
        p_unit="MPa",
        accuracy_class=accuracy,
        items={"indication": {"points": points}, "zero": {"points": [{"outcome": "合格"}]}},
    )


def _gas(stds: list[str], reads: list[list[str]], alarm: tuple[str], t_r: str) -> dict:
    return _head(
        items={
            "indication": {
                "points": [
                    {"c_std": s, "runs": [{"c": c} for c in r]}
                    for s, r in zip(stds, reads, strict=True)
                ]
            },
            "alarm": {"points": [{"c_alarm": alarm[0]}]},
            "response": {"points": [{"t_r": t_r}]},
        }
    )


def _run(v_s: str) -> dict:
    return {"V_J": "20.00", "V_s": v_s, "t_J": "24.0", "t_B": "24.0"}


RECORDS = {
    "pressure_gauge": _gauge(
        "1.6",
        "1.6",
        ["0", "0.010", "0.012", "-0.008", "0.005"],
        ["0", "0.015", "0.016", "-0.004", "0.005"],
        "0.004",
    ),
    "precision_pressure_gauge": _gauge(
        "1.6",
        "0.25",
        ["0", "0.001", "0.002", "-0.002", "0.001"],
        ["0", "0.002", "0.003", "-0.001", "0.001"],
        "0.001",
    ),
    "co_detector": _gas(
        ["50", "200", "400"],
        [["51", "52", "51"], ["203", "204", "202"], ["396", "395", "397"]],
        ("25",),
        "28",
    ),
    "methane_detector": _gas(
        ["0.50", "1.50", "3.50"],
        [["0.52", "0.53", "0.52"], ["1.46", "1.47", "1.45"], ["3.58", "3.60", "3.57"]],
        ("1.05",),
        "12",
    ),
    "dipstick": _head(
        items={
            "indication": {
                "points": [
                    {"d_std": s, "d_read": r}
                    for s, r in (
                        ("1000.0", "1000.6"),
                        ("5000.0", "4999.2"),
                        ("10000.0", "10001.1"),
                        ("15000.0", "14998.7"),
                    )
                ]
            },
            "sinker": {"points": [{"outcome": "合格"}]},
        }
    ),
    "fuel_dispenser": _head(
        fuel="汽油",
        material="不锈钢",
        V_0="20",
        nozzles=[
            {
                "nozzle_no": "1",
                "items": {
                    "indication": {
                        "points": [
                            {"runs": [_run("-40"), _run("-46"), _run("-42")]},
                            {"runs": [_run("-30"), _run("-35"), _run("-33")]},
                        ]
                    },
                    "payment": {"points": [{"P": "7.50", "V_J": "20.00", "J": "150.00"}]},
                    "self_lock": {"points": [{"outcome": "合格"}]},
                    "anti_cheat": {"points": [{"outcome": "合格"}]},
                    "seal": {"points": [{"outcome": "合格"}]},
                },
            }
        ],
    ),
    "level_gauge": _head(
        h_range="3000",
        items={
            "indication": {
                "points": [
                    {"h_std": "300.0", "h_read": "302.0"},
                    {"h_std": "1500.0", "h_read": "1497.0"},
                    {"h_std": "2700.0", "h_read": "2704.0"},
                ]
            }
        },
    ),
    "metering_tank": _head(
        V_nominal="30000",
        tank_no="1#",
        items={
            "capacity_uncertainty": {"points": [{"U_rel": "0.2"}]},
            "appearance": {"points": [{"outcome": "合格"}]},
        },
    ),
    "mine_anemometer": _head(
        items={
            "indication": {
                "points": [
                    {"v_std": "0.50", "v_read": "0.58"},
                    {"v_std": "2.00", "v_read": "2.12"},
                    {"v_std": "5.00", "v_read": "4.81"},
                    {"v_std": "10.00", "v_read": "10.21"},
                ]
            },
            "appearance": {"points": [{"outcome": "合格"}]},
        }
    ),
    "standard_metal_measure": _head(
        V_n="20",
        items={
            "volume": {"points": [{"runs": [{"V_20": "20.004"}, {"V_20": "20.006"}]}]},
            "scale": {"points": [{"outcome": "合格"}]},
        },
    ),
    "temperature_transmitter": _head(
        t_min="-20",
        t_max="80",
        items={
            "error": {
                "points": [{"I_out": v} for v in ("4.010", "8.006", "12.020", "15.990", "19.985")]
            }
        },
    ),
}


async def record_of(code: str, data: dict) -> tuple[dict, dict]:
    """(record, type): ``data`` computed by the form engine on the shipped form, type from the database."""
    from metrolab.engine.forms import compute, load_definition

    itype = await indicators.get_catalogue(code)
    form = json.loads((ROOT / "form_schemas" / f"{itype['record_form']}.json").read_text("utf-8"))
    result = compute(load_definition(form, catalogue=itype), copy.deepcopy(data), catalogue=itype)
    assert [p for p in result.problems if p.severity == "error"] == [], result.problems
    return {
        "data": result.data,
        "items": [dataclasses.asdict(i) for i in result.items],
        "conclusion": result.conclusion,
        "verified_on": date(2026, 11, 24),
        "serial": data["serial"],
        "model": data["model"],
        "manufacturer": data["manufacturer"],
    }, itype


def context_of(code: str, data: dict) -> dict:
    rec, itype = run(record_of(code, data))
    return certs.build_context(
        rec,
        customer=None,
        instrument_type=itype,
        people={},
        standards=[],
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )


def _limit(requirement: str) -> tuple[str, Decimal] | None:
    m = re.fullmatch(r"(±|≤ )(\d+(?:\.\d+)?)(?: \S+)?", requirement)
    return (m[1].strip(), Decimal(m[2])) if m else None


def _measured(measured: str) -> Decimal | None:
    m = re.match(rf"([+{MINUS}]?)(\d+(?:\.\d+)?)", measured)
    if not m:
        return None
    return -Decimal(m[2]) if m[1] == MINUS else Decimal(m[2])


@pytest.mark.parametrize("code", sorted(RECORDS))
def test_results_page_states_limits_units_and_signs(lab, code):
    ctx = context_of(code, RECORDS[code])
    itype = run(indicators.get_catalogue(code))
    units = {i["code"]: i.get("unit") for i in itype["items"]}
    rows = ctx["results"]
    assert len(rows) == len(itype["items"]) and ctx["conclusion"] == "合格", rows
    for row in rows:
        assert row["requirement"] and not FORMULA.search(row["requirement"]), row
        value = _measured(row["measured"])
        if value is None:  # a pass/fail item
            assert row["measured"] in ("合格", "不合格"), row
            continue
        assert "-" not in row["measured"], row  # one minus sign on the page: U+2212
        unit = next(u for c, u in units.items() if row["item"].endswith(_name(itype, c))) or "MPa"
        assert row["measured"].endswith(f" {unit}"), row
        limit = _limit(row["requirement"])
        if row["requirement"].startswith("±") or "：±" in row["requirement"]:  # an error: signed
            assert value == 0 or row["measured"][0] in "+" + MINUS, row
            assert row["requirement"].endswith(f" {unit}"), row
        elif limit:
            assert row["measured"][0] not in "+" + MINUS, row
        if limit:  # the printed figures tell the printed verdict
            ok = abs(value) <= limit[1] if limit[0] == "±" else value <= limit[1]
            assert ok == (row["conclusion"] == "合格"), row


def _name(itype: dict, code: str) -> str:
    return next(i["name"]["zh"] for i in itype["items"] if i["code"] == code)


def test_pressure_gauge_limits_follow_its_own_range_and_class(lab):
    ctx = context_of("pressure_gauge", RECORDS["pressure_gauge"])
    rows = {r["item"]: r for r in ctx["results"]}
    # 1.6 % × (1.6 − 0) MPa = 0.0256 MPa, stated as ±0.026 MPa; hysteresis ≤ |MPE|, tapping ≤ |MPE|/2
    assert [(r["requirement"], r["measured"], r["conclusion"]) for r in rows.values()] == [
        ("±0.026 MPa", "+0.016 MPa", "合格"),
        ("≤ 0.026 MPa", "0.005 MPa", "合格"),
        ("≤ 0.013 MPa", "0.004 MPa", "合格"),
        ("无压力时指针位于零位标志内（有止销的紧靠止销）", "合格", "合格"),
    ]
    assert (
        ctx["instrument"]["range"] == "(0～1.6) MPa" and ctx["instrument"]["accuracy"] == "1.6 级"
    )
    # another gauge of the same type: (0～0.6) MPa class 2.5 → ±0.015 MPa; kPa as recorded
    other = copy.deepcopy(RECORDS["pressure_gauge"]) | {
        "p_max": "60",
        "p_unit": "kPa",
        "accuracy_class": "2.5",
    }
    for point, pct in zip(
        other["items"]["indication"]["points"], (0, 25, 50, 75, 100), strict=True
    ):
        point.update(
            p_up=str(Decimal(60) * pct / 100 + Decimal("0.3")), p_down=str(Decimal(60) * pct / 100)
        )
    ctx = context_of("pressure_gauge", other)
    assert (
        ctx["results"][0]["requirement"] == "±1.5 kPa"
        and ctx["results"][0]["measured"] == "+0.3 kPa"
    )
    assert ctx["instrument"]["range"] == "(0～60) kPa" and ctx["instrument"]["accuracy"] == "2.5 级"


def test_a_rounded_limit_never_contradicts_the_verdict(lab):
    # tapping 0.013 MPa against |MPE|/2 = 0.0128 MPa is 不合格: "≤ 0.013 MPa" would say otherwise
    data = copy.deepcopy(RECORDS["pressure_gauge"])
    for point in data["items"]["indication"]["points"]:
        point["d_down"] = "0.013"
    tap = context_of("pressure_gauge", data)["results"][2]
    assert (tap["requirement"], tap["measured"], tap["conclusion"]) == (
        "≤ 0.0128 MPa",
        "0.013 MPa",
        "不合格",
    )


def test_limits_per_test_point_and_from_the_kind_of_verification(lab):
    rows = context_of("co_detector", RECORDS["co_detector"])["results"]
    assert rows[0]["requirement"] == (
        "50 μmol/mol：±5 μmol/mol；200 μmol/mol：±10 μmol/mol；400 μmol/mol：±20 μmol/mol"
    )
    assert rows[0]["measured"] == f"{MINUS}4.00 μmol/mol" and rows[2]["requirement"] == "≤ 60 s"
    wind = context_of("mine_anemometer", RECORDS["mine_anemometer"])["results"][0]["requirement"]
    assert wind == "0.5 m/s：±0.32 m/s；2 m/s：±0.36 m/s；5 m/s：±0.45 m/s；10 m/s：±0.60 m/s"
    later = context_of("dipstick", RECORDS["dipstick"])["results"][0]
    first = context_of("dipstick", RECORDS["dipstick"] | {"stage": "首次检定"})["results"][0]
    assert (later["requirement"], first["requirement"], later["measured"]) == (
        "±2.0 mm",
        "±1.5 mm",
        f"{MINUS}1.3 mm",
    )
    fuel = {
        r["item"].split()[-1]: r
        for r in context_of("fuel_dispenser", RECORDS["fuel_dispenser"])["results"]
    }
    assert (
        fuel["示值误差"]["requirement"] == "±0.30 %" and fuel["重复性"]["requirement"] == "≤ 0.10 %"
    )
    assert (
        fuel["付费金额误差"]["requirement"] == "±0.08 元"
        and fuel["付费金额误差"]["measured"] == "0.00 元"
    )


def test_the_instrument_range_and_class_on_the_certificate(lab):
    assert context_of("dipstick", RECORDS["dipstick"])["instrument"]["range"] == "(0～15) m"
    fuel = context_of("fuel_dispenser", RECORDS["fuel_dispenser"])["instrument"]
    assert (fuel["range"], fuel["accuracy"]) == ("(5～60) L/min", "0.3 级")
    # a type described, not measured ("按铭牌", "按罐容量表"): the cover states no range rather than the note
    assert context_of("metering_tank", RECORDS["metering_tank"])["instrument"]["range"] == ""
    # limits per test point or per stage are on the results page, not a class on the cover
    assert (
        context_of("methane_detector", RECORDS["methane_detector"])["instrument"]["accuracy"] == ""
    )
    transmitter = context_of("temperature_transmitter", RECORDS["temperature_transmitter"])[
        "instrument"
    ]
    assert transmitter["range"] == f"({MINUS}20～80) ℃"
    # a gauge whose record lacks them: blank, never "按铭牌" nor the type's "1.0/1.6/2.5/4.0 级"
    rec, itype = run(record_of("pressure_gauge", RECORDS["pressure_gauge"]))
    rec["data"] = {
        k: v for k, v in rec["data"].items() if k not in ("p_min", "p_max", "accuracy_class")
    }
    ctx = certs.build_context(
        rec,
        customer=None,
        instrument_type=itype,
        people={},
        standards=[],
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )
    assert ctx["instrument"]["range"] == "" and ctx["instrument"]["accuracy"] == ""


def test_a_saved_record_reaches_the_certificate_with_its_limits(lab, make_user):
    """Through the records service and the certificate's own path from a record (pinned form version)."""
    from metrolab.certificates.from_record import context_for_record
    from metrolab.records import services as records

    user = make_user("verifier", full_name="王检定")
    rec = run(
        records.create_record(
            user,
            customer_id=lab["customer"],
            instrument_type="pressure_gauge",
            verified_on=date(2026, 11, 24),
        )
    )
    data = RECORDS["pressure_gauge"] | {"standards": ["STD-PRS-06-01"]}
    outcome = run(records.save(rec["id"], {"customer": lab["customer"]}, data, user))
    assert outcome.saved, outcome.problems
    ctx, _row = run(context_for_record(rec["id"]))
    assert [r["requirement"] for r in ctx["results"][:3]] == [
        "±0.026 MPa",
        "≤ 0.026 MPa",
        "≤ 0.013 MPa",
    ]
    assert ctx["results"][0]["measured"] == "+0.016 MPa" and ctx["conclusion"] == "合格"
    assert (ctx["instrument"]["range"], ctx["instrument"]["accuracy"]) == ("(0～1.6) MPa", "1.6 级")


# ── a type's range is validated ───────────────────────────────────────────────────────────────


def _type(**range_) -> dict:
    base = json.loads((ROOT / "seed_data/instrument_types/dipstick.json").read_text("utf-8"))
    return base | {"code": "dipstick_range_test", "range": {"zh": "(0～15) m", "en": "", **range_}}


@pytest.mark.parametrize(
    ("range_", "place", "message"),
    [
        (
            {"lower": "15", "upper": "0", "unit": "m"},
            "range_upper",
            "测量范围上限（0）应大于下限（15）",
        ),
        (
            {"lower": "5", "upper": "5", "unit": "m"},
            "range_upper",
            "测量范围上限（5）应大于下限（5）",
        ),
        ({"lower": "零", "upper": "15", "unit": "m"}, "range_lower", "测量范围下限“零”应为数字"),
        ({"lower": "0", "upper": "15 m", "unit": "m"}, "range_upper", "测量范围上限“15 m”应为数字"),
        ({"lower": "0", "upper": "15"}, "range_unit", "测量范围有下限和上限时请填写单位"),
        ({"upper": "15", "unit": "m"}, "range_lower", "测量范围应同时填写下限和上限"),
    ],
)
def test_a_wrong_range_is_refused_by_the_service_and_the_api(
    lab, browser, make_user, range_, place, message
):
    with pytest.raises(indicators.Invalid) as info:
        run(indicators.save_type(_type(**range_), None, mode="create"))
    assert message in info.value.errors[place]
    browser.login(make_user("tech_manager"))
    r = browser.post("/api/v1/instrument-types", json=_type(**range_))
    assert r.status_code == 400 and message in r.json()["detail"], r.text
    assert run(indicators.get_catalogue("dipstick_range_test")) is None
    good = browser.post("/api/v1/instrument-types", json=_type(lower="0", upper="15", unit="m"))
    assert good.status_code == 201 and good.json()["range"] == {
        "zh": "(0～15) m",
        "en": "",
        "lower": "0",
        "upper": "15",
        "unit": "m",
    }


def test_record_fields_are_checked(lab):
    bad = _type() | {"record_fields": {"lower": "p min", "accuracy": "accuracy_class"}}
    with pytest.raises(indicators.Invalid) as info:
        run(indicators.save_type(bad, None, mode="create"))
    assert "字段名“p min”应以字母开头" in info.value.errors["record_lower"]
    assert "应同时指明下限和上限字段" in info.value.errors["record_upper"]
