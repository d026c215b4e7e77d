"""Every shipped instrument type's certificate, issued for real: a realistic record saved through the
records service on the type's shipped form, the lab settings filled, compiled, signed by the verifier,
checked, approved (which issues it) — then the issued PDF, read with pdftotext, has no None / null /
unrendered tag, prints the lab's authorisation, and on the results page each item's limit and measured
value with its unit. Every page is also rendered to PNG in /tmp/renders/ (pdftoppm -r 60) to be looked at.
Real database (SQLite or PostgreSQL), real LibreOffice."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import run
from metrolab.certificates.results import MINUS
from test_certificate_results import RECORDS
from test_lab_settings import FILLED, SEAL

ROOT = Path(__file__).resolve().parents[1]
RENDERS = Path("/tmp/renders")
PASSWORD = "secret-pass-1"
TYPES = sorted(p.stem for p in (ROOT / "seed_data" / "instrument_types").glob("*.json"))

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice / poppler not installed",
)

# The standards a verifier of each type picks (seed_data/standards.json); the gas facility's
# certificate ran out on 2026-08-31, so those two are verified earlier in the year.
STANDARDS = {
    "co_detector": ["FAC-GAS-01", "STD-GAS-CO-01"],
    "methane_detector": ["FAC-GAS-01", "STD-GAS-CH4-01"],
    "dipstick": ["STD-LEN-01"],
    "level_gauge": ["STD-LEN-01"],
    "fuel_dispenser": ["FAC-VOL-01", "STD-VOL-20-01", "STD-THM-01"],
    "metering_tank": ["FAC-VOL-01"],
    "mine_anemometer": ["STD-ANE-01"],
    "pressure_gauge": ["FAC-PRS-01", "STD-PRS-06-01"],
    "precision_pressure_gauge": ["FAC-PRS-01"],
    "temperature_transmitter": ["STD-THM-01"],
    "standard_metal_measure": ["STD-VOL-E1-T"],
}
VERIFIED_ON = {"co_detector": "2026-03-12", "methane_detector": "2026-03-12"}
STAGE = {"dipstick": "使用中检查"}  # the dipstick form's own choices: 首次检定 / 使用中检查


def test_every_shipped_type_has_realistic_test_data():
    assert sorted(RECORDS) == TYPES and sorted(STANDARDS) == TYPES


@pytest.fixture(scope="module")
def converter():
    from metrolab.certificates import services as certs
    from metrolab.engine.documents.pdf import get_converter

    try:
        conv = get_converter(size=1)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PDF converter: {exc}")
    certs.use_converter(conv)
    yield conv
    certs.use_converter(None)
    conv.close()


@pytest.fixture
def lab(db, make_user):
    """The seeded lab with its 机构信息 filled, a customer, and the three people who sign."""
    from metrolab.customers.tables import Customer
    from metrolab.indicators.tables import Standard
    from metrolab.lab import services as lab_settings
    from metrolab.seed import seed_all
    from test_business import qualify, who

    run(seed_all())
    run(lab_settings.save(FILLED, seal=SEAL))
    # the seeds have no standard for standard metal measures: the lab's 一等 measure (test data)
    run(
        Standard.insert(
            Standard(
                kind="instrument",
                code="STD-VOL-E1-T",
                name="一等标准金属量器 20 L",
                model="20 L",
                serial_no="BZ1-2018-0042",
                measuring_range="20 L",
                uncertainty="一等，U_rel = 0.01 %（k=2）",
                certificate_no="JL2026-V-0102",
                calibrated_by="河北省计量监督检测研究院",
                valid_until=date(2027, 6, 30),
                for_types=["standard_metal_measure"],
            )
        )
    )
    customer = Customer(
        name="冀中能源峰峰集团有限公司大淑村矿",
        address="河北省邯郸市峰峰矿区大淑村",
        category="煤矿",
        phone="0310-5551234",
    )
    run(customer.save())
    verifier = make_user("verifier", full_name="张晓明")
    qualify(verifier, types=TYPES)
    return {
        "customer": customer.id,
        "verifier": who(verifier, "verifier", name="张晓明"),
        "checker": who(make_user("checker", full_name="李建华"), "checker", name="李建华"),
        "approver": who(make_user("signatory", full_name="王志刚"), "signatory", name="王志刚"),
    }


def _issue(lab: dict, code: str, data: dict) -> dict:
    """Saved record → compiled → 检定 → 核验 → 批准 (issues it); the issued certificate."""
    from metrolab.certificates import workflow as cw
    from metrolab.certificates.from_record import certificate_for_record
    from metrolab.records import services as records

    v = lab["verifier"]
    rec = run(records.create_record(v, customer_id=lab["customer"], instrument_type=code))
    outcome = run(records.save(rec["id"], {"customer": lab["customer"]}, data, v))
    assert outcome.saved, (
        outcome.header_errors,
        [(p.path, p.message_zh) for p in outcome.problems],
    )
    cert = run(certificate_for_record(rec["id"], user=v))
    run(cw.act(cert["id"], "submit", v, password=PASSWORD))
    run(cw.act(cert["id"], "pass_check", lab["checker"], password=PASSWORD))
    return run(cw.act(cert["id"], "approve", lab["approver"], password=PASSWORD))


def _record_data(code: str) -> dict:
    data = copy.deepcopy(RECORDS[code]) | {"standards": STANDARDS[code]}
    data["verification_date"] = VERIFIED_ON.get(code, data["verification_date"])
    data["stage"] = STAGE.get(code, data["stage"])
    return data


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _render(pdf: bytes, name: str) -> list[Path]:
    RENDERS.mkdir(exist_ok=True)
    (RENDERS / f"{name}.pdf").write_bytes(pdf)
    for old in RENDERS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(RENDERS / f"{name}.pdf"), str(RENDERS / name)],
        check=True,
        timeout=60,
    )
    return sorted(RENDERS.glob(f"{name}-*.png"))


def _assert_true_certificate(cert: dict, pdf: bytes) -> None:
    from test_certificates import pdf_text

    text = pdf_text(pdf)
    flat = _flat(text)
    for garbage in ("None", "null", "{{", "{%", "}}"):
        assert garbage not in text, (garbage, text)
    for value in (
        FILLED["authorization_no"],
        FILLED["authorization_note"],
        FILLED["name"],
        FILLED["address"],
        FILLED["phone"],
        cert["number"],
    ):
        assert _flat(value) in flat, value
    ctx = cert["context"]
    assert ctx["results"], "a certificate without a results page"
    for row in ctx["results"]:
        # the limit that applies and the value measured, each with its unit, printed as in the context
        assert row["requirement"] and _flat(row["requirement"]) in flat, row
        assert row["measured"] and _flat(row["measured"]) in flat, row
        if re.match(rf"[+{MINUS}]?\d", row["measured"]):  # a number: with its unit
            assert re.search(r"\d \S+$", row["measured"]), row
        if row["requirement"][:1] in ("±", "≤"):
            assert re.search(r"\d \S+$", row["requirement"]), row


@pytest.mark.parametrize("code", TYPES)
def test_the_issued_certificate_of_every_shipped_type_is_complete(lab, converter, code):
    from metrolab import storage

    cert = _issue(lab, code, _record_data(code))
    assert cert["status"] == "issued" and cert["number"] and cert["pdf_sha256"], cert.get(
        "issue_error"
    )
    pdf = storage.get(cert["pdf_sha256"])
    _assert_true_certificate(cert, pdf)
    assert _render(pdf, code)


def test_a_notice_of_a_failing_instrument_is_complete_too(lab, converter):
    """检定结果通知书 (result_notice.docx): a methane detector that answers too slowly."""
    from metrolab import storage
    from test_certificates import pdf_text

    data = _record_data("methane_detector")
    data["items"]["response"]["points"][0]["t_r"] = "35"
    cert = _issue(lab, "methane_detector", data)
    assert cert["conclusion"] == "不合格" and cert["valid_until"] is None
    pdf = storage.get(cert["pdf_sha256"])
    _assert_true_certificate(cert, pdf)
    text = pdf_text(pdf)
    cover = text.split("\f")[0]
    assert "检定结果通知书" in cover and "检定证书" not in cover and "有效期至" not in cover
    assert _render(pdf, "methane_detector-notice")
