"""From an original record to the certificate data contract (metrolab.certificates.contract).

Pure functions: no database. ``build_context`` is re-exported by ``metrolab.certificates.services``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from metrolab.certificates.results import _text, _zh, instrument_range, result_rows
from metrolab.certificates.uncertainty import rule_text
from metrolab.engine.conformity import FAIL, PASS, UNDETERMINED, overall
from metrolab.kernel.clock import local_date
from metrolab.kernel.validity import conforms, due_date
from metrolab.settings import get_settings

CERTIFICATE, NOTICE = "检定证书", "检定结果通知书"
DECIDED = (PASS, FAIL, UNDETERMINED)


def kind_for(conclusion: str | None) -> str:
    return CERTIFICATE if conforms(conclusion) else NOTICE


def valid_until(verified_on: date | None, cycle_months: int | None, kind: str) -> date | None:
    """有效期至 = 检定日期 + 周期 − 1 天; none on a notice or without a cycle."""
    return due_date(verified_on, cycle_months) if kind == CERTIFICATE else None


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, dict) and value.get("iso"):
        return date.fromisoformat(value["iso"])
    return date.fromisoformat(str(value)[:10])


def _people(people: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out = {}
    for role in ("verifier", "checker", "approver"):
        person = (people or {}).get(role)
        if isinstance(person, dict):
            name = person.get("name") or person.get("full_name") or ""
        else:
            name = person or ""
        out[role] = {"name": str(name), "image": None}
    return out


def _is_device(s: dict[str, Any]) -> bool:
    """计量标准装置: indicators' kind "device" (seed files: a facility listing its instruments)."""
    return s.get("kind") in {"device", "facility"} or bool(s.get("instruments"))


def _standard(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": _zh(s.get("name")),
        "range": _zh(s.get("range") or s.get("measuring_range")),
        "uncertainty": _text(s.get("uncertainty") or s.get("accuracy")),
        "certificate_no": _text(s.get("certificate_no")),
        "valid_until": _date(s.get("valid_until")),
    }


LAB_KEYS = (
    "name",
    "authorization_no",
    "authorization_note",
    "address",
    "postcode",
    "phone",
    "fax",
    "website",
)


def default_lab() -> dict[str, Any]:
    """The ``lab`` section before the lab's settings are known: blanks, never None; ``seal`` is the
    place of the 检定专用章 image (``render_docx(images={"lab.seal": png})``)."""
    return {**dict.fromkeys(LAB_KEYS, ""), "name": get_settings().lab_name, "seal": None}


def _lab(lab: dict[str, Any] | None) -> dict[str, Any]:
    out = default_lab()
    for key in LAB_KEYS:
        value = (lab or {}).get(key)
        if value not in (None, ""):
            out[key] = _text(value)
    return out


def build_context(
    record_or_plain: dict[str, Any],
    *,
    customer: dict[str, Any] | None,
    instrument_type: dict[str, Any],
    people: dict[str, Any] | None,
    standards: list[dict[str, Any]],
    lab: dict[str, Any] | None,
    number: str | None,
    revision: int,
    verify_url: str | None,
    supersedes_number: str | None = None,
    received_on: Any = None,
) -> dict[str, Any]:
    """The certificate data contract for one record (see certificates/contract.py).

    ``record_or_plain``: an OriginalRecord row as a dict (``data``, ``conclusion``, ``verified_on``,
    ``instrument_name``, ``serial``, ``model``, ``manufacturer``, ``environment``, optional
    ``items``). ``standards``: as ``indicators.services.get_standards`` gives them
    (``kind`` "device" = 计量标准装置, else 标准器) or seed_data/standards.json entries. ``revision``: 1 for the first issue (the
    contract counts from 0). The kind follows the conclusion: 合格 → 检定证书, else 检定结果通知书.
    ``supersedes_number``: the number of the certificate this one replaces (ISO/IEC 17025 §7.8.8.2).
    ``received_on``: when the instrument was received (the entrustment's 接收日期), if known.
    Text that may be missing is "" (a template never prints None); dates and images may be None.
    """
    rec = dict(record_or_plain)
    data = rec.get("data") or {}
    if isinstance(data, str):
        data = json.loads(data)
    conclusion = _text(rec.get("conclusion") or data.get("conclusion"))
    results = result_rows({**rec, "data": data}, instrument_type, standards)
    if any(r.get("rule_changed") for r in results):  # the type's decision rule decides (判定规则)
        conclusion = overall(r["conclusion"] for r in results if r["conclusion"] in DECIDED) or ""
    kind = kind_for(conclusion)
    verified_on = _date(rec.get("verified_on") or data.get("verification_date"))
    environment = rec.get("environment") or data.get("environment") or {}
    if isinstance(environment, str):
        environment = json.loads(environment or "{}")
    regulation = instrument_type.get("regulation") or {}
    code = regulation.get("code", "")
    if regulation.get("edition") and regulation["edition"] not in code:
        code = f"{code}-{regulation['edition']}"
    failing = [
        {"item": r["item"], "requirement": r["requirement"], "measured": r["measured"]}
        for r in results
        if r["conclusion"] == "不合格"
    ]
    remarks = rec.get("remarks", data.get("remarks"))
    if isinstance(remarks, str):
        remarks = [line.strip() for line in remarks.splitlines() if line.strip()]
    remarks = [*(remarks or []), *(n for r in results for n in r.get("rule_notes") or [])]
    return {
        "lab": _lab(lab),
        "certificate": {
            "number": _text(number),
            "kind": kind,
            "revision": max(0, int(revision) - 1),
            "issued_at": date.today(),
            "supersedes_number": _text(supersedes_number),
        },
        "customer": {
            "name": _text((customer or {}).get("name") or data.get("customer")),
            "address": _text((customer or {}).get("address")),
        },
        "instrument": {
            "name": _text(rec.get("instrument_name")) or _zh(instrument_type.get("name")),
            "model": _text(rec.get("model") or data.get("model")),
            "serial": _text(rec.get("serial") or data.get("serial")),
            "manufacturer": _text(rec.get("manufacturer") or data.get("manufacturer")),
            **instrument_range(
                data, instrument_type
            ),  # this instrument's range and class, as recorded
        },
        "basis": {"code": code, "name": _text(regulation.get("name"))},
        "conclusion": conclusion,
        "verified_on": verified_on,
        "received_on": _date(received_on),
        "valid_until": valid_until(verified_on, instrument_type.get("cycle_months"), kind),
        "people": _people(people),
        "environment": {
            k: _text(environment.get(k)).strip() for k in ("temperature", "humidity", "pressure")
        },
        "standard_devices": [_standard(s) for s in standards if _is_device(s)],
        "standard_instruments": [_standard(s) for s in standards if not _is_device(s)],
        "results": results,
        "failing_items": failing if kind == NOTICE else [],
        "remarks": list(remarks or []),
        "decision_rule": rule_text(instrument_type),
        "qr_code": None,
        "verify_url": verify_url,
    }
