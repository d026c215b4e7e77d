# ruff: noqa: F811 - the `lab` fixture is imported from test_certificate_renders
"""The Digital Calibration Certificate (PTB DCC 3.1.2, D-SI 2.1.0): for a certificate of every
shipped instrument type, issued for real (record → 检定 → 核验 → 批准), the DCC validates against the
shipped XSD (loaded here on its own, not through the app's cache) and says what the certificate's
content says — number, dates, instrument, people, every result's value and unit in D-SI, U with k
and p, conformity. Units with no D-SI form are flagged, never guessed; an invalid DCC is refused and
logged; a recalled or unissued certificate has no public DCC; every route asks for its permission.
Real database (SQLite or PostgreSQL), real LibreOffice for the PDF the certificate is issued with."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from conftest import run
from test_certificate_renders import STANDARDS, TYPES, _issue, _record_data, lab  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
XSD = ROOT / "platform" / "metrolab" / "certificates" / "dcc_schema" / "dcc.xsd"
OUT = Path("/tmp/dcc")
NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
# The units of the shipped types that have no D-SI form: the DCC states them as text, flagged.
NOT_DSI = {"元"}

needs_pdf = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice / poppler not installed",
)


@cache
def _schema():  # noqa: ANN202 - independent of metrolab.certificates.dcc.schema()
    import xmlschema

    return xmlschema.XMLSchema(str(XSD), allow="local")


def _errors(xml: bytes) -> list[str]:
    import io

    return [str(e.reason) for e in _schema().iter_errors(io.BytesIO(xml))]


def _text(el: ET.Element | None, path: str) -> str:
    found = None if el is None else el.find(path, NS)
    return "" if found is None or found.text is None else found.text


def _contents(el: ET.Element | None, path: str) -> list[str]:
    return [] if el is None else [c.text or "" for c in el.findall(f"{path}/dcc:content", NS)]


def _iso(value) -> str:  # noqa: ANN001
    return value["iso"] if isinstance(value, dict) else str(value)[:10]


def _assert_says_the_content(ctx: dict, xml: bytes) -> None:
    from metrolab.certificates.dcc import dsi_unit

    root = ET.fromstring(xml)
    assert root.tag == "{https://ptb.de/dcc}digitalCalibrationCertificate"
    assert root.get("schemaVersion") == "3.1.2"
    core = root.find("dcc:administrativeData/dcc:coreData", NS)
    assert _text(core, "dcc:countryCodeISO3166_1") == "CN"
    assert _text(core, "dcc:usedLangCodeISO639_1") == "zh"
    assert _text(core, "dcc:uniqueIdentifier") == ctx["certificate"]["number"]
    assert _text(core, "dcc:beginPerformanceDate") == _iso(ctx["verified_on"])
    assert _text(core, "dcc:endPerformanceDate") == _iso(ctx["verified_on"])
    if ctx.get("received_on"):
        assert _text(core, "dcc:receiptDate") == _iso(ctx["received_on"])
    item = root.find("dcc:administrativeData/dcc:items/dcc:item", NS)
    instrument = ctx["instrument"]
    assert _contents(item, "dcc:name") == [instrument["name"]]
    if instrument["serial"]:
        ident = item.find("dcc:identifications/dcc:identification", NS)
        assert _text(ident, "dcc:issuer") == "manufacturer"
        assert _text(ident, "dcc:value") == instrument["serial"]
    if instrument["model"]:
        assert _text(item, "dcc:model") == instrument["model"]
    lab_contact = root.find("dcc:administrativeData/dcc:calibrationLaboratory/dcc:contact", NS)
    assert _contents(lab_contact, "dcc:name") == [ctx["lab"]["name"]]
    people = [
        (_contents(p, "dcc:person/dcc:name")[0], _text(p, "dcc:role"))
        for p in root.findall("dcc:administrativeData/dcc:respPersons/dcc:respPerson", NS)
    ]
    expected = [
        (ctx["people"][k]["name"], role)
        for k, role in (("verifier", "检定员"), ("checker", "核验员"), ("approver", "批准人"))
        if ctx["people"][k]["name"]
    ]
    assert people == expected
    customer = root.find("dcc:administrativeData/dcc:customer", NS)
    assert _contents(customer, "dcc:name") == [ctx["customer"]["name"] or "未注明"]
    overall = [
        _text(s, "dcc:conformity")
        for s in root.findall("dcc:administrativeData/dcc:statements/dcc:statement", NS)
        if _text(s, "dcc:conformity")
    ]
    assert overall == ["pass" if ctx["certificate"]["kind"] == "检定证书" else "fail"]

    results = root.findall(
        "dcc:measurementResults/dcc:measurementResult/dcc:results/dcc:result", NS
    )
    assert len(results) == len(ctx["results"]) > 0
    for row, result in zip(ctx["results"], results, strict=True):
        assert _contents(result, "dcc:name") == [row["item"]]
        quantity = result.find("dcc:data/dcc:quantity", NS)
        real = quantity.find("si:real", NS)
        unit = dsi_unit(row["unit"]) if row["value"] else None
        if row["value"] and row["unit"] not in NOT_DSI:
            assert unit, f"{row['unit']!r} of a shipped type has no D-SI unit"
        if unit:
            assert real is not None, row
            assert Decimal(_text(real, "si:value")) == Decimal(row["value"])
            assert _text(real, "si:value") == row["value"]  # the reported digits, kept
            assert _text(real, "si:unit") == unit
            u = row.get("uncertainty")
            if u and dsi_unit(u["unit"]) == unit:
                expanded = real.find("si:expandedUnc", NS)
                assert Decimal(_text(expanded, "si:uncertainty")) == Decimal(u["U"])
                assert Decimal(_text(expanded, "si:coverageFactor")) == Decimal(u["k"])
                p = Decimal(u["p"]) / 100 if "p" in u else Decimal("0.95")
                assert Decimal(_text(expanded, "si:coverageProbability")) == p
        else:
            assert real is None
            assert _contents(quantity, "dcc:noQuantity") == [row["measured"]]
            if row["value"]:  # a number whose unit has no D-SI form: flagged with the unit
                assert (
                    _text(quantity, "dcc:measurementMetaData/dcc:metaData/dcc:nonSIUnit")
                    == (row["unit"])
                )
        conformity = _text(quantity, "dcc:measurementMetaData/dcc:metaData/dcc:conformity")
        assert conformity == {"合格": "pass", "不合格": "fail"}.get(row["conclusion"], "")


# ── units ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("unit", "dsi"),
    [
        ("V", r"\volt"),
        ("%", r"\percent"),
        ("kPa", r"\kilo\pascal"),
        ("MPa", r"\mega\pascal"),
        ("m/s", r"\metre\per\second"),
        ("℃", r"\degreecelsius"),
        ("μmol/mol", r"\micro\mole\per\mole"),
        ("L/min", r"\litre\per\minute"),
        ("mm", r"\milli\metre"),
        ("m", r"\metre"),
        ("s", r"\second"),
        ("min", r"\minute"),
        ("mL", r"\milli\litre"),
        ("m³", r"\metre\tothe{3}"),
        ("1/℃", r"\degreecelsius\tothe{-1}"),
        ("%CH₄", r"\percent"),
        ("元", None),
        ("元/L", None),
        ("dB(A)", None),
        ("", None),
        ("a/b/c", None),
    ],
)
def test_units_in_d_si_syntax_or_none(unit, dsi):
    from metrolab.certificates.dcc import dsi_unit

    assert dsi_unit(unit) == dsi


def test_every_unit_of_the_shipped_types_maps_or_is_named_as_not_d_si():
    from metrolab.certificates.dcc import dsi_unit

    units: set[str] = set()

    def walk(node) -> None:  # noqa: ANN001
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "unit" and isinstance(value, str):
                    units.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "seed_data" / "instrument_types").glob("*.json"):
        itype = json.loads(path.read_text(encoding="utf-8"))
        walk(itype.get("items"))
        walk(itype.get("range"))
    units.discard("p_unit")  # the gauges' own unit: a field whose choices are these
    for form in ("pressure_gauge_record", "precision_pressure_gauge_record"):
        text = (ROOT / "form_schemas" / f"{form}.json").read_text(encoding="utf-8")
        units |= {"MPa", "kPa"} & set(text.replace('"', " ").split())
    assert {"MPa", "kPa", "%", "℃", "m/s"} <= units
    unmapped = {u for u in units if dsi_unit(u) is None}
    assert unmapped == NOT_DSI, unmapped


# ── every shipped type, issued for real ──────────────────────────────────────────────────────


@needs_pdf
@pytest.mark.parametrize("code", TYPES)
def test_the_dcc_of_every_shipped_type_validates_and_says_the_certificate(lab, converter, code):  # noqa: F811
    from metrolab.certificates import services

    cert = _issue(lab, code, _record_data(code))
    assert cert["pdf_sha256"], cert.get("issue_error")
    xml, filename = run(services.dcc_of(cert["id"]))
    assert filename == f"{cert['number']}.dcc.xml"
    OUT.mkdir(exist_ok=True)
    (OUT / f"{code}.xml").write_bytes(xml)  # to be looked at
    assert _errors(xml) == []
    _assert_says_the_content(cert["context"], xml)


GAS = {
    "code": "STD-GAS-CH4-T",
    "name": {"zh": "甲烷标准气体（测试）", "en": "Methane standard gas (test)"},
    "kind": "instrument",
    "certificate_no": "SG2026-0901",
    "valid_until": "2028-01-31",
    "for_types": ["methane_detector"],
    "calibration": {"U": "2", "k": "2", "relative": True, "quantity": "甲烷浓度"},
}


def _methane(lab: dict, with_budget: bool = False) -> dict:  # noqa: F811
    from metrolab.indicators import services as indicators

    data = _record_data("methane_detector")
    if with_budget:
        run(indicators.save_standard(copy.deepcopy(GAS), None))
        data["standards"] = ["FAC-GAS-01", "STD-GAS-CH4-T"]
    return _issue(lab, "methane_detector", data)


@needs_pdf
def test_the_expanded_uncertainty_with_k_and_p_is_the_certificates(lab, converter):  # noqa: F811
    from metrolab.certificates import services

    cert = _methane(lab, with_budget=True)
    rows = [r for r in cert["context"]["results"] if r.get("uncertainty")]
    assert rows, "the methane detector's indication budget prints U on the certificate"
    xml, _name = run(services.dcc_of(cert["id"]))
    assert _errors(xml) == []
    root = ET.fromstring(xml)
    expanded = root.findall(".//si:real/si:expandedUnc", NS)
    assert len(expanded) == len(rows)
    for row, unc in zip(rows, expanded, strict=True):
        assert _text(unc, "si:uncertainty") == row["uncertainty"]["U"]
        assert _text(unc, "si:coverageFactor") == row["uncertainty"]["k"]
        assert _text(unc, "si:coverageProbability") == "0.95"
    _assert_says_the_content(cert["context"], xml)


# ── refusals: invalid, unissued, recalled; permissions and bounds ────────────────────────────


def test_an_invalid_dcc_is_refused_in_chinese_and_logged(caplog):
    from metrolab.certificates import dcc
    from metrolab.certificates.contract import SAMPLE
    from metrolab.kernel.errors import Refused

    ctx = copy.deepcopy(SAMPLE)
    ctx["certificate"]["number"] = "JD2025-000317"
    assert _errors(dcc.dcc_xml(ctx)) == []
    ctx["results"][1]["uncertainty"] = {"U": "0.035", "k": "0.5", "unit": "%CH₄"}  # k < 1
    with (
        caplog.at_level(logging.ERROR, logger="metrolab.certificates.dcc"),
        pytest.raises(Refused) as refused,
    ):
        dcc.dcc_xml(ctx, certificate_id=7)
    assert refused.value.status_code == 422
    assert "未通过" in refused.value.detail and "DCC" in refused.value.detail
    assert any("certificate 7" in r.getMessage() for r in caplog.records)


@needs_pdf
def test_an_invalid_stored_content_is_never_served(lab, converter, browser, make_user):  # noqa: F811
    from metrolab.certificates.tables import Certificate

    cert = _methane(lab)
    ctx = copy.deepcopy(cert["context"])
    ctx["results"][0] |= {
        "value": "1",
        "unit": "s",
        "uncertainty": {"U": "1", "k": "0", "unit": "s"},
    }
    run(Certificate.update({Certificate.context: ctx}).where(Certificate.id == cert["id"]))
    browser.login(make_user("verifier"))
    r = browser.get(f"/certificates/{cert['id']}/dcc.xml")
    assert r.status_code == 422 and "<dcc:" not in r.text
    assert "未通过 PTB DCC 3.1.2 模式校验" in r.text
    r = browser.get(f"/api/v1/certificates/{cert['id']}/dcc.xml")
    assert r.status_code == 422 and "未通过" in r.json()["detail"]


@needs_pdf
def test_the_public_page_offers_the_dcc_until_the_certificate_is_recalled(
    lab,
    converter,
    browser,  # noqa: F811
):
    from metrolab.certificates import services

    cert = _methane(lab)
    token = cert["verify_token"]
    page = browser.get(f"/verify/{token}")
    assert page.status_code == 200 and f"/verify/{token}/dcc.xml" in page.text
    assert "下载数字证书 (DCC XML)" in page.text
    r = browser.get(f"/verify/{token}/dcc.xml")  # no login
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert f'filename="{cert["number"]}.dcc.xml"' in r.headers["content-disposition"]
    assert _errors(r.content) == []
    _assert_says_the_content(cert["context"], r.content)

    run(services.recall(cert["id"], "结论有误", lab["approver"], "secret-pass-1"))
    page = browser.get(f"/verify/{token}")
    assert "已撤回" in page.text and "dcc.xml" not in page.text
    r = browser.get(f"/verify/{token}/dcc.xml")
    assert r.status_code == 404 and "<dcc:" not in r.text
    assert "该证书已撤回，不提供数字证书（DCC）" in r.text
    assert browser.get(f"/verify/{token[:-2]}xx/dcc.xml").status_code == 404  # forged token


def test_an_unissued_certificate_has_no_dcc(browser, make_user):
    from factories import as_user, compiled_certificates, qualify_async
    from metrolab.certificates import template_versions as tv

    run(tv.seed_templates())
    clerk, verifier = make_user("clerk"), make_user("verifier")
    run(qualify_async(verifier["id"]))
    cid = run(compiled_certificates(as_user(clerk, "clerk"), as_user(verifier, "verifier")))[0]
    browser.login(verifier)
    page = browser.get(f"/certificates/{cid}")
    assert page.status_code == 200 and "dcc.xml" not in page.text
    r = browser.get(f"/certificates/{cid}/dcc.xml")
    assert r.status_code == 404 and "尚未出具" in r.text
    r = browser.get(f"/api/v1/certificates/{cid}/dcc.xml")
    assert r.status_code == 404 and "尚未出具" in r.json()["detail"]


def test_the_dcc_routes_ask_for_their_permission_and_bound_the_id(browser, new_browser, make_user):
    anonymous = browser.get("/api/v1/certificates/1/dcc.xml")
    assert anonymous.status_code == 401
    page = browser.get("/certificates/1/dcc.xml", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    nobody = new_browser().login(make_user())
    assert nobody.get("/api/v1/certificates/1/dcc.xml").status_code == 403
    assert nobody.get("/certificates/1/dcc.xml", follow_redirects=False).status_code in (303, 403)
    viewer = new_browser().login(make_user("verifier"))
    for huge in ("99999999999999999999", "2147483648", "0"):
        assert 400 <= viewer.get(f"/api/v1/certificates/{huge}/dcc.xml").status_code < 500
        assert 400 <= viewer.get(f"/certificates/{huge}/dcc.xml").status_code < 500
    assert browser.get("/verify/" + "x" * 5000 + "/dcc.xml").status_code in (404, 414)


def test_the_api_lists_the_dcc_download_in_the_openapi(browser, make_user):
    spec = browser.login(make_user("verifier")).get("/schema/openapi.json").json()
    operation = spec["paths"]["/api/v1/certificates/{certificate_id}/dcc.xml"]["get"]
    assert "DCC" in operation["summary"]
    assert "application/xml" in json.dumps(operation["responses"]["200"])
