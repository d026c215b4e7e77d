"""What a person does in the ledger pages and an integrator through /api/v1/ledger: the same
functions, the same rules and the same audit rows (routes only turn forms / JSON into these calls)."""

from __future__ import annotations

from datetime import date
from typing import Any

from metrolab import storage
from metrolab.audit.log import record
from metrolab.kernel.errors import Conflict, Forbidden, NotFound, Refused
from metrolab.ledger import compliance, dossier, package, services
from metrolab.ledger.tables import Licence, SelfCheck

GAS_STATION = "加油站"


async def station(customer_id: int) -> dict[str, Any]:
    """The customer, refused unless it is a gas station (T/ZBMS 005 applies to stations only)."""
    c = await services.customer(customer_id)
    if c["category"] != GAS_STATION:
        raise Conflict("只有类别为“加油站”的客户才有诚信计量示范单位达标情况")
    return c


async def sync(user: Any) -> int:
    """从已出具证书更新台账; how many certificates were applied."""
    n = await services.sync_from_certificates()
    await record("ledger.synced", actor=user, details={"certificates": n})
    return n


async def confirm_import(customer_id: int, ticket: str, user: Any) -> int:
    """Import the good rows of a previewed file (the ticket names it); how many rows."""
    from metrolab.ledger import importing

    await services.customer(customer_id)
    n = await importing.confirm(customer_id, ticket, user)
    await record(
        "ledger.imported",
        actor=user,
        target_type="customer",
        target_id=customer_id,
        details={"rows": n},
    )
    return n


async def import_file(customer_id: int, content: bytes, user: Any, dry_run: bool) -> dict[str, Any]:
    """The preview of an xlsx ledger file and, unless dry_run or a row is refused, its import."""
    from metrolab.ledger import importing

    await services.customer(customer_id)
    if not content:
        raise Refused("请选择 xlsx 文件（字段 file）")
    preview, ticket = await importing.preview(customer_id, content)
    if preview.problem:
        raise Refused(preview.problem, extra=[{"key": "file", "message": preview.problem}])
    answer: dict[str, Any] = {
        "good": [{"row": g["row"], "action": g["action"]} for g in preview.good],
        "rejected": [{"row": r["row"], "reasons": r["reasons"]} for r in preview.rejected],
        "imported": 0,
        "dry_run": dry_run,
    }
    if preview.rejected and not dry_run:
        reasons = [f"第 {r['row']} 行：{'；'.join(r['reasons'])}" for r in preview.rejected]
        raise Refused(
            "有被拒绝的行，文件未导入：" + "；".join(reasons[:20]),
            extra=[{"key": "file", "message": m} for m in reasons],
        )
    if not dry_run and ticket:
        answer["imported"] = await confirm_import(customer_id, ticket, user)
    return answer


def _kind(kind: str, user: Any) -> dossier.Kind:
    spec = dossier.KINDS.get(kind)
    if spec is None:
        raise NotFound(f"未知的记录类别：{kind}")
    if not user.can(spec.permission):
        raise Forbidden("没有权限")
    return spec


async def add_record(kind: str, customer_id: int, values: dict[str, str], user: Any) -> int:
    """登记 a 证价 / 证照 / 合同 / 收费 / 拜访 / 站内人员 row; its id."""
    spec = _kind(kind, user)
    await services.customer(customer_id)
    row_id = await dossier.add(spec, customer_id, values, user)
    await record(
        f"ledger.{kind}_added",
        actor=user,
        target_type="customer",
        target_id=customer_id,
        details={"id": row_id},
    )
    return row_id


async def delete_record(kind: str, customer_id: int, row_id: int, user: Any) -> None:
    spec = _kind(kind, user)
    await dossier.delete(spec, customer_id, row_id)
    await record(
        f"ledger.{kind}_deleted",
        actor=user,
        target_type="customer",
        target_id=customer_id,
        details={"id": row_id},
    )


async def licence_scan(
    customer_id: int, licence_id: int, content: bytes, user: Any
) -> dict[str, Any]:
    """The scan of a 证照 (PDF or image), stored and audited."""
    if not await Licence.exists().where(
        (Licence.id == licence_id) & (Licence.customer == customer_id)
    ):
        raise NotFound("证照不存在")
    kind = services.sniff_scan(content)
    digest = storage.put(content)
    await Licence.update({Licence.scan_sha256: digest, Licence.scan_type: kind}).where(
        Licence.id == licence_id
    )
    await record(
        "ledger.licence_scan",
        actor=user,
        target_type="customer",
        target_id=customer_id,
        details={"licence": licence_id, "sha256": digest},
    )
    return {"id": licence_id, "scan_sha256": digest, "scan_type": kind}


# ── monthly self-checks of a fuel dispenser (form gas_station_self_check) ────────────────────


async def dispenser(instrument_id: int) -> dict[str, Any]:
    r = await services.get_instrument(instrument_id)
    if r["instrument_type"] != compliance.DISPENSER:
        raise Conflict("月度自校记录只适用于燃油加油机")
    return r


def evaluate_form(defn: Any, data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """The computed values and every problem (field checks + computation) of a filled form."""
    from metrolab.engine.forms import compute, validate_submission

    result = compute(defn, data)
    return result.data, validate_submission(defn, data) + list(result.problems)


def month_of(text: str) -> str:
    try:
        return date.fromisoformat(f"{text}-01").strftime("%Y-%m")
    except ValueError as exc:
        raise Refused(
            "月份格式应为 YYYY-MM", extra=[{"key": "month", "message": "月份格式应为 YYYY-MM"}]
        ) from exc


def refuse_month(month: str, instrument: dict[str, Any], today: date) -> None:
    """A self-check is for a month that has begun and in which the dispenser was already in use."""
    message = ""
    if month > today.strftime("%Y-%m"):
        message = f"{month} 尚未到来，不能填写该月的自校记录"
    elif month < (since := compliance.in_use_month(instrument)):
        message = f"该加油机自 {since} 起在用，不能填写此前月份（{month}）的自校记录"
    if message:
        raise Refused(message, extra=[{"key": "month", "message": message}])


def refuse_errors(problems: list[Any]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise Refused(
            "请修改标红的项目后再保存："
            + "；".join(f"{p.label_zh}：{p.message_zh}" for p in errors),
            extra=[{"key": p.path, "message": p.message_zh} for p in errors],
        )


async def save_self_check(
    instrument_id: int, month: str, data: dict[str, Any], problems: list[Any], user: Any
) -> int:
    """A checked self-check (problems from evaluate_form) saved and audited; its id.
    ``user`` None: filled through the station's portal link."""
    r = await dispenser(instrument_id)
    month = month_of(month)
    refuse_month(month, r, date.today())
    refuse_errors(problems)
    check = SelfCheck(
        instrument=instrument_id,
        month=month,
        data=data,
        conclusion=str(data.get("conclusion") or ""),
        filled_by=getattr(user, "id", None),
    )
    await check.save()
    await record(
        "ledger.self_check",
        actor=user,
        target_type="ledger_instrument",
        target_id=instrument_id,
        details={
            "month": month,
            "conclusion": check.conclusion,
            "checker": str(data.get("checker") or ""),
            "via": "portal" if user is None else "lab",
        },
    )
    return check.id


async def save_application(
    customer_id: int, data: dict[str, Any], problems: list[Any], user: Any
) -> None:
    """诚信计量示范单位申请书 saved (problems from evaluate_form) and audited."""
    await station(customer_id)
    refuse_errors(problems)
    await package.save(customer_id, data)
    await record(
        "ledger.application_saved", actor=user, target_type="customer", target_id=customer_id
    )
