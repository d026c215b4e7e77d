"""Gas-station compliance against T/ZBMS 005—2022 (加油站诚信计量示范单位规范): each requirement is
green or red with the evidence (instruments, certificates, self-check records, staff) that decides it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from metrolab.ledger import services
from metrolab.ledger.tables import LedgerInstrument, SelfCheck, StationStaff

# Table 1 of T/ZBMS 005, in its order: the instrument-type codes of seed_data/instrument_types.
TABLE_1 = [
    "fuel_dispenser",
    "metering_tank",
    "standard_metal_measure",
    "dipstick",
    "temperature_transmitter",
    "level_gauge",
]
DISPENSER = "fuel_dispenser"
MIN_NOZZLES = 8  # §4.2
MIN_QUALIFIED_STAFF = 2  # §4.5
SELF_CHECK_MONTHS = 3  # the last complete calendar months that must each have a self-check (§4.4)
SELF_CHECK_FORM = "gas_station_self_check"


@lru_cache
def self_check_form() -> Any:
    """The monthly self-check's form definition (form_schemas/gas_station_self_check.json)."""
    from metrolab.engine.forms import load_definition
    from metrolab.paths import data_folder

    return load_definition((data_folder("form_schemas") / f"{SELF_CHECK_FORM}.json").read_bytes())


@dataclass
class Evidence:
    label: str
    href: str = ""
    ok: bool = True
    note: str = ""
    permission: str = ""  # what opening href needs, beyond seeing the station (no dead-end links)


@dataclass
class Requirement:
    key: str
    clause: str
    title: str
    ok: bool
    summary: str
    evidence: list[Evidence] = field(default_factory=list)


def previous_months(today: date, n: int = SELF_CHECK_MONTHS) -> list[str]:
    months, day = [], today.replace(day=1)
    for _ in range(n):
        day = (day - timedelta(days=1)).replace(day=1)
        months.append(day.strftime("%Y-%m"))
    return months


def _instrument_evidence(
    r: dict[str, Any], types: dict[str, Any], ok: bool, note: str = ""
) -> Evidence:
    label = f"{services.type_name(types, r['instrument_type'])} {r['serial']}"
    return Evidence(label, f"/ledger/instruments/{r['id']}", ok, note)


def certificate_href(r: dict[str, Any]) -> str:
    if r["last_certificate_kind"] == "external" and r["last_certificate_ref"]:
        return f"/ledger/external/{r['last_certificate_ref']}/scan"
    if r["last_certificate_kind"] == "own" and r["last_certificate_ref"]:
        return f"/certificates/{r['last_certificate_ref']}"
    return f"/ledger/instruments/{r['id']}"


async def evaluate(customer_id: int, today: date | None = None) -> list[Requirement]:
    today = today or date.today()
    types = await services.instrument_types()
    rows = (
        await LedgerInstrument.select()
        .where((LedgerInstrument.customer == customer_id) & (LedgerInstrument.status == "in_use"))
        .order_by(LedgerInstrument.instrument_type)
        .order_by(LedgerInstrument.serial)
    )
    return [
        _table_1(rows, types),
        _compulsory_verified(rows, types),
        _none_overdue_or_failed(rows, types, today),
        _cycles(rows, types),
        await _self_checks(rows, types, today),
        _nozzles(rows, types),
        await _staff(customer_id, today),
    ]


def _table_1(rows: list[dict[str, Any]], types: dict[str, Any]) -> Requirement:
    evidence, missing = [], []
    for code in TABLE_1:
        present = [r for r in rows if r["instrument_type"] == code]
        name = services.type_name(types, code)
        if present:
            evidence += [_instrument_evidence(r, types, True) for r in present]
        else:
            missing.append(name)
            evidence.append(Evidence(name, "", False, "未配备"))
    summary = "表1 六类计量器具均已配备" if not missing else f"未配备：{'、'.join(missing)}"
    return Requirement(
        "table_1", "§4.6 表1", "配备表1所列六类在用计量器具", not missing, summary, evidence
    )


def _compulsory_verified(rows: list[dict[str, Any]], types: dict[str, Any]) -> Requirement:
    """受检: verified (a verification date or a validity recorded), with or without its certificate
    registered; the missing certificate is named (it is item h of the §6 materials)."""
    compulsory = [r for r in rows if r["compulsory"]]
    verified = [r for r in compulsory if r["last_verified_on"] or r["next_due_on"]]
    evidence = []
    for r in verified:
        name = f"{services.type_name(types, r['instrument_type'])} {r['serial']}"
        when = r["last_verified_on"] or f"有效期至 {r['next_due_on']}"
        if r["last_certificate"]:
            evidence.append(
                Evidence(f"{name}：证书 {r['last_certificate']}（{when}）", certificate_href(r))
            )
        else:
            evidence.append(
                Evidence(f"{name}：已检定（{when}）", certificate_href(r), True, "证书未登记")
            )
    evidence += [
        _instrument_evidence(r, types, False, "未经检定") for r in compulsory if r not in verified
    ]
    ok = bool(compulsory) and len(verified) == len(compulsory)
    rate = f"{len(verified)}/{len(compulsory)}" if compulsory else "0/0"
    summary = f"强检计量器具受检率 {rate}" + ("" if compulsory else "（台账中没有强检器具）")
    return Requirement(
        "compulsory_verified", "§5.1、§5.2", "强制检定计量器具受检率 100 %", ok, summary, evidence
    )


def _none_overdue_or_failed(
    rows: list[dict[str, Any]], types: dict[str, Any], today: date
) -> Requirement:
    bad = []
    for r in rows:
        if r["last_conclusion"] and not services.conforms(r["last_conclusion"]):
            bad.append(_instrument_evidence(r, types, False, f"检定结论：{r['last_conclusion']}"))
        elif r["next_due_on"] is None:
            bad.append(_instrument_evidence(r, types, False, "未经检定"))
        elif r["next_due_on"] < today:
            bad.append(
                _instrument_evidence(r, types, False, f"有效期至 {r['next_due_on']}，已超期")
            )
    summary = (
        "在用计量器具均在有效期内且检定合格"
        if not bad
        else f"{len(bad)} 台未检、超期或不合格仍在用"
    )
    return Requirement(
        "none_overdue",
        "§5.2、§5.3",
        "不使用未经检定、不合格或超过检定周期的计量器具",
        not bad,
        summary,
        bad,
    )


def _cycles(rows: list[dict[str, Any]], types: dict[str, Any]) -> Requirement:
    """The validity a certificate gives may not exceed Table 1's traceability cycle of the type."""
    evidence, ok = [], True
    for r in rows:
        cycle = (types.get(r["instrument_type"]) or {}).get("cycle_months")
        if not (r["last_verified_on"] and r["next_due_on"] and cycle):
            continue
        longest = services.due_date(r["last_verified_on"], cycle)
        fine = r["next_due_on"] <= longest
        ok = ok and fine
        note = f"周期 {cycle} 个月，有效期至 {r['next_due_on']}" + (
            "" if fine else f"，超过周期（应不晚于 {longest}）"
        )
        evidence.append(
            Evidence(
                f"{services.type_name(types, r['instrument_type'])} {r['serial']}",
                certificate_href(r),
                fine,
                note,
            )
        )
    summary = "各器具检定有效期均不超过表1溯源周期" if ok else "有器具的检定有效期超过表1溯源周期"
    return Requirement("cycles", "§4.6.7 表1", "按表1溯源周期检定", ok, summary, evidence)


def in_use_month(instrument: dict[str, Any]) -> str:
    """The first month the dispenser is in the ledger as in use (its registration)."""
    created = instrument.get("created_at")
    return created.strftime("%Y-%m") if created else "0000-00"


def _latest(checks: list[dict[str, Any]]) -> dict[str, Any]:
    return max(checks, key=lambda c: (c["month"], c["id"]))


async def _self_checks(
    rows: list[dict[str, Any]], types: dict[str, Any], today: date
) -> Requirement:
    """Each dispenser: a 合格 self-check for each required month since it is in use, and its latest
    self-check 合格 (a 不合格 one stays red until a later 合格 one); future months do not count."""
    months = previous_months(today)
    this_month = today.strftime("%Y-%m")
    dispensers = [r for r in rows if r["instrument_type"] == DISPENSER]
    checks = await SelfCheck.select(
        SelfCheck.id, SelfCheck.instrument, SelfCheck.month, SelfCheck.conclusion
    ).where(
        SelfCheck.instrument.is_in([r["id"] for r in dispensers] or [-1])
        & (SelfCheck.month <= this_month)
    )
    evidence, ok = [], bool(dispensers)
    for r in dispensers:
        own = [c for c in checks if c["instrument"] == r["id"]]
        for month in sorted(m for m in months if m >= in_use_month(r)):
            in_month = [c for c in own if c["month"] == month]
            if in_month:
                c = _latest(in_month)
                passed = c["conclusion"] == "合格"
                ok = ok and passed
                evidence.append(
                    Evidence(
                        f"加油机 {r['serial']} {month} 自校：{c['conclusion'] or '—'}",
                        f"/ledger/self-checks/{c['id']}",
                        passed,
                        "" if passed else "自校不合格",
                    )
                )
            else:
                ok = False
                evidence.append(
                    Evidence(
                        f"加油机 {r['serial']} {month}",
                        f"/ledger/instruments/{r['id']}/self-check",
                        False,
                        "无自校记录",
                        permission="ledger.manage",
                    )
                )
        if own and (last := _latest(own))["conclusion"] != "合格" and last["month"] not in months:
            ok = False
            evidence.append(
                Evidence(
                    f"加油机 {r['serial']} {last['month']} 自校：{last['conclusion'] or '—'}",
                    f"/ledger/self-checks/{last['id']}",
                    False,
                    "此后尚无合格的自校",
                )
            )
    summary = (
        f"近 {len(months)} 个月（{months[-1]} 至 {months[0]}）每台加油机自校均合格"
        if ok
        else "加油机月度自校缺失或不合格"
        if dispensers
        else "台账中没有在用加油机"
    )
    return Requirement("self_checks", "§4.4", "每月对加油机进行自校并记录", ok, summary, evidence)


def _nozzles(rows: list[dict[str, Any]], types: dict[str, Any]) -> Requirement:
    dispensers = [r for r in rows if r["instrument_type"] == DISPENSER]
    total = sum(r["nozzles"] or 0 for r in dispensers)
    evidence = [_instrument_evidence(r, types, True, f"{r['nozzles'] or 0} 枪") for r in dispensers]
    return Requirement(
        "nozzles",
        "§4.2",
        f"至少具备 {MIN_NOZZLES} 条加油枪",
        total >= MIN_NOZZLES,
        f"在用加油机共 {total} 条加油枪",
        evidence,
    )


async def _staff(customer_id: int, today: date) -> Requirement:
    staff = (
        await StationStaff.select()
        .where(StationStaff.customer == customer_id)
        .order_by(StationStaff.id)
    )
    evidence, qualified = [], 0
    for s in staff:
        valid = bool(s["qualification_no"]) and (
            s["valid_until"] is None or s["valid_until"] >= today
        )
        qualified += valid
        note = (
            f"资质证书 {s['qualification_no']}"
            + (f"，有效期至 {s['valid_until']}" if s["valid_until"] else "")
            if s["qualification_no"]
            else "无计量资质证书"
        )
        if s["qualification_no"] and not valid:
            note += "（已过期）"
        evidence.append(
            Evidence(
                f"{s['role']} {s['name']}",
                f"/ledger/customers/{customer_id}/station#staff",
                valid,
                note,
            )
        )
    has_head = any(s["role"] == "站长" for s in staff)
    ok = qualified >= MIN_QUALIFIED_STAFF and has_head
    summary = f"具有有效计量资质的人员 {qualified} 名" + ("" if has_head else "；未登记站长")
    return Requirement(
        "staff",
        "§4.5",
        f"{MIN_QUALIFIED_STAFF} 名以上具有计量资质的人员，站长负责计量管理",
        ok,
        summary,
        evidence,
    )
