"""The instrument ledger (计量器具台账): rules and queries. Routes stay thin.

API other features code against:

    await record_certificate(certificate: dict) -> dict | None   # upsert by (customer, type, serial)
    await on_certificate_issued(certificate_id) -> dict | None    # what the certificates feature calls after issue
    await sync_from_certificates() -> int                          # every issued certificate → the ledger
    await register_external(instrument_id, values, scan, filename, user) -> dict   # 外检证书登记 (§5.8.12)
    await search(**filters) -> list[dict]; await due(within_days, customer_id=None) -> list[dict]
    portal_token(customer_id) / regenerate_portal(customer_id) / customer_for_token(token)

``next_due_on`` = verified on + the type's cycle − 1 day (the certificate's own 有效期至 when it has one,
an external certificate's validity date as entered). Only a conforming result gets a due date.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from itsdangerous import BadSignature, Signer
from piccolo.query.methods.count import Count

from metrolab import storage
from metrolab.audit.log import record
from metrolab.customers.tables import Customer
from metrolab.kernel.clock import local_date
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.matching import contains
from metrolab.kernel.text import CONTROL_CHARS
from metrolab.kernel.validity import conforms, due_date
from metrolab.ledger.tables import (
    STATUSES,
    ExternalCertificate,
    LedgerInstrument,
    PortalLink,
)
from metrolab.settings import get_settings

MAX_SCAN_BYTES = 10 * 1024 * 1024
WINDOWS = (30, 60, 90)
FIELDS = (
    "instrument_type",
    "name",
    "model",
    "serial",
    "manufacturer",
    "location",
    "status",
    "compulsory",
    "nozzles",
    "last_verified_on",
    "last_conclusion",
    "last_certificate",
    "remarks",
)


# ── dates and conclusions ─────────────────────────────────────────────────────────────────────


def parse_date(value: Any) -> date | None:
    """A date from a date, a datetime, ISO text, a template date dict ``{"iso": …}`` or blank."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, dict):
        return parse_date(value.get("iso"))
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)


MAX_TEXT = 2000


def text_problem(text: str) -> str:
    """Why a typed text cannot be stored ('' when it can): a NUL or control character, or too long."""
    if CONTROL_CHARS.search(text):
        return "含有不可见的控制字符，请重新输入"
    if len(text) > MAX_TEXT:
        return f"不能超过 {MAX_TEXT} 字"
    return ""


def parse_decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("不是有效的金额") from exc
    if not number.is_finite():
        raise ValueError("不是有效的金额")
    return number


# ── instrument types (from the indicators feature) ────────────────────────────────────────────


async def instrument_types() -> dict[str, dict[str, Any]]:
    """code → catalogue (name, category, cycle_months, compulsory…), active or not."""
    from metrolab.indicators.services import list_types

    return {t["code"]: t for t in await list_types(active_only=False)}


def type_name(types: dict[str, dict[str, Any]], code: str) -> str:
    name = (types.get(code) or {}).get("name")
    return (name.get("zh") if isinstance(name, dict) else name) or code


def type_code_for(types: dict[str, dict[str, Any]], text: str) -> str | None:
    """A type by its code or its 中文 name."""
    text = (text or "").strip()
    if text in types:
        return text
    for code in types:
        if text and text == type_name(types, code):
            return code
    return None


# ── instruments ───────────────────────────────────────────────────────────────────────────────


def check_instrument(
    values: dict[str, Any], types: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned column values and {field: 中文 problem}; ``types`` from ``instrument_types()``."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {k: str(values.get(k) or "").strip() for k in FIELDS}
    for k, text in out.items():
        if problem := text_problem(text):
            errors[k] = problem
            out[k] = ""
    code = type_code_for(types, out["instrument_type"])
    if not out["instrument_type"]:
        errors["instrument_type"] = "器具类型不能为空"
    elif code is None:
        errors["instrument_type"] = f"未知的器具类型“{out['instrument_type']}”"
    else:
        out["instrument_type"] = code
    if not out["serial"]:
        errors["serial"] = "出厂编号不能为空"
    status = out["status"] or "in_use"
    status = {v: k for k, v in STATUSES.items()}.get(status, status)
    if status not in STATUSES:
        errors["status"] = "状态应为 在用 / 停用 / 报废"
    out["status"] = status
    flag = out["compulsory"]
    if flag in ("", "default"):
        out["compulsory"] = bool((types.get(code or "") or {}).get("compulsory"))
    else:
        out["compulsory"] = flag.lower() in ("1", "true", "on", "yes", "是", "强检", "强制检定")
    if out["nozzles"]:
        try:
            out["nozzles"] = int(Decimal(out["nozzles"]))
            if out["nozzles"] < 0 or out["nozzles"] > 64:
                raise ValueError
        except (InvalidOperation, ValueError, OverflowError):
            errors["nozzles"] = "枪数应为 0–64 的整数"
    else:
        out["nozzles"] = None
    try:
        out["last_verified_on"] = parse_date(out["last_verified_on"])
    except ValueError:
        errors["last_verified_on"] = f"检定日期“{out['last_verified_on']}”格式应为 YYYY-MM-DD"
    if isinstance(out["last_verified_on"], date) and out["last_verified_on"] > date.today():
        errors["last_verified_on"] = "检定日期不能晚于今天"
    if out["last_verified_on"] and not out["last_conclusion"]:
        out["last_conclusion"] = "合格"
    if not out["name"] and code:
        out["name"] = type_name(types, code)
    if len(out["serial"]) > 100 or len(out["name"]) > 200:
        errors["serial"] = errors.get("serial") or "出厂编号或名称过长"
    if not errors and code:
        ok = out["last_verified_on"] and conforms(out["last_conclusion"])
        out["next_due_on"] = (
            due_date(out["last_verified_on"], types[code].get("cycle_months")) if ok else None
        )
    return out, errors


async def find_instrument(customer_id: int, type_code: str, serial: str) -> dict[str, Any] | None:
    return (
        await LedgerInstrument.select()
        .where(
            (LedgerInstrument.customer == customer_id)
            & (LedgerInstrument.instrument_type == type_code)
            & (LedgerInstrument.serial == serial)
        )
        .first()
    )


async def save_instrument(
    customer_id: int,
    clean: dict[str, Any],
    instrument_id: int | None = None,
    source: str = "manual",
    user: Any = None,
) -> int:
    """Insert or update a checked instrument (``check_instrument``); refuses a duplicate serial."""
    same = await find_instrument(customer_id, clean["instrument_type"], clean["serial"])
    if same and same["id"] != instrument_id:
        raise Conflict(f"该客户已有同类型、出厂编号为 {clean['serial']} 的器具")
    values = {k: v for k, v in clean.items() if k in {*FIELDS, "next_due_on"}}
    if instrument_id is None:
        row = LedgerInstrument(customer=customer_id, source=source, **values)
        await row.save()
        instrument_id = row.id
    else:
        await LedgerInstrument.update({**values, "updated_at": datetime.now().astimezone()}).where(  # type: ignore[dict-item]  # Piccolo: update() takes str keys; its dict type is invariant
            LedgerInstrument.id == instrument_id
        )
    await record(
        "ledger.instrument_saved",
        actor=user,
        target_type="ledger_instrument",
        target_id=instrument_id,
        details={"customer": customer_id, "serial": clean["serial"], "source": source},
    )
    return instrument_id


async def get_instrument(instrument_id: int) -> dict[str, Any]:
    row = (
        await LedgerInstrument.select(
            *LedgerInstrument.all_columns(),
            LedgerInstrument.customer.name.as_alias("customer_name"),
            LedgerInstrument.customer.category.as_alias("customer_category"),
        )
        .where(LedgerInstrument.id == instrument_id)
        .first()
    )
    if row is None:
        raise NotFound("器具不存在")
    return row


async def external_certificates(instrument_id: int) -> list[dict[str, Any]]:
    return (
        await ExternalCertificate.select()
        .where(ExternalCertificate.instrument == instrument_id)
        .order_by(ExternalCertificate.verified_on, ascending=False)
    )


async def count_for_customer(customer_id: int) -> int:
    """The customers feature's deletion rule: a customer with a ledger is still referenced."""
    return await LedgerInstrument.count().where(LedgerInstrument.customer == customer_id)


async def _apply_verification(
    instrument: dict[str, Any],
    verified_on: date,
    conclusion: str,
    next_due_on: date | None,
    number: str,
    kind: str,
    ref: int | None,
) -> bool:
    """Make this verification the instrument's last one unless a later one is already recorded."""
    last = instrument.get("last_verified_on")
    if last and verified_on < last:
        return False
    failed = not conforms(conclusion)
    status = instrument.get("status") or "in_use"
    if failed and status == "in_use":
        status = "awaiting"  # 不合格 → out of use, due again at once (§5.2)
    elif not failed and status == "awaiting":
        status = "in_use"
    await LedgerInstrument.update(
        {
            LedgerInstrument.status: status,
            LedgerInstrument.last_verified_on: verified_on,
            LedgerInstrument.last_conclusion: conclusion,
            LedgerInstrument.next_due_on: next_due_on,
            LedgerInstrument.last_certificate: number or "",
            LedgerInstrument.last_certificate_kind: kind,
            LedgerInstrument.last_certificate_ref: ref,
            LedgerInstrument.updated_at: datetime.now().astimezone(),
        }
    ).where(LedgerInstrument.id == instrument["id"])
    return True


# ── certificates → ledger ─────────────────────────────────────────────────────────────────────


async def record_certificate(
    certificate: dict[str, Any], types: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """One certificate (ours) into its customer's ledger: upsert the instrument by (customer, type,
    serial) and make it the last verification. ``certificate``: a Certificate row as a dict (``customer``
    or ``customer_id``, ``instrument_type``, ``verified_on``, ``valid_until``, ``conclusion``, ``number``,
    ``id``, ``context`` with ``instrument``: name, model, serial, manufacturer). Returns the instrument,
    or None when the certificate names no customer or serial."""
    ctx = certificate.get("context") or {}
    if isinstance(ctx, str):
        ctx = json.loads(ctx or "{}")
    customer = certificate.get("customer_id", certificate.get("customer"))
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    inst = ctx.get("instrument") or {}
    serial = str(certificate.get("serial") or inst.get("serial") or "").strip()
    code = certificate.get("instrument_type") or ""
    verified_on = parse_date(certificate.get("verified_on") or ctx.get("verified_on"))
    if not customer_id or not serial or not code or verified_on is None:
        return None
    types = types if types is not None else await instrument_types()
    conclusion = str(certificate.get("conclusion") or ctx.get("conclusion") or "")
    cycle = (types.get(code) or {}).get("cycle_months")
    valid_until = parse_date(certificate.get("valid_until") or ctx.get("valid_until"))
    next_due = (valid_until or due_date(verified_on, cycle)) if conforms(conclusion) else None
    instrument = await find_instrument(customer_id, code, serial)
    if instrument is None:
        row = LedgerInstrument(
            customer=customer_id,
            instrument_type=code,
            serial=serial,
            name=str(inst.get("name") or type_name(types, code)),
            model=str(inst.get("model") or ""),
            manufacturer=str(inst.get("manufacturer") or ""),
            status="in_use",
            compulsory=bool((types.get(code) or {}).get("compulsory")),
            source="certificate",
        )
        await row.save()
        instrument = await find_instrument(customer_id, code, serial)
    assert instrument is not None
    await _apply_verification(
        instrument,
        verified_on,
        conclusion,
        next_due,
        str(certificate.get("number") or ""),
        "own",
        certificate.get("id"),
    )
    return await get_instrument(instrument["id"])


ISSUED_EXCLUDED = ("recalled", "superseded", "voided")


async def on_certificate_issued(certificate_id: int) -> dict[str, Any] | None:
    """Call after ``metrolab.certificates.services.issue``: the certificate's instrument into the ledger."""
    from metrolab.certificates.tables import Certificate

    row = (
        await Certificate.select()
        .where(Certificate.id == certificate_id)
        .output(load_json=True)
        .first()
    )
    if row is None or not row["pdf_sha256"] or row["status"] in ISSUED_EXCLUDED:
        return None
    return await record_certificate(row)


async def sync_from_certificates() -> int:
    """Every issued certificate (not recalled / superseded / voided) into the ledger, oldest first.
    Idempotent: a certificate older than the instrument's last verification changes nothing."""
    try:
        from metrolab.certificates.tables import Certificate
    except ImportError:  # the certificates feature is not installed
        return 0
    rows = (
        await Certificate.select()
        .where(
            (Certificate.pdf_sha256 != "")
            & Certificate.customer.is_not_null()
            & Certificate.status.not_in(list(ISSUED_EXCLUDED))
        )
        .order_by(Certificate.verified_on)
        .output(load_json=True)
    )
    types = await instrument_types()
    n = 0
    for row in rows:
        if await record_certificate(row, types) is not None:
            n += 1
    return n


# ── external certificates (外检证书登记 §5.8.12) ────────────────────────────────────────────────


def sniff_scan(data: bytes) -> str:
    """ "pdf" | "png" | "jpeg" from the magic bytes (never the file name); refuses anything else."""
    if not data:
        raise Refused("请选择扫描件文件")
    if len(data) > MAX_SCAN_BYTES:
        raise Refused("扫描件不能超过 10 MB")
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise Refused("扫描件只能是 PDF 或图片（PNG、JPEG）文件")


SCAN_MEDIA = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}
SCAN_SUFFIX = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg"}


def check_external(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        k: (values.get(k) or "").strip()
        for k in ("number", "issued_by", "verified_on", "valid_until", "conclusion")
    }
    if not out["number"]:
        errors["number"] = "证书编号不能为空"
    if not out["issued_by"]:
        errors["issued_by"] = "检定机构不能为空"
    for key, label in (("verified_on", "检定日期"), ("valid_until", "有效期至")):
        try:
            out[key] = parse_date(out[key])
        except ValueError:
            errors[key] = f"{label}格式应为 YYYY-MM-DD"
    if not out["verified_on"] and "verified_on" not in errors:
        errors["verified_on"] = "检定日期不能为空"
    out["conclusion"] = out["conclusion"] or "合格"
    if conforms(out["conclusion"]) and not out["valid_until"] and "valid_until" not in errors:
        errors["valid_until"] = "合格的证书须填写有效期至（用于下周期预警）"
    if out["verified_on"] and out["valid_until"] and out["valid_until"] < out["verified_on"]:
        errors["valid_until"] = "有效期至不能早于检定日期"
    return out, errors


async def register_external(
    instrument_id: int, values: dict[str, str], scan: bytes, filename: str, user: Any = None
) -> dict[str, Any]:
    """Store the scan and the certificate; it counts like ours for due dates and compliance.
    Raises Refused (400) with every problem."""
    instrument = await get_instrument(instrument_id)
    clean, errors = check_external(values)
    try:
        scan_type = sniff_scan(scan)
    except Refused as exc:
        errors["scan"] = str(exc.detail)
    if errors:
        raise Refused(
            "；".join(errors.values()), extra=[{"key": k, "message": v} for k, v in errors.items()]
        )
    digest = storage.put(scan)
    cert = ExternalCertificate(
        instrument=instrument_id,
        scan_sha256=digest,
        scan_type=scan_type,
        filename=(filename or "")[:255],
        created_by=getattr(user, "id", None),
        **clean,
    )
    await cert.save()
    next_due = clean["valid_until"] if conforms(clean["conclusion"]) else None
    await _apply_verification(
        instrument,
        clean["verified_on"],
        clean["conclusion"],
        next_due,
        clean["number"],
        "external",
        cert.id,
    )
    await record(
        "ledger.external_certificate",
        actor=user,
        target_type="ledger_instrument",
        target_id=instrument_id,
        details={"number": clean["number"], "issued_by": clean["issued_by"], "sha256": digest},
    )
    return {"id": cert.id, "scan_sha256": digest, **clean}


# ── queries ───────────────────────────────────────────────────────────────────────────────────


def due_state(row: dict[str, Any], today: date) -> str:
    """overdue | d30 | d60 | d90 | ok | none (no due date)."""
    due = row.get("next_due_on")
    if due is None:
        return "none"
    if due < today:
        return "overdue"
    for days in WINDOWS:
        if due <= today + timedelta(days=days):
            return f"d{days}"
    return "ok"


DUE_LABELS = {
    "overdue": "已超期",
    "d30": "30 天内到期",
    "d60": "60 天内到期",
    "d90": "90 天内到期",
    "ok": "有效",
    "none": "无有效期",
}


MAX_WINDOW_DAYS = 3660


def _until(today: date, days: int, field: str = "within") -> date:
    """``today`` + ``days``, refused (400) beyond ten years: a date past 9999 cannot be computed."""
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise Refused(
            f"天数应为 0–{MAX_WINDOW_DAYS}",
            extra=[{"key": field, "message": f"天数应为 0–{MAX_WINDOW_DAYS}"}],
        )
    return today + timedelta(days=days)


def _columns() -> list[Any]:
    return [
        LedgerInstrument.all_columns(),
        LedgerInstrument.customer.name.as_alias("customer_name"),
    ]


async def search(
    customer_id: int | None = None,
    category: str = "",
    instrument_type: str = "",
    status: str = "",
    due: str = "",
    q: str = "",
    today: date | None = None,
    limit: int | None = 2000,
) -> list[dict[str, Any]]:
    """器具明细查询 (§5.9.7): by customer, category (of the type), type, status, due window."""
    today = today or date.today()
    query = LedgerInstrument.select(*_columns())
    if customer_id:
        query = query.where(LedgerInstrument.customer == customer_id)
    if instrument_type:
        query = query.where(LedgerInstrument.instrument_type == instrument_type)
    if category:
        types = await instrument_types()
        codes = [c for c, t in types.items() if t.get("category") == category] or ["-"]
        query = query.where(LedgerInstrument.instrument_type.is_in(codes))
    if status:
        query = query.where(LedgerInstrument.status == status)
    if due == "overdue":
        query = query.where(LedgerInstrument.next_due_on < today)
    elif due.startswith("upto") and due[4:].isdigit():  # overdue included, as on the due page
        query = query.where(LedgerInstrument.next_due_on <= _until(today, int(due[4:]), "due"))
    elif due.isdigit():
        query = query.where(
            (LedgerInstrument.next_due_on >= today)
            & (LedgerInstrument.next_due_on <= _until(today, int(due), "due"))
        )
    if q:
        query = query.where(
            contains(LedgerInstrument.serial, q)
            | contains(LedgerInstrument.name, q)
            | contains(LedgerInstrument.model, q)
        )
    query = query.order_by(LedgerInstrument.customer).order_by(LedgerInstrument.next_due_on)
    if limit:
        query = query.limit(limit)
    return await query


async def due(
    within_days: int = 30,
    customer_id: int | None = None,
    today: date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """In-use instruments due within ``within_days`` days, overdue ones included, soonest first."""
    today = today or date.today()
    query = LedgerInstrument.select(*_columns()).where(
        (
            (LedgerInstrument.status == "in_use")
            & (LedgerInstrument.next_due_on <= _until(today, within_days))
        )
        | (LedgerInstrument.status == "awaiting")  # failed: to be verified again now
    )
    if customer_id:
        query = query.where(LedgerInstrument.customer == customer_id)
    query = query.order_by(LedgerInstrument.next_due_on)
    return await (query.limit(limit) if limit else query)


def count_due(within_days: int = 30, today: date | None = None) -> Count:
    """In-use instruments due within the days (a query: await it, or let the home page batch it)."""
    today = today or date.today()
    return LedgerInstrument.count().where(
        (
            (LedgerInstrument.status == "in_use")
            & (LedgerInstrument.next_due_on <= _until(today, within_days))
        )
        | (LedgerInstrument.status == "awaiting")  # failed: to be verified again now
    )


_BY_CUSTOMER = """
SELECT li.customer AS customer, c.name AS customer_name,
       SUM(CASE WHEN li.status = 'awaiting' OR li.next_due_on < {} THEN 1 ELSE 0 END) AS overdue,
       SUM(CASE WHEN li.next_due_on >= {} AND li.next_due_on <= {} THEN 1 ELSE 0 END) AS d30,
       SUM(CASE WHEN li.next_due_on > {} AND li.next_due_on <= {} THEN 1 ELSE 0 END) AS d60,
       SUM(CASE WHEN li.next_due_on > {} THEN 1 ELSE 0 END) AS d90,
       MIN(li.next_due_on) AS first_due
FROM ledger_instrument li JOIN customer c ON c.id = li.customer
WHERE (li.status = 'in_use' AND li.next_due_on <= {}) OR li.status = 'awaiting'
GROUP BY li.customer, c.name
ORDER BY MIN(li.next_due_on), c.name
"""


async def due_by_customer(within_days: int = 90, today: date | None = None) -> list[dict[str, Any]]:
    """Per customer: how many in-use instruments are overdue / due within 30, 60, 90 days (one GROUP BY)."""
    today = today or date.today()
    d30, d60 = today + timedelta(days=30), today + timedelta(days=60)
    rows = await LedgerInstrument.raw(
        _BY_CUSTOMER, today, today, d30, d30, d60, d60, _until(today, within_days)
    )
    for r in rows:
        r["first_due"] = parse_date(r["first_due"])
        for k in ("overdue", "d30", "d60", "d90"):
            r[k] = int(r[k] or 0)
    return rows


async def customer(customer_id: int) -> dict[str, Any]:
    row = await Customer.select().where(Customer.id == customer_id).first()
    if row is None:
        raise NotFound("客户不存在")
    return row


# ── the customer portal link (/portal/{token}) ────────────────────────────────────────────────


def _portal_signer() -> Signer:
    return Signer(get_settings().secret_key, salt="metrolab.ledger.portal")


async def portal_token(customer_id: int) -> str:
    """The customer's current link token (made on first use)."""
    row = await PortalLink.select().where(PortalLink.customer == customer_id).first()
    if row is None:
        return await regenerate_portal(customer_id)
    return _portal_signer().sign(f"{customer_id}.{row['nonce']}").decode()


async def regenerate_portal(customer_id: int, user: Any = None) -> str:
    """A new token; the old link stops working."""
    nonce = secrets.token_urlsafe(16)
    if await PortalLink.exists().where(PortalLink.customer == customer_id):
        await PortalLink.update({PortalLink.nonce: nonce}).where(PortalLink.customer == customer_id)
    else:
        await PortalLink.insert(PortalLink(customer=customer_id, nonce=nonce))
    await record("ledger.portal_link", actor=user, target_type="customer", target_id=customer_id)
    return _portal_signer().sign(f"{customer_id}.{nonce}").decode()


async def customer_for_token(token: str) -> int | None:
    if not token or len(token) > 200:
        return None
    try:
        value = _portal_signer().unsign(token.encode()).decode()
    except (BadSignature, UnicodeError, ValueError):
        return None
    customer_id, _, nonce = value.partition(".")
    if not customer_id.isdigit():
        return None
    row = (
        await PortalLink.select(PortalLink.nonce)
        .where(PortalLink.customer == int(customer_id))
        .first()
    )
    if row is None or not secrets.compare_digest(row["nonce"], nonce):
        return None
    return int(customer_id)
