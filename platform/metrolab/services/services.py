"""Rules of the public 业务服务 portal (§5.3): 检定申请 without signing in, its progress by number +
phone, and the clerk's 受理 (into an entrustment through the business feature) or 不予受理."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.query.methods.count import Count

from metrolab.audit.log import record as audit
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.text import CONTROL_CHARS
from metrolab.services.tables import ServiceApplication
from metrolab.web.i18n import N_

LIMITS = {"unit": 200, "contact": 100, "phone": 30, "remarks": 1000, "reason": 500}
MAX_LINES = 20
MAX_QUANTITY = 9999
# A reception desk gets a handful of applications a day; one address sending more is a robot.
PER_IP_LIMIT = 5
PER_IP_WINDOW = timedelta(hours=1)
_PHONE = re.compile(r"^[0-9+\-() ]{5,30}$")

# What the customer sees: the application's progress, never a state code.
STEPS = [N_("已提交"), N_("已受理"), N_("检定中"), N_("已出证")]


Problem = tuple[str, dict[str, Any]]  # (中文 message marked N_, its {placeholders})


class ApplicationProblems(Refused):
    """Field problems of a typed application: {field name: (message, placeholders)}; the page
    translates each beside its field, the API lists them in 中文."""

    def __init__(self, errors: dict[str, Problem]) -> None:
        said = {k: m.format(**kw) for k, (m, kw) in errors.items()}
        super().__init__(
            "请按提示修改后再提交：" + "；".join(list(said.values())[:5]),
            extra=[{"key": k, "message": v} for k, v in said.items()],
        )
        self.errors = errors


def _problem(message: str, **placeholders: Any) -> Problem:
    return message, placeholders


class TooMany(Refused):
    def __init__(self) -> None:
        super().__init__(
            f"提交过于频繁：同一地址 1 小时内至多提交 {PER_IP_LIMIT} 份申请，请稍后再试",
            status_code=429,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _text(values: dict[str, Any], name: str, errors: dict[str, Problem]) -> str:
    value = str(values.get(name) or "").strip()
    if CONTROL_CHARS.search(value):
        errors[name] = _problem(N_("含有不可见的控制字符，请重新输入"))
    elif len(value) > LIMITS[name]:
        errors[name] = _problem(N_("过长（至多 {limit} 字）"), limit=LIMITS[name])
    return value


async def instrument_types() -> dict[str, str]:
    from metrolab.business.services import instrument_types as types

    return await types()


SERIAL_LIMIT = 100


async def serial_required() -> bool:
    """Whether every instrument line needs its 出厂编号: as the lab's published 委托受理单 says (its
    instruments table's serial field is required or not) — the application becomes that form."""
    from metrolab.business.services import entrustment_form
    from metrolab.engine.forms.scopes import build

    try:
        pin = await entrustment_form()
    except Refused:  # no published 委托受理单 yet: nothing to follow
        return False
    root, _ = build(pin.defn, None)
    table = root.entries.get("instruments")
    serial = table.inner.entries.get("serial") if table and table.inner else None
    return bool(serial and serial.node.get("required"))


async def check(values: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The typed application cleaned, or ApplicationProblems naming each field in 中文."""
    errors: dict[str, Problem] = {}
    clean: dict[str, Any] = {
        n: _text(values, n, errors) for n in ("unit", "contact", "phone", "remarks")
    }
    for name, said in (
        ("unit", N_("请填写单位名称")),
        ("contact", N_("请填写联系人")),
        ("phone", N_("请填写联系电话")),
    ):
        if not clean[name] and name not in errors:
            errors[name] = _problem(said)
    if clean["phone"] and "phone" not in errors and not _PHONE.match(clean["phone"]):
        errors["phone"] = _problem(N_("联系电话应为 5–30 位数字（可含 + - 括号 空格）"))
    wished = str(values.get("wished_date") or "").strip()
    clean["wished_date"] = None
    if wished:
        try:
            clean["wished_date"] = date.fromisoformat(wished)
        except ValueError:
            errors["wished_date"] = _problem(N_("期望日期格式应为 YYYY-MM-DD"))
        else:
            if clean["wished_date"] < date.today():
                errors["wished_date"] = _problem(N_("期望日期不能早于今天"))
            elif clean["wished_date"] > date.today() + timedelta(days=366):
                errors["wished_date"] = _problem(N_("期望日期至多为一年以内"))
    types = await instrument_types()
    needs_serial = await serial_required()
    by_name = {v: k for k, v in types.items()}
    clean["instruments"] = []
    typed = [ln for ln in lines if any(str(v or "").strip() for v in ln.values())]
    if len(typed) > MAX_LINES:
        errors["lines"] = _problem(N_("一份申请至多 {n} 种器具"), n=MAX_LINES)
    for i, line in enumerate(typed[:MAX_LINES]):
        kind = str(line.get("instrument_type") or "").strip()
        code = kind if kind in types else by_name.get(kind, "")
        if not code:
            errors[f"lines.{i}.instrument_type"] = _problem(N_("请选择器具类型"))
        raw = str(line.get("quantity") or "").strip()
        quantity = int(raw) if raw.isdigit() and len(raw) <= 5 else 0
        if not 1 <= quantity <= MAX_QUANTITY:
            errors[f"lines.{i}.quantity"] = _problem(N_("数量应为 1–{n} 的整数"), n=MAX_QUANTITY)
        serial = str(line.get("serial") or "").strip()
        if CONTROL_CHARS.search(serial) or len(serial) > SERIAL_LIMIT:
            errors[f"lines.{i}.serial"] = _problem(
                N_("出厂编号至多 {limit} 个字符，不能含控制字符"), limit=SERIAL_LIMIT
            )
        elif needs_serial and not serial:
            errors[f"lines.{i}.serial"] = _problem(N_("请填写该器具的出厂编号"))
        clean["instruments"].append(
            {"instrument_type": code, "quantity": quantity, "serial": serial}
        )
    if not typed and "lines" not in errors:
        errors["lines"] = _problem(N_("请至少填写一种送检器具"))
    if errors:
        raise ApplicationProblems(errors)
    return clean


async def _next_number(year: int) -> str:
    from metrolab.lab.series import allocate

    return await allocate(
        "service_application",
        year,
        lambda seq: f"SQ{year}-{seq:05d}",
        lambda n: ServiceApplication.exists().where(ServiceApplication.number == n).run(),
    )


async def submit(values: dict[str, Any], lines: list[dict[str, Any]], ip: str) -> dict[str, Any]:
    """检定申请: checked, throttled per address, numbered. Returns {number, …}."""
    clean = await check(values, lines)
    since = _now() - PER_IP_WINDOW
    sent = await ServiceApplication.count().where(
        (ServiceApplication.ip == ip[:64]) & (ServiceApplication.created_at > since)
    )
    if sent >= PER_IP_LIMIT:
        raise TooMany()
    from metrolab.lab.series import numbering_transaction

    async with numbering_transaction():
        number = await _next_number(date.today().year)
        row = ServiceApplication(number=number, ip=ip[:64], **clean)
        await row.save()
    await audit(
        "service_application.submitted",
        actor=None,
        target_type="service_application",
        target_id=row.id,
        details={"number": number},
    )
    return await get(row.id)


async def get(application_id: int) -> dict[str, Any]:
    row = (
        await ServiceApplication.select(
            *ServiceApplication.all_columns(),
            ServiceApplication.entrustment.number.as_alias("entrustment_number"),
            ServiceApplication.handled_by.full_name.as_alias("handled_by_name"),
        )
        .where(ServiceApplication.id == application_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("检定申请不存在")
    types = await instrument_types()
    for line in row["instruments"]:
        line["name"] = types.get(line["instrument_type"], line["instrument_type"])
    return row


def pending_count(_user: Any) -> Count:
    return ServiceApplication.count().where(ServiceApplication.status == "submitted")


async def applications(status: str = "submitted") -> list[dict[str, Any]]:
    ids = (
        await ServiceApplication.select(ServiceApplication.id)
        .where(ServiceApplication.status == status)
        .order_by(ServiceApplication.id, ascending=status == "submitted")
        .limit(200)
    )
    return [await get(r["id"]) for r in ids]


async def _pending(application_id: int) -> dict[str, Any]:
    row = await get(application_id)
    if row["status"] != "submitted":
        raise Conflict(f"检定申请 {row['number']} 已处理，不能再次受理或拒绝")
    return row


async def known_customer(name: str) -> bool:
    from metrolab.customers.tables import Customer

    return await Customer.exists().where(Customer.name == name.strip())


async def accept(
    application_id: int, user: Any, customer: str = "", new_customer: bool = False
) -> dict[str, Any]:
    """受理: a 委托单 (business.create_entrustment, on the published 委托受理单) for the customer
    named — an existing one, or a new one only when the clerk says so. Serials are filled in
    when the instruments arrive (修改委托单)."""
    from metrolab.business import services as business

    app = await _pending(application_id)
    name = (customer or app["unit"]).strip()
    if not name or len(name) > LIMITS["unit"] or CONTROL_CHARS.search(name):
        raise ApplicationProblems({"customer": _problem(N_("请填写客户名称（至多 200 字）"))})
    if not await known_customer(name) and not new_customer:
        raise ApplicationProblems(
            {
                "customer": _problem(
                    N_("客户“{name}”尚未建档：请选择已有客户，或勾选“作为新客户建档”"), name=name
                )
            }
        )
    data: dict[str, Any] = {
        "customer": name,
        "contact": app["contact"],
        "phone": app["phone"],
        "instruments": [
            {
                "instrument_type": ln["instrument_type"],
                "quantity": str(ln["quantity"]),
                "serial": str(ln.get("serial") or ""),
            }
            for ln in app["instruments"]
        ],
        "requested_date": app["wished_date"].isoformat() if app["wished_date"] else "",
        "service_mode": "送检",
        "remarks": f"检定申请 {app['number']}" + (f"：{app['remarks']}" if app["remarks"] else ""),
    }
    pin = await business.entrustment_form()
    codes = [ln["instrument_type"] for ln in app["instruments"]]
    entrustment = await business.create_entrustment(user, pin, data, codes)
    await ServiceApplication.update(
        {
            ServiceApplication.status: "accepted",
            ServiceApplication.entrustment: entrustment["id"],
            ServiceApplication.handled_by: getattr(user, "id", None),
            ServiceApplication.handled_at: _now(),
        }
    ).where(ServiceApplication.id == application_id)
    await audit(
        "service_application.accepted",
        actor=user,
        target_type="service_application",
        target_id=application_id,
        details={"number": app["number"], "entrustment": entrustment["number"]},
    )
    return await get(application_id)


async def decline(application_id: int, user: Any, reason: str) -> dict[str, Any]:
    app = await _pending(application_id)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationProblems({"reason": _problem(N_("不予受理须填写原因"))})
    if len(reason) > LIMITS["reason"] or CONTROL_CHARS.search(reason):
        raise ApplicationProblems(
            {"reason": _problem(N_("原因至多 {n} 字，且不含控制字符"), n=LIMITS["reason"])}
        )
    await ServiceApplication.update(
        {
            ServiceApplication.status: "declined",
            ServiceApplication.decline_reason: reason,
            ServiceApplication.handled_by: getattr(user, "id", None),
            ServiceApplication.handled_at: _now(),
        }
    ).where(ServiceApplication.id == application_id)
    await audit(
        "service_application.declined",
        actor=user,
        target_type="service_application",
        target_id=application_id,
        details={"number": app["number"], "reason": reason},
    )
    return await get(application_id)


async def progress(number: str, phone: str) -> dict[str, Any] | None:
    """What the customer may see of an application: found only with its number and phone."""
    number, phone = number.strip(), phone.strip()
    if not number or not phone:
        return None
    row = (
        await ServiceApplication.select(ServiceApplication.id)
        .where((ServiceApplication.number == number) & (ServiceApplication.phone == phone))
        .first()
    )
    if row is None:
        return None
    app = await get(row["id"])
    reached = 1
    if app["status"] == "accepted" and app["entrustment"]:
        reached = await _entrustment_step(app["entrustment"])
    return {
        "number": app["number"],
        "unit": app["unit"],
        "created_at": app["created_at"],
        "declined": app["status"] == "declined",
        "decline_reason": app["decline_reason"],
        "entrustment_number": app["entrustment_number"] or "",
        "instruments": app["instruments"],
        "steps": [{"label": s, "done": i < reached} for i, s in enumerate(STEPS)],
        "current": STEPS[reached - 1],
    }


ISSUED = ("issued", "printed", "released")


async def _entrustment_step(entrustment_id: int) -> int:
    """2 已受理, 3 检定中 (a record or certificate begun), 4 已出证 (every line's certificate issued)."""
    from metrolab.business.tables import VerificationTask

    tasks = await VerificationTask.select(
        VerificationTask.record,
        VerificationTask.certificate,
        VerificationTask.certificate.status.as_alias("certificate_status"),
    ).where(VerificationTask.entrustment == entrustment_id)
    if tasks and all(t["certificate_status"] in ISSUED for t in tasks):
        return 4
    if any(t["record"] or t["certificate"] for t in tasks):
        return 3
    return 2


# ── 标准查询 ──────────────────────────────────────────────────────────────────────────────────


async def regulations(q: str = "") -> list[dict[str, Any]]:
    """The 检定规程 the lab works to: one row per regulation of an active instrument type."""
    from metrolab.indicators.tables import InstrumentType as T

    rows = (
        await T.select(T.regulation_code, T.regulation_edition, T.regulation_name, T.name_zh)
        .where((T.active == True) & (T.regulation_code != ""))  # noqa: E712 - Piccolo
        .order_by(T.regulation_code)
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["regulation_code"], r["regulation_edition"])
        entry = found.setdefault(
            key,
            {
                "code": r["regulation_code"],
                "edition": r["regulation_edition"],
                "name": r["regulation_name"],
                "types": [],
            },
        )
        entry["types"].append(r["name_zh"])
    needle = q.strip().lower()
    return [
        e
        for e in found.values()
        if not needle
        or needle in f"{e['code']} {e['edition']} {e['name']} {' '.join(e['types'])}".lower()
    ]


async def standards(q: str = "") -> list[dict[str, Any]]:
    """The lab's 计量标准装置 with 证书编号 and 有效期至; `valid` is False once expired."""
    from metrolab.indicators.tables import Standard as S

    rows = (
        await S.select(
            S.code, S.name, S.certificate_no, S.measuring_range, S.uncertainty, S.valid_until
        )
        .where((S.active == True) & (S.kind == "device"))  # noqa: E712 - Piccolo
        .order_by(S.code)
    )
    today = date.today()
    needle = q.strip().lower()
    return [
        r | {"valid": bool(r["valid_until"] and r["valid_until"] >= today)}
        for r in rows
        if not needle or needle in f"{r['name']} {r['certificate_no']} {r['code']}".lower()
    ]
