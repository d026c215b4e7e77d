"""Uncertainty budgets as data (metrolab.engine.uncertainty): published worked examples
reproduced from a budget *definition* (JSON data, checked as an instrument type's item would be),
never from a hand-written function; and the checks that refuse bad definitions by place."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from metrolab.engine.uncertainty import check_budget, evaluate_budget, significant
from metrolab.indicators.catalogue import check_type

# GUM (JCGM 100:2008) Annex H.1 "End-gauge calibration", Table H.1 and H.1.6. The model is
# l = l_s + d − l_s(δα·θ + α_s·δθ) with d = d̄ + d₁ + d₂ and θ = θ̄ + Δ (lengths in nm, θ in °C).
GUM_H1 = json.loads(
    """{
  "model": "l_s + d + d_1 + d_2 - l_s * (delta_alpha * (theta_bar + Delta) + alpha_s * delta_theta)",
  "unit": "nm",
  "inputs": [
    {"name": "l_s", "label": {"zh": "标准量块长度"}, "type": "B", "value": "50000623", "standard": true},
    {"name": "d", "label": {"zh": "长度差观测平均值"}, "type": "A", "value": "215", "u": "5.8", "dof": "24"},
    {"name": "d_1", "label": {"zh": "比较仪随机效应"}, "type": "A", "value": "0", "u": "3.9", "dof": "5"},
    {"name": "d_2", "label": {"zh": "比较仪系统效应"}, "type": "B", "value": "0", "u": "6.7", "dof": "8"},
    {"name": "alpha_s", "type": "B", "value": "11.5E-6", "distribution": "rectangular", "half_width": "2E-6"},
    {"name": "theta_bar", "type": "B", "value": "-0.1", "u": "0.2"},
    {"name": "Delta", "type": "B", "value": "0", "distribution": "arcsine", "half_width": "0.5"},
    {"name": "delta_alpha", "type": "B", "value": "0", "distribution": "rectangular", "half_width": "1E-6", "dof": "50"},
    {"name": "delta_theta", "type": "B", "value": "0", "distribution": "rectangular", "half_width": "0.05", "dof": "2"}
  ],
  "coverage": {"p": "99"}
}"""
)
# H.1.3.1: the standard's calibration certificate gives U = 0.075 µm, k = 3, ν_eff = 18.
GUM_STANDARD = {"code": "GB-1", "calibration": {"U": "75", "k": "3", "dof": "18", "unit": "nm"}}


def _as_instrument_type(budget: dict) -> dict:
    """The budget on an item of an otherwise ordinary type, as a type file would carry it."""
    return {
        "code": "end_gauge",
        "name": {"zh": "量块", "en": "Gauge block"},
        "category": "长度",
        "model": "",
        "manufacturer": "",
        "range": {"zh": "50 mm", "en": "50 mm"},
        "accuracy": "",
        "mpe": "",
        "regulation": {"code": "JJG 146", "edition": "2011", "name": "量块"},
        "cycle_months": 12,
        "compulsory": False,
        "environment": {},
        "record_form": "",
        "certificate_template": "",
        "notice_template": "",
        "decision_rule": "simple",
        "items": [
            {
                "code": "length",
                "name": {"zh": "长度", "en": "Length"},
                "requirement": {"zh": "", "en": ""},
                "unit": "nm",
                "mpe": None,
                "resolution": None,
                "rounding": None,
                "conformity": "result",
                "points": [],
                "uncertainty": budget,
                "source": "GUM H.1",
            }
        ],
        "source": "GUM H.1",
    }


def test_gum_h1_end_gauge_from_a_budget_definition():
    """GUM (JCGM 100:2008) Annex H.1, end-gauge calibration: l = 50.000 838 mm, u_c = 32 nm,
    ν_eff = 16 (16.7 truncated, G.6.4), k = t₉₉(16) = 2.92, U₉₉ = 93 nm (H.1.6). The first-order
    sensitivity to α_s and θ is zero (δθ = δα = 0), as Table H.1 shows."""
    catalogue, problems = check_type(_as_instrument_type(GUM_H1))
    assert problems == {}
    budget = evaluate_budget(catalogue["items"][0]["uncertainty"], {}, [GUM_STANDARD])
    assert budget.problem is None
    assert budget.u_c_reported == Decimal("32")
    assert budget.nu_eff == 16
    assert budget.k == Decimal("2.92")
    assert Decimal("93") == budget.U
    assert budget.y_reported == Decimal("50000838")
    rows = {c.name: c for c in budget.components}
    assert rows["l_s"].u == Decimal("25") and rows["l_s"].dof == Decimal("18")
    assert round(rows["delta_alpha"].contribution, 1) == Decimal("2.9")
    assert round(rows["delta_theta"].contribution, 1) == Decimal("16.6")
    assert round(rows["delta_theta"].c) == Decimal("-575")
    assert rows["alpha_s"].contribution == 0 and rows["theta_bar"].contribution == 0
    assert budget.as_dict() == {"U": "93", "k": "2.92", "unit": "nm"}


# EA-4/02 M:2013 (Evaluation of the Uncertainty of Measurement in Calibration), Supplement 1,
# example S2 "Calibration of a weight of nominal value 10 kg" (the approach JJF 1059.1-2012
# follows: fixed k = 2). Masses in g.
EA_S2 = {
    "model": "m_s + d_D + d_m + d_C + d_B",
    "unit": "g",
    "inputs": [
        {"name": "m_s", "label": {"zh": "标准砝码"}, "type": "B", "value": "10000.005",
         "U": "0.045", "k": "2"},
        {"name": "d_D", "label": {"zh": "标准砝码漂移"}, "type": "B", "value": "0",
         "distribution": "rectangular", "half_width": "0.015"},
        {"name": "d_m", "label": {"zh": "观测差（合并样本标准差 25 mg，3 次）"}, "type": "A",
         "value": "0.020", "u": "0.025 / sqrt(3)"},
        {"name": "d_C", "label": {"zh": "天平偏心与磁效应"}, "type": "B", "value": "0",
         "distribution": "rectangular", "half_width": "0.010"},
        {"name": "d_B", "label": {"zh": "空气浮力"}, "type": "B", "value": "0",
         "distribution": "rectangular", "half_width": "0.010"},
    ],
    "coverage": {"k": "2"},
}  # fmt: skip


def test_ea_4_02_s2_weight_calibration():
    """EA-4/02 M:2013 S2: m_X = 10 000.025 g, u(m_X) = 29.3 mg, U = 2 × 29.3 mg = 59 mg, reported
    (10 000.025 ± 0.059) g."""
    assert check_budget(EA_S2, "S2", "u") == {}
    budget = evaluate_budget(EA_S2, {}, [])
    assert budget.problem is None
    assert significant(budget.u_c, 3) == Decimal("0.0293")
    assert Decimal("0.059") == budget.U and budget.k == Decimal("2")
    assert budget.y_reported == Decimal("10000.025")
    assert budget.nu_eff is None  # every component with ν = ∞
    assert [str(r["u"]) for r in budget.table()["rows"]] == [
        "0.0225",
        "0.00866",
        "0.0144",
        "0.00577",
        "0.00577",
    ]


def test_type_a_from_the_record_readings_and_a_relative_certificate():
    """Type A from a list of readings (mean, s/√n, ν = n − 1) and Type B from a standard whose
    certificate states U_rel = 2 % (k = 2); k from ν_eff at 95 %."""
    defn = {
        "model": "c_bar - c_s",
        "inputs": [
            {"name": "c_bar", "type": "A", "readings": "runs.c"},
            {"name": "c_s", "type": "B", "value": "c_std", "standard": "甲烷浓度"},
        ],
        "coverage": {"p": "95"},
    }
    env = {
        "runs": [{"c": Decimal("1.52")}, {"c": Decimal("1.55")}, {"c": Decimal("1.53")}],
        "c_std": Decimal("1.50"),
        "unit": "%CH₄",
    }
    standards = [
        {"code": "T", "calibration": {"U": "0.1", "k": "2", "quantity": "温度"}},
        {
            "code": "G",
            "calibration": {"U": "2", "k": "2", "relative": True, "quantity": "甲烷浓度"},
        },
    ]
    b = evaluate_budget(defn, env, standards)
    assert b.problem is None
    a, s = b.components
    assert a.dof == 2 and round(a.value, 4) == Decimal("1.5333")
    assert significant(a.u) == Decimal("0.0088")  # s = 0.01528, /√3
    assert s.u == Decimal("0.015") and s.c == Decimal("-1") and s.dof is None
    # ν_eff = u_c⁴ / (u_A⁴ / 2) = 0.01739⁴ / (0.00882⁴ / 2) = 30.2 → 30, t₉₅(30) = 2.04
    assert b.nu_eff == 30 and b.k == Decimal("2.04")
    assert Decimal("0.035") == b.U and b.unit == "%CH₄"
    assert b.y_reported == Decimal("0.033")


def test_missing_data_is_a_problem_not_an_error():
    defn = {
        "model": "c_bar - c_s",
        "inputs": [
            {"name": "c_bar", "type": "A", "readings": "runs.c"},
            {"name": "c_s", "type": "B", "value": "c_std", "standard": True},
        ],
    }
    env = {"runs": [{"c": Decimal("1.52")}, {"c": None}], "c_std": Decimal("1.5")}
    assert "读数不足 2 个" in (evaluate_budget(defn, env, []).problem or "")
    env["runs"].append({"c": Decimal("1.50")})
    assert "没有给出证书 U 和 k" in (evaluate_budget(defn, env, []).problem or "")


def test_significant_rounds_once_per_gb_8170():
    assert significant(Decimal("31.66")) == Decimal("32")
    assert significant(Decimal("0.01653")) == Decimal("0.017")
    assert significant(Decimal("0.0125")) == Decimal("0.012")  # 五成双
    assert significant(Decimal("9.96")) == Decimal("10")
    assert significant(Decimal("126")) == Decimal("130")


@pytest.mark.parametrize(
    ("change", "place", "words"),
    [
        (lambda d: d.pop("model"), "u.model", "测量模型"),
        (lambda d: d.update(model="l_s + nothing.x"), "u.model", "不能取字段"),
        (lambda d: d.update(model="l_s +"), "u.model", "语法错误"),
        (lambda d: d.update(model="42"), "u.model", "没有用到任何输入量"),
        (lambda d: d["inputs"][1].update(type="C"), "u.inputs.1.type", "A 或 B"),
        (lambda d: d["inputs"][1].pop("u"), "u.inputs.1.readings", "A 类评定"),
        (lambda d: d["inputs"][3].update(U="1"), "u.inputs.3.u", "只须给出一种"),
        (lambda d: d["inputs"][4].pop("distribution"), "u.inputs.4.distribution", "写明分布"),
        (lambda d: d["inputs"][4].update(distribution="bell"), "u.inputs.4.distribution", "bell"),
        (lambda d: d["inputs"][2].update(name="d"), "u.inputs.2.name", "重复"),
        (lambda d: d["inputs"][2].update(name="2x"), "u.inputs.2.name", "字母开头"),
        (lambda d: d["inputs"][5].update(u="0.2 +"), "u.inputs.5.u", "语法错误"),
        (lambda d: d.update(coverage={"p": "120"}), "u.coverage", "包含概率"),
        (lambda d: d.update(coverage={"k": "2", "p": "95"}), "u.coverage", "包含因子"),
        (lambda d: d.update(extra=1), "u", "未知字段 extra"),
        (lambda d: d.update(inputs=[]), "u.inputs", "至少需要一个输入量"),
    ],
)
def test_bad_definitions_are_refused_by_place(change, place, words):
    defn = copy.deepcopy(GUM_H1)
    change(defn)
    problems = check_budget(defn, "检定项目 1「长度」", "u")
    assert place in problems, problems
    assert words in problems[place]
    assert problems[place].startswith("检定项目 1「长度」的不确定度评定")


def test_a_bad_budget_names_its_item_when_a_type_is_loaded():
    defn = copy.deepcopy(GUM_H1)
    defn["inputs"][0]["standard"] = 3
    _, problems = check_type(_as_instrument_type(defn))
    assert problems == {
        "items.0.uncertainty.inputs.0.standard": "检定项目 1「长度」的不确定度评定 输入量 1「l_s」："
        "standard 应为 true 或标准器证书所载的被测量"
    }
    bad_rule = _as_instrument_type(GUM_H1) | {"decision_rule": "strict"}
    assert "strict" in check_type(bad_rule)[1]["decision_rule"]
