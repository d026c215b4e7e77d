"""The demonstration-unit application (T/ZBMS 005 Appendix A) and its one-click package (§6): the
application .docx (+ PDF when a converter is there), the 在用计量器具配备情况一览表 xlsx, and the compulsory
instruments' certificates of the last two years (ours from storage by pdf_sha256, external scans as uploaded)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from metrolab import storage
from metrolab.customers.tables import Contact
from metrolab.ledger import exports, services
from metrolab.ledger.tables import Application, ExternalCertificate, LedgerInstrument, StationStaff
from metrolab.paths import data_folder

log = logging.getLogger("metrolab")
FORM_KEY = "demonstration_application"
CERTIFICATE_YEARS = 2


@lru_cache
def definition() -> Any:
    from metrolab.engine.forms import load_definition

    return load_definition((data_folder("form_schemas") / f"{FORM_KEY}.json").read_bytes())


async def prefill(customer_id: int, today: date | None = None) -> dict[str, Any]:
    """The form's data from the customer, the ledger and the station's staff."""
    today = today or date.today()
    c = await services.customer(customer_id)
    contact = (
        await Contact.select().where(Contact.customer == customer_id).order_by(Contact.id).first()
    )
    rows = await LedgerInstrument.select().where(
        (LedgerInstrument.customer == customer_id) & (LedgerInstrument.status == "in_use")
    )
    staff = await StationStaff.select().where(StationStaff.customer == customer_id)
    head = next((s["name"] for s in staff if s["role"] == "站长"), "")
    qualified = [
        s
        for s in staff
        if s["qualification_no"] and (s["valid_until"] is None or s["valid_until"] >= today)
    ]
    return {
        "applicant": c["name"],
        "apply_date": today.isoformat(),
        "unit_name": c["name"],
        "credit_code": c["credit_code"],
        "address": c["address"],
        "postcode": "",
        "legal_representative": "",
        "legal_phone": c["phone"],
        "contact": contact["name"] if contact else "",
        "contact_phone": (contact or {}).get("phone") or c["phone"],
        "business_scope": "成品油零售",
        "area": "",
        "metrology_leader": head,
        "metrologists": str(len(qualified)),
        "nozzles": str(
            sum(r["nozzles"] or 0 for r in rows if r["instrument_type"] == "fuel_dispenser")
        ),
        "instruments": str(len(rows)),
        "compulsory_instruments": str(sum(1 for r in rows if r["compulsory"])),
        "management_summary": "已建立计量器具档案和台账；每月对加油机自校并记录；强制检定计量器具按周期申请检定。",
        "opinion": "本单位自愿申报加油站诚信计量示范单位，承诺所填内容及所附材料真实有效。",
    }


async def saved_or_prefilled(customer_id: int) -> dict[str, Any]:
    row = (
        await Application.select(Application.data)
        .where(Application.customer == customer_id)
        .first()
    )
    if row:
        data = row["data"]
        return json.loads(data) if isinstance(data, str) else data
    return await prefill(customer_id)


async def save(customer_id: int, data: dict[str, Any]) -> None:
    if await Application.exists().where(Application.customer == customer_id):
        await Application.update({Application.data: data}).where(
            Application.customer == customer_id
        )
    else:
        await Application.insert(Application(customer=customer_id, data=data))


async def equipment(customer_id: int) -> list[dict[str, Any]]:
    types = await services.instrument_types()
    rows = await services.search(customer_id=customer_id, status="in_use", limit=None)
    return exports.equipment_rows(exports.instrument_rows(rows, types))


def _zh_date(text: str) -> str:
    try:
        d = date.fromisoformat(str(text)[:10])
    except ValueError:
        return str(text or "")
    return f"{d.year} 年 {d.month} 月 {d.day} 日"


async def application_docx(customer_id: int) -> bytes:
    from metrolab.engine.documents.render import render_docx
    from metrolab.engine.forms import compute

    data = compute(definition(), await saved_or_prefilled(customer_id)).data
    keys = {n["key"] for n in _keys(definition().layout)}
    app = {k: "" if data.get(k) is None else str(data.get(k)) for k in keys}
    app["apply_date_zh"] = _zh_date(app.get("apply_date", ""))
    rows = [
        {k: "" if r.get(k) is None else str(r.get(k)) for _, k in exports.EQUIPMENT_COLUMNS}
        for r in await equipment(customer_id)
    ]
    template = (data_folder("certificate_templates") / f"{FORM_KEY}.docx").read_bytes()
    import anyio

    return await anyio.to_thread.run_sync(render_docx, template, {"app": app, "instruments": rows})


def _keys(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in nodes:
        if n.get("key") and n.get("type") in ("field", "computed"):
            out.append(n)
        out += _keys(n.get("children", []))
        for column in n.get("columns", []) if n.get("type") == "columns" else []:
            out += _keys(column)
    return out


async def certificates(customer_id: int, today: date | None = None) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the compulsory instruments' certificates verified in the last two years."""
    today = today or date.today()
    since = today - timedelta(days=365 * CERTIFICATE_YEARS)
    instruments = await LedgerInstrument.select().where(
        (LedgerInstrument.customer == customer_id)
        & (LedgerInstrument.compulsory == True)  # noqa: E712
        & (LedgerInstrument.status == "in_use")
    )
    by_id = {r["id"]: r for r in instruments}
    files: list[tuple[str, bytes]] = []
    for ext in await ExternalCertificate.select().where(
        ExternalCertificate.instrument.is_in(list(by_id) or [-1])
        & (ExternalCertificate.verified_on >= since)
    ):
        r = by_id[ext["instrument"]]
        if storage.exists(ext["scan_sha256"]):
            name = f"{r['serial']}_{ext['verified_on']}_外检_{ext['number']}{services.SCAN_SUFFIX[ext['scan_type']]}"
            files.append((_safe(name), storage.get(ext["scan_sha256"])))
    try:
        from metrolab.certificates.tables import Certificate
    except ImportError:
        return files
    keys = {(r["instrument_type"], r["serial"]) for r in instruments}
    own = (
        await Certificate.select()
        .where(
            (Certificate.customer == customer_id)
            & (Certificate.pdf_sha256 != "")
            & (Certificate.verified_on >= since)
            & Certificate.status.not_in(list(services.ISSUED_EXCLUDED))
        )
        .output(load_json=True)
    )
    for cert in own:
        serial = str(((cert["context"] or {}).get("instrument") or {}).get("serial") or "")
        if (cert["instrument_type"], serial) in keys and storage.exists(cert["pdf_sha256"]):
            files.append(
                (
                    _safe(f"{serial}_{cert['verified_on']}_{cert['number']}.pdf"),
                    storage.get(cert["pdf_sha256"]),
                )
            )
    return sorted(files)


def _safe(name: str) -> str:
    return "".join("_" if ch in '/\\:*?"<>|' else ch for ch in name)


def _pdf(docx: bytes) -> bytes | None:
    """The application as PDF when a converter is available (optional)."""
    try:
        from metrolab.certificates.services import to_pdf

        return to_pdf(docx)
    except Exception as exc:  # noqa: BLE001 - no LibreOffice / Word here: the package goes without the PDF
        log.info("application PDF skipped: %s", exc)
        return None


async def build_package(
    customer_id: int, include_pdf: bool = True, today: date | None = None
) -> bytes:
    import anyio

    customer = await services.customer(customer_id)
    docx = await application_docx(customer_id)
    rows = await equipment(customer_id)
    listing = exports.xlsx(
        exports.EQUIPMENT_COLUMNS,
        rows,
        title=f"{customer['name']} 在用计量器具配备情况一览表",
        sheet="在用计量器具",
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("01_诚信计量示范单位申请书.docx", docx)
        if include_pdf and (pdf := await anyio.to_thread.run_sync(_pdf, docx)):
            z.writestr("01_诚信计量示范单位申请书.pdf", pdf)
        z.writestr("02_在用计量器具配备情况一览表.xlsx", listing)
        for name, data in await certificates(customer_id, today):
            z.writestr(f"03_强检计量器具检定证书/{name}", data)
    return out.getvalue()
