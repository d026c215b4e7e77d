"""Round once (GB/T 8170 §3, DESIGN.md): a computed field's ``round`` is for the reported value;
every later expression and aggregate uses the exact value; conformity is decided on the reported
value. Proved on the shipped JJG 443 fuel-dispenser form and on small definitions."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import run
from metrolab.engine.forms import compute, load_definition

ROOT = Path(__file__).resolve().parents[2]
FUEL_TYPE = json.loads((ROOT / "seed_data/instrument_types/fuel_dispenser.json").read_text("utf-8"))
FUEL_FORM = (ROOT / "form_schemas/fuel_dispenser_record.json").read_text("utf-8")

# Six runs of JJG 443 (gasoline β_Y = 0.0012/℃, carbon-steel measure β_B = 0.000033/℃, V_0 = 20 L),
# worked by hand at full precision:
#   V_B  = V_0 + V_s/1000
#   k    = 1 + β_Y(t_J − t_B) + β_B(t_B − 20)
#   V_Bt = V_B · k
#   E    = (V_J − V_Bt)/V_Bt × 100 %
#
# run   V_J    V_s  t_J   t_B   V_B     k          V_Bt (exact)    E exact %   E    old*
# Q1-1  20.00   0   18.0  16.0  20.000  1.0022680  20.0453600      −0.226287   −0.23  −0.22
# Q1-2  20.00   2   17.9  16.0  20.002  1.0021480  20.0449642960   −0.224317   −0.22  −0.22
# Q1-3  20.00   6   17.9  16.1  20.006  1.0020313  20.0466381878   −0.232648   −0.23  −0.23
# Q2-1  20.00  −6   17.8  16.0  19.994  1.0020280  20.0345478320   −0.172441   −0.17  −0.17
# Q2-2  20.00 −27   18.3  16.0  19.973  1.0026280  20.0254890440   −0.127283   −0.13  −0.12
# Q2-3  20.00   7   18.5  16.2  20.007  1.0026346  20.0597104422   −0.297664   −0.30  −0.30
#
# Q1-1: k = 1 + 0.0012×2.0 + 0.000033×(−4.0) = 1.002268; V_Bt = 20.000 × 1.002268 = 20.04536 L
#       (shown 20.045); E = −0.04536/20.04536 × 100 = −0.226287 % → −0.23 %. From the rounded
#       V_Bt: −0.045/20.045 × 100 = −0.224495 % → −0.22 % (* what the engine printed before).
# Q2-2: V_Bt 20.025489 (shown 20.025): E = −0.025489/20.025489 × 100 = −0.127283 % → −0.13 %;
#       from 20.025: −0.124844 % → −0.12 %.
# E_mean Q1 = (−0.226287 − 0.224317 − 0.232648)/3 = −0.227751 → −0.23 %
#        (mean of the rounded −0.22, −0.22, −0.23 = −0.223333 → −0.22 %)
# E_mean Q2 = (−0.172441 − 0.127283 − 0.297664)/3 = −0.199129 → −0.20 %
# E_rep  Q1 = (−0.224317 + 0.232648)/1.69 = 0.004930 → 0.00 %   (rounded E: 0.01/1.69 → 0.01 %)
# E_rep  Q2 = (−0.127283 + 0.297664)/1.69 = 0.100817 → 0.10 %   (rounded E: 0.18/1.69 = 0.1065 → 0.11 %)
# 示值误差 = maxabs(E_mean) = −0.23 % ≤ 0.30 % 合格; 重复性 0.10 % ≤ 0.10 % 合格 (double rounding:
# 0.11 % 不合格, so the whole dispenser would have been refused).
SIX_RUNS = {
    "Q1": [
        ("20.00", "0", "18.0", "16.0"),
        ("20.00", "2", "17.9", "16.0"),
        ("20.00", "6", "17.9", "16.1"),
    ],
    "Q2": [
        ("20.00", "-6", "17.8", "16.0"),
        ("20.00", "-27", "18.3", "16.0"),
        ("20.00", "7", "18.5", "16.2"),
    ],
}
#            V_Bt shown, V_Bt exact,       E shown, E exact (6 places)
EXPECTED = {
    "Q1": [
        ("20.045", "20.0453600", "-0.23", "-0.226287"),
        ("20.045", "20.0449642960", "-0.22", "-0.224317"),
        ("20.047", "20.0466381878", "-0.23", "-0.232648"),
    ],
    "Q2": [
        ("20.035", "20.0345478320", "-0.17", "-0.172441"),
        ("20.025", "20.0254890440", "-0.13", "-0.127283"),
        ("20.060", "20.0597104422", "-0.30", "-0.297664"),
    ],
}
POINT_SUMMARY = {  # E_mean shown, exact; E_rep shown, exact
    "Q1": ("-0.23", "-0.227751", "0.00", "0.004930"),
    "Q2": ("-0.20", "-0.199129", "0.10", "0.100817"),
}
RUNS = "nozzles.0.items.indication.points.{p}.runs.{r}.{key}"
POINT = "nozzles.0.items.indication.points.{p}.{key}"


def six(d: Decimal) -> str:
    return format(d.quantize(Decimal("0.000001")), "f")


@pytest.fixture(scope="module")
def fuel_form():
    return load_definition(FUEL_FORM, FUEL_TYPE)


def fuel_record() -> dict:
    points = [
        {"runs": [{"V_J": vj, "V_s": vs, "t_J": tj, "t_B": tb} for vj, vs, tj, tb in runs]}
        for runs in SIX_RUNS.values()
    ]
    return {
        "customer": "淄博市张店区示例加油站",
        "serial": "JY-2026-017",
        "verification_date": "2026-11-24",
        "fuel": "汽油",
        "material": "碳钢",
        "V_0": "20",
        "environment": {"temperature": "16.5", "humidity": "60"},
        "standards": ["STD-VOL-20-01"],
        "nozzles": [
            {
                "nozzle_no": "1",
                "items": {
                    "indication": {"points": points},
                    "payment": {"points": [{"P": "7.50", "V_J": "20.00", "J": "150.00"}]},
                    "self_lock": {"points": [{"outcome": "合格"}]},
                    "anti_cheat": {"points": [{"outcome": "合格"}]},
                    "seal": {"points": [{"outcome": "合格"}]},
                },
            }
        ],
    }


def test_jjg443_six_runs_keep_full_precision(fuel_form):
    result = compute(fuel_form, fuel_record(), FUEL_TYPE)
    assert result.problems == []
    indication = result.data["nozzles"][0]["items"]["indication"]
    for p, code in enumerate(SIX_RUNS):
        for r, (vbt, vbt_exact, e, e_exact) in enumerate(EXPECTED[code]):
            stored = indication["points"][p]["runs"][r]
            assert (stored["V_Bt"], stored["E"]) == (vbt, e), (code, r + 1)
            v_bt = result.values[RUNS.format(p=p, r=r, key="V_Bt")]
            assert (format(v_bt.reported, "f"), v_bt.exact) == (vbt, Decimal(vbt_exact))
            e_value = result.values[RUNS.format(p=p, r=r, key="E")]
            assert (format(e_value.reported, "f"), six(e_value.exact)) == (e, e_exact)
        mean, mean_exact, rep, rep_exact = POINT_SUMMARY[code]
        assert (indication["points"][p]["E_mean"], indication["points"][p]["E_rep"]) == (mean, rep)
        assert six(result.values[POINT.format(p=p, key="E_mean")].exact) == mean_exact
        assert six(result.values[POINT.format(p=p, key="E_rep")].exact) == rep_exact

    items = {i.code: i for i in result.items}
    assert (items["indication"].result, items["indication"].conclusion) == ("-0.23", "合格")
    assert (items["repeatability"].result, items["repeatability"].conclusion) == ("0.10", "合格")
    assert result.conclusion == "合格" and result.data["conclusion"] == "合格"
    exact = result.values["nozzles.0.items.repeatability.result"]
    assert (six(exact.exact), format(exact.reported, "f")) == ("0.100817", "0.10")


def test_the_issue_case_is_reported_as_minus_0_23(fuel_form):
    """V_Bt 20.04536 → exact E −0.2263 % → −0.23 % (the product printed −0.22 %)."""
    data = fuel_record()
    runs = data["nozzles"][0]["items"]["indication"]["points"][0]["runs"]
    runs[1:] = [dict(runs[0]), dict(runs[0])]
    result = compute(fuel_form, data, FUEL_TYPE)
    point = result.data["nozzles"][0]["items"]["indication"]["points"][0]
    assert [(r["V_Bt"], r["E"]) for r in point["runs"]] == [("20.045", "-0.23")] * 3
    assert point["E_mean"] == "-0.23"


# --- small definitions --------------------------------------------------------------------------


def small(*nodes) -> dict:
    return {
        "format": "metrolab.form/1",
        "key": "small",
        "kind": "other",
        "title": {"zh": "小表", "en": "Small"},
        "layout": list(nodes),
    }


def num(key: str) -> dict:
    return {"type": "field", "key": key, "control": "number", "label": {"zh": key}}


def calc(key: str, expression: str, step: str | None = None) -> dict:
    node = {"type": "computed", "key": key, "label": {"zh": key}, "expression": expression}
    return node | ({"round": step} if step else {})


def test_a_two_step_chain_uses_the_exact_intermediate():
    # a = 1/3 = 0.333… (shown 0.3); b = 3a = 1.000… → 1.0. Rounding a first would give 0.9.
    form = load_definition(small(num("x"), calc("a", "x / 3", "0.1"), calc("b", "a * 3", "0.1")))
    result = compute(form, {"x": "1"})
    assert (result.data["a"], result.data["b"]) == ("0.3", "1.0")
    assert result.values["a"].reported == Decimal("0.3")
    assert result.values["a"].exact == Decimal(1) / Decimal(3)
    # a computed field without `round` reports its exact value
    form = load_definition(small(num("x"), calc("a", "x / 4", "0.1"), calc("c", "a * 2")))
    assert compute(form, {"x": "1"}).data == {"x": "1", "a": "0.2", "c": "0.50"}


def test_an_aggregate_over_rows_uses_the_exact_values():
    # rows 0.05 / 0.15 / 0.25 halved: 0.025, 0.075, 0.125 → shown 0.02, 0.08, 0.12 (四舍六入五成双);
    # the mean of exact values 0.075 → 0.08; the mean of the shown ones would be 0.0733 → 0.07.
    table = {
        "type": "table",
        "key": "rows",
        "label": {"zh": "行"},
        "min_rows": 3,
        "columns": [num("r"), calc("h", "r / 2", "0.01")],
    }
    form = load_definition(small(table, calc("m", "mean(rows.h)", "0.01")))
    result = compute(form, {"rows": [{"r": "0.05"}, {"r": "0.15"}, {"r": "0.25"}]})
    assert [row["h"] for row in result.data["rows"]] == ["0.02", "0.08", "0.12"]
    assert result.data["m"] == "0.08"


def test_a_verdict_is_on_the_reported_value():
    # e = 0.9125/3 = 0.304166… shown 0.30: the record says 0.30 ≤ 0.30, so 合格 — a verdict on the
    # exact 0.304 would contradict the figure printed beside it.
    form = load_definition(
        small(
            num("x"),
            calc("e", "x / 3", "0.01"),
            {
                "type": "conclusion",
                "label": {"zh": "结论"},
                "expression": 'if(abs(e) <= 0.30, "合格", "不合格")',
            },
        )
    )
    result = compute(form, {"x": "0.9125"})
    assert result.data["e"] == "0.30" and result.conclusion == "合格"
    assert compute(form, {"x": "0.9151"}).conclusion == "不合格"  # 0.305 → 0.31


def test_an_item_conformity_reads_the_reported_result_and_points():
    catalogue = {
        "code": "probe",
        "name": {"zh": "探头"},
        "items": [
            {
                "code": "error",
                "name": {"zh": "示值误差"},
                "unit": "%",
                "mpe": "0.30",
                "rounding": "0.01",
                "conformity": "abs(result) <= mpe and max(points.q) <= 1",
                "points": [{"code": "P1", "params": {}}],
            }
        ],
    }
    form = load_definition(
        small(
            {
                "type": "indicator_table",
                "key": "items",
                "label": {"zh": "项目"},
                "catalogue": "probe",
                "point_columns": [
                    num("r"),
                    calc("e", "r / 3", "0.01"),
                    calc("q", "abs(e) / 0.3035", "0.01"),
                ],
                "item_result": "first(points.e)",
            }
        ),
        catalogue,
    )
    result = compute(form, {"items": {"error": {"points": [{"r": "0.9125"}]}}}, catalogue)
    (item,) = result.items
    # result exact 0.304166… reported 0.30 ≤ 0.30; q exact 1.0022 reported 1.00 ≤ 1
    assert (item.result, item.conclusion) == ("0.30", "合格")
    assert result.values["items.error.result"].exact > Decimal("0.30")


# --- through a saved record (real database) ------------------------------------------------------


def test_a_saved_record_stores_and_shows_the_reported_values(db, browser, make_user):
    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="淄博市张店区示例加油站", category="加油站")
    run(customer.save())
    browser.login(make_user("verifier", full_name="王检定"))
    rec = browser.post(
        "/api/v1/records",
        json={
            "customer": customer.id,
            "instrument_type": "fuel_dispenser",
            "verified_on": "2026-11-24",
        },
    ).json()
    r = browser.put(
        f"/api/v1/records/{rec['id']}",
        json={"header": {"customer": customer.id}, "data": fuel_record()},
    )
    assert r.status_code == 200, r.text
    saved = browser.get(f"/api/v1/records/{rec['id']}").json()
    assert saved["conclusion"] == "合格"
    points = saved["data"]["nozzles"][0]["items"]["indication"]["points"]
    assert [(run_["V_Bt"], run_["E"]) for run_ in points[0]["runs"]] == [
        ("20.045", "-0.23"),
        ("20.045", "-0.22"),
        ("20.047", "-0.23"),
    ]
    assert (points[0]["E_mean"], points[1]["E_rep"]) == ("-0.23", "0.10")
    assert saved["data"]["nozzles"][0]["items"]["repeatability"]["result"] == "0.10"
    page = browser.get(f"/records/{rec['id']}").text
    for path, shown in (
        ("points-0-runs-0-E", "-0.23"),
        ("points-0-runs-0-V_Bt", "20.045"),
        ("points-1-runs-1-E", "-0.13"),
        ("points-1-E_rep", "0.10"),
    ):
        assert re.search(
            rf'id="c-nozzles-0-items-indication-{path}"[^>]*>{re.escape(shown)}</output>', page
        ), path
