"""Uncertainty from the record to the certificate, configured as data on the shipped methane
detector (JJG 678): the indication item's budget (Type A from the three readings per point, Type B
from the standard gas certificate U_rel = 2 % (k = 2) and the resolution), U (k) beside the result,
the type's decision rule printed and applied (JJF 1094, and an ILAC-G8 guard band). Real database."""

from __future__ import annotations

import copy
import io
from datetime import date
from pathlib import Path

import pytest
from docx import Document

from conftest import run
from metrolab.certificates import services as certs
from metrolab.certificates.uncertainty import RULES
from metrolab.indicators import services as indicators
from test_certificate_results import RECORDS, record_of

ROOT = Path(__file__).resolve().parents[1]
GAS = {
    "code": "STD-GAS-CH4-T",
    "name": {"zh": "甲烷标准气体（测试）", "en": "Methane standard gas (test)"},
    "kind": "instrument",
    "certificate_no": "SG2026-0901",
    "valid_until": "2028-01-31",
    "for_types": ["methane_detector"],
    "calibration": {"U": "2", "k": "2", "relative": True, "quantity": "甲烷浓度"},
}


@pytest.fixture
def lab(db):
    from metrolab.customers.tables import Customer
    from metrolab.seed import seed_all

    run(seed_all())
    customer = Customer(name="冀中能源峰峰集团有限公司大淑村矿", address="河北省邯郸市峰峰矿区")
    run(customer.save())
    run(indicators.save_standard(copy.deepcopy(GAS), None))
    return {"customer": customer.id}


def _context(itype: dict | None = None, standards: list | None = None) -> dict:
    rec, shipped = run(record_of("methane_detector", RECORDS["methane_detector"]))
    return certs.build_context(
        rec,
        customer=None,
        instrument_type=itype or shipped,
        people={},
        standards=[GAS] if standards is None else standards,
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )


def test_the_shipped_type_carries_a_budget_and_a_rule_as_data(lab):
    itype = run(indicators.get_catalogue("methane_detector"))
    assert itype["decision_rule"] == "jjf1094"
    budget = itype["items"][0]["uncertainty"]
    assert [i["type"] for i in budget["inputs"]] == ["A", "B", "B"]
    assert run(indicators.get_standards(["STD-GAS-CH4-01"]))[0]["calibration"]["U"] == "2"


def test_certificate_rows_carry_u_and_k_per_point(lab):
    """C1 0.50 %CH₄: readings 0.52/0.53/0.52 → u_A = 0.0033; gas u = 2 % × 0.50 / 2 = 0.0050;
    resolution 0.01 → 0.005/√3 = 0.0029; u_c = 0.0067, U = 2 × 0.0067 = 0.013 %CH₄. C2 1.50: u_A
    0.0058, u_gas 0.015 → U = 0.033; C3 3.50: u_A 0.0088, u_gas 0.035 → U = 0.072."""
    ctx = _context()
    row = ctx["results"][0]
    assert row["item"] == "示值误差" and row["conclusion"] == "合格"
    assert row["uncertainty"] == {"U": "0.072", "k": "2", "unit": "%CH₄"}
    assert [p["U"] for p in row["uncertainty_points"]] == ["0.013", "0.033", "0.072"]
    assert row["uncertainty_text"] == (
        "0.50 %CH₄：U = 0.013 %CH₄ (k = 2)\n1.50 %CH₄：U = 0.033 %CH₄ (k = 2)\n"
        "3.50 %CH₄：U = 0.072 %CH₄ (k = 2)"
    )
    assert all("uncertainty" not in r and r["uncertainty_text"] == "" for r in ctx["results"][1:])
    assert ctx["decision_rule"] == f"判定规则：{RULES['jjf1094']}"
    assert ctx["conclusion"] == "合格" and ctx["certificate"]["kind"] == "检定证书"
    assert not any("JJF 1094" in m for m in ctx["remarks"])  # U95 ≤ MPEV/3 everywhere


def test_without_the_standards_certificate_no_u_is_printed(lab):
    ctx = _context(standards=[{"code": "X", "name": "无证书数值"}])
    assert "uncertainty" not in ctx["results"][0] and ctx["results"][0]["uncertainty_text"] == ""
    assert ctx["conclusion"] == "合格"


def _with(itype: dict, rule: str, u_rel: str) -> tuple[dict, list]:
    changed = copy.deepcopy(itype) | {"decision_rule": rule}
    gas = copy.deepcopy(GAS)
    gas["calibration"]["U"] = u_rel
    return changed, [gas]


def test_jjf_1094_when_u95_exceeds_a_third_of_the_mpe(lab):
    """U_rel = 20 %: at 1.50 %CH₄ U ≈ 0.30 > MPEV/3 = 0.05 and |Δ| = 0.04 lies between
    MPEV − U and MPEV + U → 待定 (JJF 1094-2002 §5.3), with a note; the document is a notice."""
    itype = run(indicators.get_catalogue("methane_detector"))
    ctx = _context(*_with(itype, "jjf1094", "20"))
    row = ctx["results"][0]
    assert row["conclusion"] == "待定"
    notes = [m for m in ctx["remarks"] if "JJF 1094" in m]
    assert (
        len(notes) == 3 and "示值误差（1.50 %CH₄）：U95 = 0.30 %CH₄ > MPEV/3 = 0.05，" in notes[1]
    )
    assert ctx["conclusion"] == "待定" and ctx["certificate"]["kind"] == "检定结果通知书"


def test_guard_band_narrows_the_acceptance_zone(lab):
    """ILAC-G8 guard band w = U: at 3.50 %CH₄ e = +0.08, limit 0.30; U_rel 2 % → U = 0.072,
    0.08 ≤ 0.30 − 0.072 → 合格; U_rel 8 % → U ≈ 0.28, 0.08 > 0.30 − 0.28 → 不合格."""
    itype = run(indicators.get_catalogue("methane_detector"))
    assert _context(*_with(itype, "guard_band", "2"))["results"][0]["conclusion"] == "合格"
    ctx = _context(*_with(itype, "guard_band", "8"))
    assert ctx["results"][0]["conclusion"] == "不合格"
    assert ctx["conclusion"] == "不合格" and ctx["failing_items"][0]["item"] == "示值误差"
    assert ctx["decision_rule"].startswith("判定规则：ILAC-G8")


def test_simple_acceptance_reports_u_but_never_uses_it(lab):
    itype = run(indicators.get_catalogue("methane_detector"))
    ctx = _context(*_with(itype, "simple", "20"))
    assert ctx["results"][0]["conclusion"] == "合格" and ctx["conclusion"] == "合格"
    assert ctx["results"][0]["uncertainty"]["U"] == "0.70"
    assert ctx["decision_rule"] == f"判定规则：{RULES['simple']}"


def test_a_saved_record_prints_u_k_and_the_rule_on_the_certificate(lab, make_user):
    """Record → certificate: through the records service, the pinned form and the standards table;
    the shipped certificate template prints "U = … (k = 2)" beside the result and 判定规则."""
    from metrolab.certificates.contract import sample_images
    from metrolab.certificates.from_record import context_for_record
    from metrolab.engine.documents.render import render_docx
    from metrolab.records import services as records

    user = make_user("verifier", full_name="王检定")
    rec = run(
        records.create_record(
            user,
            customer_id=lab["customer"],
            instrument_type="methane_detector",
            verified_on=date(2026, 11, 24),
        )
    )
    data = RECORDS["methane_detector"] | {"standards": [GAS["code"]]}
    outcome = run(records.save(rec["id"], {"customer": lab["customer"]}, data, user))
    assert outcome.saved, outcome.problems
    ctx, _row = run(context_for_record(rec["id"]))
    assert ctx["results"][0]["uncertainty"] == {"U": "0.072", "k": "2", "unit": "%CH₄"}
    template = (ROOT / "certificate_templates" / "verification_certificate.docx").read_bytes()
    out = render_docx(template, ctx, sample_images(ctx))
    doc = Document(io.BytesIO(out))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert any(
        c.startswith("+0.08 %CH₄\n0.50 %CH₄：U = 0.013 %CH₄ (k = 2)\n1.50") for c in cells
    ), [c for c in cells if "CH₄" in c]
    body = "\n".join(p.text for p in doc.paragraphs)
    assert f"判定规则：{RULES['jjf1094']}" in body


def test_the_standards_page_keeps_the_certificate_u_and_k(lab, browser, make_user):
    browser.login(make_user("tech_manager"))
    form = {
        "kind": "instrument",
        "code": "STD-GAS-CH4-P",
        "name": "甲烷标准气体",
        "valid_until": "2028-01-01",
        "active": "1",
        "cal_U": "两",
        "cal_k": "2",
    }
    r = browser.post("/standards", data=form)
    assert r.status_code == 400 and "扩展不确定度 U应为正数" in r.text and 'value="两"' in r.text
    form |= {"cal_U": "2", "cal_relative": "1", "cal_quantity": "甲烷浓度"}
    assert browser.post("/standards", data=form, follow_redirects=False).status_code == 303
    s = run(indicators.get_standards(["STD-GAS-CH4-P"]))[0]
    assert s["calibration"] == {"U": "2", "k": "2", "relative": True, "quantity": "甲烷浓度"}
    page = browser.get("/standards/STD-GAS-CH4-P/edit").text
    assert 'name="cal_U"' in page and 'value="甲烷浓度"' in page


def test_the_type_editor_refuses_a_bad_budget_by_place(lab, browser, make_user):
    """The budget is edited as JSON on the type's page; a bad one is refused naming the item."""
    browser.login(make_user("tech_manager"))
    page = browser.get("/instrument-types/methane_detector/edit").text
    assert 'name="items.0.uncertainty"' in page and "c_bar - c_s + d_r" in page
    assert '<option value="jjf1094" selected>' in page
    itype = run(indicators.get_catalogue("methane_detector"))
    from metrolab.indicators.editor import catalogue_to_values

    values = catalogue_to_values(itype)
    form = {k: v for k, v in values.items() if isinstance(v, str)}
    form |= {"compulsory": "1"} if values["compulsory"] else {}
    form |= {"active": "1"}
    for i, item in enumerate(values["items"]):
        for key, v in item.items():
            if isinstance(v, str):
                form[f"items.{i}.{key}"] = v
            elif key == "to_be_confirmed" and v:
                form[f"items.{i}.{key}"] = "1"
        for j, p in enumerate(item["points"]):
            for key, v in p.items():
                form[f"items.{i}.points.{j}.{key}"] = v
    bad = form | {"items.0.uncertainty": form["items.0.uncertainty"].replace('"A"', '"C"', 1)}
    r = browser.post("/instrument-types/methane_detector", data=bad)
    assert r.status_code == 400
    assert "检定项目 1「示值误差」的不确定度评定 输入量 1「c_bar」：类型应为 A 或 B" in r.text
    r = browser.post("/instrument-types/methane_detector", data=form | {"items.0.uncertainty": "{"})
    assert r.status_code == 400 and "不确定度评定不是有效的 JSON" in r.text


def test_jjf_1094_an_error_just_beyond_the_mpe_is_undetermined_not_failed(lab):
    """JJF 1094-2002 §5.3: with U95 > MPEV/3, MPEV < |Δ| < MPEV + U95 is 待定, although the
    conformity rule alone (|Δ| ≤ MPEV) said 不合格. Readings 3.82/3.80/3.81 at 3.50 %CH₄: Δ = +0.31 >
    0.30; U_rel = 20 % → U ≈ 0.70 at that point."""
    data = copy.deepcopy(RECORDS["methane_detector"])
    data["items"]["indication"]["points"][2]["runs"] = [{"c": c} for c in ("3.82", "3.80", "3.81")]
    rec, itype = run(record_of("methane_detector", data))
    assert rec["conclusion"] == "不合格"
    changed, gas = _with(itype, "jjf1094", "20")
    ctx = certs.build_context(
        rec,
        customer=None,
        instrument_type=changed,
        people={},
        standards=gas,
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )
    assert ctx["results"][0]["conclusion"] == "待定" and ctx["conclusion"] == "待定"
    simple = certs.build_context(
        rec,
        customer=None,
        instrument_type=changed | {"decision_rule": "simple"},
        people={},
        standards=gas,
        lab=None,
        number=None,
        revision=1,
        verify_url=None,
    )
    assert simple["results"][0]["conclusion"] == "不合格"
