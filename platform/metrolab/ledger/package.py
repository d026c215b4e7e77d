"""The demonstration-unit application (T/ZBMS 005 Appendix A) and its one-click package (§6): the
application .docx (+ PDF when a converter is there), the 在用计量器具配备情况一览表 xlsx, and the compulsory
instruments' certificates of the last two years (ours from storage by pdf_sha256, external scans as uploaded)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from metrolab import storage
from metrolab.customers.tables import Contact
from metrolab.ledger import exports, services
from metrolab.ledger.tables import (
    Application,
    ExternalCertificate,
    LedgerInstrument,
    Licence,
    StationStaff,
)
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
        "opinion": ""
        if await failing_requirements(customer_id, today)
        else "本单位自愿申报加油站诚信计量示范单位，承诺所填内容及所附材料真实有效。",
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


@dataclass
class Held:
    """One certificate of a compulsory instrument, as put into the package."""

    instrument: int
    verified_on: date
    valid_until: date | None
    name: str
    data: bytes


async def certificates(customer_id: int, today: date | None = None) -> list[Held]:
    """The compulsory instruments' certificates valid at some time in the last two years (item h)."""
    today = today or date.today()
    since = _since(today)
    instruments = await LedgerInstrument.select().where(
        (LedgerInstrument.customer == customer_id)
        & (LedgerInstrument.compulsory == True)  # noqa: E712
        & (LedgerInstrument.status == "in_use")
    )
    by_id = {r["id"]: r for r in instruments}
    held: list[Held] = []
    for ext in await ExternalCertificate.select().where(
        ExternalCertificate.instrument.is_in(list(by_id) or [-1])
    ):
        r = by_id[ext["instrument"]]
        if _in_window(ext["verified_on"], ext["valid_until"], since) and storage.exists(
            ext["scan_sha256"]
        ):
            name = f"{r['serial']}_{ext['verified_on']}_外检_{ext['number']}{services.SCAN_SUFFIX[ext['scan_type']]}"
            held.append(
                Held(
                    r["id"],
                    ext["verified_on"],
                    ext["valid_until"],
                    _safe(name),
                    storage.get(ext["scan_sha256"]),
                )
            )
    from metrolab.certificates.tables import Certificate

    keys = {(r["instrument_type"], r["serial"]): r["id"] for r in instruments}
    own = (
        await Certificate.select()
        .where(
            (Certificate.customer == customer_id)
            & (Certificate.pdf_sha256 != "")
            & Certificate.status.not_in(list(services.ISSUED_EXCLUDED))
        )
        .output(load_json=True)
    )
    for cert in own:
        serial = str(((cert["context"] or {}).get("instrument") or {}).get("serial") or "")
        iid = keys.get((cert["instrument_type"], serial))
        if (
            iid
            and cert["verified_on"]
            and _in_window(cert["verified_on"], cert["valid_until"], since)
            and storage.exists(cert["pdf_sha256"])
        ):
            held.append(
                Held(
                    iid,
                    cert["verified_on"],
                    cert["valid_until"],
                    _safe(f"{serial}_{cert['verified_on']}_{cert['number']}.pdf"),
                    storage.get(cert["pdf_sha256"]),
                )
            )
    return sorted(held, key=lambda h: h.name)


def _since(today: date) -> date:
    try:
        return today.replace(year=today.year - CERTIFICATE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - CERTIFICATE_YEARS, day=28)


def _in_window(verified_on: date, valid_until: date | None, since: date) -> bool:
    return (valid_until or verified_on) >= since


def gap(held: list[Held], since: date, today: date) -> tuple[date, date] | None:
    """The first stretch of [since, today] no held certificate covers, or None (两年连续有效)."""
    covered = since - timedelta(days=1)
    for h in sorted(held, key=lambda h: h.verified_on):
        if h.verified_on > covered + timedelta(days=1):
            return covered + timedelta(days=1), h.verified_on - timedelta(days=1)
        covered = max(covered, h.valid_until or h.verified_on)
        if covered >= today:
            return None
    return (covered + timedelta(days=1), today) if covered < today else None


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


# §6 申报材料 a–i: (item, title, the 客户证照 kind that holds it or "" when the package makes it itself).
MATERIALS = [
    ("a", "营业执照", "营业执照"),
    ("b", "申请书（附录A）", ""),
    ("c", "自我承诺书（附录B）", "自我承诺书"),
    ("d", "诚信计量承诺制度及实施证明", "诚信计量承诺制度"),
    ("e", "近一年内第三方出具的油品质量检测合格证明", "油品质量检测"),
    ("f", "特殊行业特殊要求的相关资质文件", "特殊行业资质"),
    ("g", "在用计量器具配备情况一览表", ""),
    ("h", "强检计量器具连续两年的有效检定证书复印件", ""),
    ("i", "其他公益慈善或服务社会的证明材料", "公益"),
]


@dataclass
class Material:
    item: str
    title: str
    evidence: list[str] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.evidence) and not self.missing


async def materials(customer_id: int, today: date | None = None) -> list[Material]:
    """Each §6 item with its evidence, or what is 缺."""
    today = today or date.today()
    licences = await Licence.select().where(Licence.customer == customer_id).order_by(Licence.id)
    types = await services.instrument_types()
    out = []
    for item, title, kind in MATERIALS:
        m = Material(item, title)
        if kind:
            for lic in licences:
                valid = lic["valid_until"] is None or lic["valid_until"] >= today
                if (
                    kind in lic["kind"]
                    and valid
                    and lic["scan_sha256"]
                    and storage.exists(lic["scan_sha256"])
                ):
                    name = _safe(
                        f"{lic['kind']}_{lic['number']}{services.SCAN_SUFFIX[lic['scan_type']]}"
                    )
                    m.evidence.append(f"{lic['kind']} {lic['number']}")
                    m.files.append((name, storage.get(lic["scan_sha256"])))
        elif item == "b":
            m.evidence.append("01_诚信计量示范单位申请书.docx")
        elif item == "g":
            m.evidence.append("02_在用计量器具配备情况一览表.xlsx")
        elif item == "h":
            await _item_h(m, customer_id, types, today)
        if not m.evidence and not m.missing:
            m.missing.append(
                f"缺：{title}" + (f"（请在客户证照中登记“{kind}”及扫描件）" if kind else "")
            )
        out.append(m)
    return out


async def _item_h(m: Material, customer_id: int, types: dict[str, Any], today: date) -> None:
    since = _since(today)
    held = await certificates(customer_id, today)
    compulsory = (
        await LedgerInstrument.select()
        .where(
            (LedgerInstrument.customer == customer_id)
            & (LedgerInstrument.compulsory == True)  # noqa: E712
            & (LedgerInstrument.status == "in_use")
        )
        .order_by(LedgerInstrument.serial)
    )
    for r in compulsory:
        own = [h for h in held if h.instrument == r["id"]]
        name = f"{services.type_name(types, r['instrument_type'])} {r['serial']}"
        m.files += [(h.name, h.data) for h in own]
        hole = gap(own, since, today)
        if hole:
            m.missing.append(f"缺：{name} {hole[0]} 至 {hole[1]} 的有效检定证书")
        else:
            m.evidence.append(f"{name}：{len(own)} 份证书，{since} 至 {today} 连续有效")
    if not compulsory:
        m.missing.append("缺：台账中没有在用的强检计量器具")


def checklist(items: list[Material], failing: list[str]) -> str:
    lines = []
    if failing:
        lines += [
            "草稿：本站尚未达到 T/ZBMS 005—2022 的要求，本材料不能作为申报材料。",
            "未达标：" + "；".join(failing),
            "",
        ]
    lines.append("诚信计量示范单位申报材料清单（T/ZBMS 005—2022 第6章）")
    for m in items:
        lines.append(f"{m.item}) {m.title}：{'齐全' if m.ok else '缺'}")
        lines += [f"    {e}" for e in m.evidence] + [f"    {e}" for e in m.missing]
    return "\n".join(lines) + "\n"


async def failing_requirements(customer_id: int, today: date | None = None) -> list[str]:
    from metrolab.ledger import compliance

    return [
        f"{r.clause} {r.title}" for r in await compliance.evaluate(customer_id, today) if not r.ok
    ]


async def build_package(
    customer_id: int, include_pdf: bool = True, today: date | None = None
) -> tuple[bytes, bool]:
    """The zip and whether it is a 草稿 (the station does not meet every requirement)."""
    import anyio

    customer = await services.customer(customer_id)
    failing = await failing_requirements(customer_id, today)
    items = await materials(customer_id, today)
    docx = await application_docx(customer_id)
    rows = await equipment(customer_id)
    listing = exports.xlsx(
        exports.EQUIPMENT_COLUMNS,
        rows,
        title=f"{customer['name']} 在用计量器具配备情况一览表",
        sheet="在用计量器具",
    )
    draft = "草稿_" if failing else ""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"00_{draft}申报材料清单.txt", checklist(items, failing))
        z.writestr(f"01_{draft}诚信计量示范单位申请书.docx", docx)
        if include_pdf and (pdf := await anyio.to_thread.run_sync(_pdf, docx)):
            z.writestr(f"01_{draft}诚信计量示范单位申请书.pdf", pdf)
        z.writestr("02_在用计量器具配备情况一览表.xlsx", listing)
        for m in items:
            folder = "03_强检计量器具检定证书" if m.item == "h" else f"{m.item}_{m.title}"
            for name, data in m.files:
                z.writestr(f"{folder}/{name}", data)
    return out.getvalue(), bool(failing)
