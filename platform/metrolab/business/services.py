"""Business rules and queries: 委托单 (§5.7.1), receipt and assignment (§5.8.2), record and compile
(§5.8.3), initial review / check / approve (§5.8.4–§5.8.6, batch approval), task lists (§5.8.1),
certificate progress (§5.8.7) and release (§5.7.7–§5.7.9).

The certificate's workflow (seed_data/workflows/certificate.json) is applied through
`metrolab.workflows.services.apply`; its rules (metrolab.workflows.rules) are synchronous, so
`certificate_context` gathers the facts they judge: the verifier's qualification on the verification
date, the standards' validity on that date, who compiled, who verified, who acts.
"""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query.methods.select import Select

from metrolab import storage
from metrolab.audit.log import record as audit
from metrolab.business.tables import Entrustment, Release, VerificationTask
from metrolab.certificates.tables import Certificate
from metrolab.certificates.workflow import certificate_label
from metrolab.kernel.errors import Conflict, Forbidden, NotFound, Refused
from metrolab.workflows import services as wf

ENTRUST_WF = "entrustment"
TASK_STATUS_ZH = {
    "registered": "待分配",
    "assigned": "已分配",
    "recording": "原始记录中",
    "certifying": "证书流转中",
    "released": "已发放",
}
RELEASE_MODES = {
    "certificate_and_instrument": "证书和仪表",
    "instrument_only": "仅仪表",
    "certificate_only": "仅证书",
}
RELEASE_METHODS = ("自取", "代领", "邮寄")
MAX_SIGNATURE_BYTES = 512 * 1024


def _uid(user: Any) -> int | None:
    return getattr(user, "id", None) if not isinstance(user, dict) else user.get("id")


# ── 委托单 ────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Pinned:
    version_id: int
    defn: Any


async def entrustment_form(version_id: int | None = None) -> Pinned:
    """The published 委托受理单 (or the version an entrustment is pinned to)."""
    from metrolab.engine.forms import load_definition
    from metrolab.forms.services import get_version, published_version

    version = await (get_version(version_id) if version_id else published_version("entrustment"))
    if version is None:
        raise Conflict("委托受理单表单尚未发布")
    raw = version["definition"]
    if isinstance(raw, str):
        raw = json.loads(raw)
    return Pinned(version["id"], load_definition(raw))


async def instrument_types() -> dict[str, str]:
    """{code: 中文名}, active types."""
    from metrolab.forms import catalogue

    return {t["code"]: catalogue.type_name(t) for t in await catalogue.list_types()}


def _problem(path: str, label: str, message: str) -> Any:
    from metrolab.engine.forms.problems import FieldProblem

    return FieldProblem(
        path=path, label_zh=label, label_en=label, message_zh=message, message_en=message
    )


async def _next_number(year: int) -> str:
    """WT2026-00001…: the lab's series allocator (inside the caller's numbering transaction)."""
    from metrolab.lab.series import allocate

    return await allocate(
        "entrustment",
        year,
        lambda seq: f"WT{year}-{seq:05d}",
        lambda n: Entrustment.exists().where(Entrustment.number == n).run(),
    )


async def _customer_for(data: dict[str, Any]) -> int:
    from metrolab.customers.tables import Customer

    name = str(data.get("customer") or "").strip()
    row = await Customer.select(Customer.id).where(Customer.name == name).first()
    if row:
        return row["id"]
    c = Customer(
        name=name[:200],
        credit_code=str(data.get("credit_code") or "")[:18],
        address=str(data.get("address") or "")[:300],
        phone=str(data.get("phone") or "")[:50],
    )
    # Two clerks entering the same new customer at once: one row, both entrustments point to it.
    await Customer.insert(c).on_conflict(target=Customer.name, action="DO NOTHING")
    row = await Customer.select(Customer.id).where(Customer.name == name[:200]).first()
    assert row is not None  # inserted just now, or by the other clerk
    return row["id"]


async def fee_for(customer_id: int, instrument_type: str, on: date) -> str:
    """The customer's agreed price (ledger 客户证价) valid on that date, else blank."""
    try:
        from metrolab.ledger.tables import CustomerPrice
    except ImportError:  # pragma: no cover - the ledger feature is optional
        return ""
    row = (
        await CustomerPrice.select(CustomerPrice.price)
        .where(
            (CustomerPrice.customer == customer_id)
            & (CustomerPrice.instrument_type == instrument_type)
            & (CustomerPrice.valid_from <= on)
        )
        .order_by(CustomerPrice.valid_from, ascending=False)
        .first()
    )
    return str(row["price"]) if row else ""


async def check_entrustment(pin: Pinned, data: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """(field problems, instrument type code per line). Types may be typed by name or code."""
    from metrolab.engine.forms import validate_submission

    problems = [p for p in validate_submission(pin.defn, data) if p.severity == "error"]
    types = await instrument_types()
    by_name = {v: k for k, v in types.items()}
    codes: list[str] = []
    for i, row in enumerate(data.get("instruments") or []):
        typed = str((row or {}).get("instrument_type") or "").strip()
        code = typed if typed in types else by_name.get(typed, "")
        codes.append(code)
        if typed and not code:
            problems.append(
                _problem(
                    f"instruments.{i}.instrument_type",
                    "器具名称",
                    f"没有名为“{typed}”的器具类型，请填写器具类型名称或代码",
                )
            )
    return problems, codes


async def create_entrustment(
    user: Any, pin: Pinned, data: dict[str, Any], codes: list[str]
) -> dict[str, Any]:
    """Store the entrustment (pinned form version) and one task per instrument line."""
    customer_id = await _customer_for(data)
    requested = None
    if data.get("requested_date"):
        try:
            requested = date.fromisoformat(str(data["requested_date"]))
        except ValueError:
            requested = None
    today = date.today()
    types = await instrument_types()
    from metrolab.lab.series import numbering_transaction

    async with numbering_transaction():  # two clerks at once queue for the number, neither fails
        number = await _next_number(today.year)
        e = Entrustment(
            number=number,
            customer=customer_id,
            contact=str(data.get("contact") or "")[:100],
            phone=str(data.get("phone") or "")[:50],
            requested_date=requested,
            onsite=data.get("service_mode") == "现场检定",
            form_version=pin.version_id,
            data=json.loads(json.dumps(data, default=str)),
            created_by=_uid(user),
        )
        await e.save()
        for i, (row, code) in enumerate(
            zip(data.get("instruments") or [], codes, strict=False), start=1
        ):
            try:
                quantity = max(1, int(str(row.get("quantity") or "1").split(".")[0]))
            except ValueError:
                quantity = 1
            await VerificationTask(
                entrustment=e.id,
                line=i,
                instrument_type=code,
                name=types.get(code, code),
                model=str(row.get("model") or "")[:100],
                serial=str(row.get("serial") or "")[:100],
                manufacturer=str(row.get("manufacturer") or "")[:200],
                quantity=quantity,
                fee=await fee_for(customer_id, code, today),
            ).save()
    await audit(
        "entrustment.created",
        actor=user,
        target_type="entrustment",
        target_id=e.id,
        details={"number": number},
    )
    return await get_entrustment(e.id)


async def modify_entrustment(
    entrustment_id: int,
    user: Any,
    data: dict[str, Any],
    codes: list[str],
    reason: str,
    expected_lock: int | None = None,
) -> None:
    """修改委托单 (§5.7.1): new data on the same pinned form version, with a reason. Lines map to tasks
    by position: changed lines update their task, new lines add tasks; a line may be removed only while
    its task is unassigned."""
    e = await get_entrustment(entrustment_id)
    tasks = await tasks_of(entrustment_id)
    lines = list(zip(data.get("instruments") or [], codes, strict=False))
    removed = tasks[len(lines) :]
    started = [t["serial"] or f"第{t['line']}行" for t in removed if t["status"] != "registered"]
    if started:
        raise Conflict(f"以下器具的任务已分配，不能从委托单中删除：{'、'.join(started)}")
    for i, ((_row, code), task) in enumerate(zip(lines, tasks, strict=False), start=1):
        if task["record"] and task["instrument_type"] != code:
            raise Conflict(f"第{i}行已有原始记录，不能更改器具类型")
    types = await instrument_types()
    requested = None
    if data.get("requested_date"):
        try:
            requested = date.fromisoformat(str(data["requested_date"]))
        except ValueError:
            requested = None
    await wf.apply(
        Entrustment,
        entrustment_id,
        ENTRUST_WF,
        "modify",
        user,
        context=entrustment_context(e),
        reason=(reason or "").strip() or None,
        expected_lock=expected_lock,
        changes={
            Entrustment.data: json.loads(json.dumps(data, default=str)),
            Entrustment.contact: str(data.get("contact") or "")[:100],
            Entrustment.phone: str(data.get("phone") or "")[:50],
            Entrustment.requested_date: requested,
        },
    )
    for i, (row, code) in enumerate(lines, start=1):
        try:
            quantity = max(1, int(str(row.get("quantity") or "1").split(".")[0]))
        except ValueError:
            quantity = 1
        values = {
            "instrument_type": code,
            "name": types.get(code, code),
            "model": str(row.get("model") or "")[:100],
            "serial": str(row.get("serial") or "")[:100],
            "manufacturer": str(row.get("manufacturer") or "")[:200],
            "quantity": quantity,
        }
        if i <= len(tasks):
            task = tasks[i - 1]
            await VerificationTask.update(
                {getattr(VerificationTask, k): v for k, v in values.items()}
            ).where(VerificationTask.id == task["id"])
        else:
            await VerificationTask(
                entrustment=entrustment_id,
                line=i,
                fee=await fee_for(e["customer"], code, date.today()),
                **values,  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs
            ).save()
    if removed:
        await VerificationTask.delete().where(VerificationTask.id.is_in([t["id"] for t in removed]))


async def get_entrustment(entrustment_id: int) -> dict[str, Any]:
    row = (
        await Entrustment.select(
            *Entrustment.all_columns(),
            Entrustment.customer.name.as_alias("customer_name"),
            Entrustment.created_by.full_name.as_alias("created_by_name"),
            Entrustment.received_by.full_name.as_alias("received_by_name"),
        )
        .where(Entrustment.id == entrustment_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("委托单不存在")
    return row


async def search_entrustments(
    q: str = "", status: str = "", stage: str = "", page_no: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    query = Entrustment.select(
        *Entrustment.all_columns(exclude=[Entrustment.data]),
        Entrustment.customer.name.as_alias("customer_name"),
    )
    count = Entrustment.count()
    where: list[Combinable] = []
    if q:
        where.append(Entrustment.number.ilike(f"%{q}%") | Entrustment.customer.name.ilike(f"%{q}%"))
    if status:
        where.append(Entrustment.status == status)
    if stage == "release":
        where.append(Entrustment.status.is_in(["in_progress", "completed"]))
    for w in where:
        query, count = query.where(w), count.where(w)
    rows = (
        await query.order_by(Entrustment.id, ascending=False)
        .limit(per_page)
        .offset((page_no - 1) * per_page)
    )
    return rows, await count


async def tasks_of(entrustment_id: int) -> list[dict[str, Any]]:
    return (
        await _tasks()
        .where(VerificationTask.entrustment == entrustment_id)
        .order_by(VerificationTask.line)
    )


def _tasks() -> Select:
    return VerificationTask.select(
        *VerificationTask.all_columns(),
        VerificationTask.assigned_to.full_name.as_alias("assigned_name"),
        VerificationTask.entrustment.number.as_alias("entrustment_number"),
        VerificationTask.entrustment.customer.name.as_alias("customer_name"),  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
        VerificationTask.entrustment.customer.as_alias("customer_id"),
        VerificationTask.certificate.status.as_alias("certificate_status"),
        VerificationTask.certificate.number.as_alias("certificate_number"),
        VerificationTask.record.number.as_alias("record_number"),
        VerificationTask.record.status.as_alias("record_status"),
    )


async def get_task(task_id: int) -> dict[str, Any]:
    row = await _tasks().where(VerificationTask.id == task_id).first()
    if row is None:
        raise NotFound("检定任务不存在")
    return row


async def search_tasks(
    user: Any, mine: bool = False, stage: str = "", q: str = ""
) -> list[dict[str, Any]]:
    query = _tasks()
    if mine:
        query = query.where(VerificationTask.assigned_to == _uid(user))
    if stage == "compile":  # records to fill, certificates to compile (new or returned)
        query = query.where(
            VerificationTask.status.is_in(["assigned", "recording"])
            | (VerificationTask.certificate.status == "compiling")
        )
    elif stage == "unassigned":
        query = query.where(VerificationTask.status == "registered")
    if q:
        query = query.where(
            VerificationTask.serial.ilike(f"%{q}%")
            | VerificationTask.entrustment.number.ilike(f"%{q}%")
        )
    return await query.order_by(VerificationTask.id, ascending=False).limit(300)


def entrustment_context(
    e: dict[str, Any], pending: int = 0, signed: bool = False
) -> dict[str, Any]:
    return {"onsite": bool(e["onsite"]), "pending_certificates": pending, "customer_signed": signed}


async def pending_certificates(entrustment_id: int) -> int:
    """Tasks whose certificate is not approved yet (no certificate, or one still before 待打印)."""
    rows = await VerificationTask.select(
        VerificationTask.certificate.status.as_alias("cs"),
        VerificationTask.certificate.pdf_sha256.as_alias("pdf"),
    ).where(VerificationTask.entrustment == entrustment_id)
    return sum(1 for r in rows if not r["pdf"])


async def entrustment_act(
    entrustment_id: int,
    action: str,
    user: Any,
    *,
    reason: str | None = None,
    expected_lock: int | None = None,
) -> None:
    """cancel / complete (完成入库, once every certificate is approved) / on-site steps."""
    e = await get_entrustment(entrustment_id)
    await wf.apply(
        Entrustment,
        entrustment_id,
        ENTRUST_WF,
        action,
        user,
        context=entrustment_context(e, await pending_certificates(entrustment_id)),
        reason=reason,
        expected_lock=expected_lock,
    )
    if action == "complete":
        remaining = await VerificationTask.count().where(
            (VerificationTask.entrustment == entrustment_id)
            & (VerificationTask.status != "released")
        )
        if remaining == 0:  # everything was handed over before it was stored: released now
            e = await get_entrustment(entrustment_id)
            await wf.apply(
                Entrustment,
                entrustment_id,
                ENTRUST_WF,
                "release",
                user,
                context=entrustment_context(e, signed=True),
            )


# ── receipt and assignment (§5.8.2) ────────────────────────────────────────────────────────────


async def receive(
    entrustment_id: int, user: Any, count: int, expected_lock: int | None = None
) -> None:
    e = await get_entrustment(entrustment_id)
    lines = await VerificationTask.count().where(VerificationTask.entrustment == entrustment_id)
    if count < 1:
        raise Refused("请填写接收的仪表数量")
    await wf.apply(
        Entrustment,
        entrustment_id,
        ENTRUST_WF,
        "receive",
        user,
        context=entrustment_context(e),
        expected_lock=expected_lock,
        changes={
            Entrustment.received_at: datetime.now(UTC),
            Entrustment.received_by: _uid(user),
            Entrustment.received_count: count,
        },
    )
    if count != lines:
        await audit(
            "entrustment.received_count_differs",
            actor=user,
            target_type="entrustment",
            target_id=entrustment_id,
            details={"lines": lines, "received": count},
        )


async def verifiers() -> list[dict[str, Any]]:
    from metrolab.accounts.tables import User, UserRole

    ids = [
        r["user"]
        for r in await UserRole.select(UserRole.user).where(UserRole.role.key == "verifier")
    ]
    if not ids:
        return []
    return (
        await User.select(User.id, User.full_name)
        .where(User.id.is_in(ids))
        .order_by(User.full_name)
    )


async def assign(task_id: int, verifier_id: int, user: Any, department: str = "") -> None:
    task = await get_task(task_id)
    e = await get_entrustment(task["entrustment"])
    if e["status"] not in ("received", "onsite_confirmed", "in_progress"):
        raise Conflict("委托单尚未由科室接收（或已完成），不能分配任务")
    if task["status"] not in ("registered", "assigned"):
        raise Conflict("该任务已开始原始记录，不能再分配")
    if verifier_id not in {v["id"] for v in await verifiers()}:
        raise Refused("请选择一名检定员")
    await VerificationTask.update(
        {
            VerificationTask.assigned_to: verifier_id,
            VerificationTask.status: "assigned",
            VerificationTask.department: department[:100],
        }
    ).where(VerificationTask.id == task_id)
    await audit(
        "task.assigned",
        actor=user,
        target_type="verification_task",
        target_id=task_id,
        details={"verifier": verifier_id},
    )


def _own_task(task: dict[str, Any], user: Any) -> None:
    if task["assigned_to"] != _uid(user):
        raise Forbidden("只有分配到该任务的检定员可以操作")


async def _start_entrustment(entrustment_id: int, user: Any) -> None:
    """The first record of a received entrustment starts it (接收 → 检定中)."""
    e = await get_entrustment(entrustment_id)
    action = {"received": "start", "onsite_confirmed": "start_onsite"}.get(e["status"])
    if action:
        with contextlib.suppress(Refused):  # someone else started it meanwhile
            await wf.apply(
                Entrustment,
                entrustment_id,
                ENTRUST_WF,
                action,
                user,
                context=entrustment_context(e),
            )


# ── record and compile (§5.8.3) ───────────────────────────────────────────────────────────────


async def open_record(task_id: int, user: Any, verified_on: date | None = None) -> int:
    """The task's original record: created (draft, pinned to the type's published form) on first use."""
    from metrolab.records.services import create_record

    task = await get_task(task_id)
    _own_task(task, user)
    if task["record"]:
        return task["record"]
    rec = await create_record(
        user,
        customer_id=task["customer_id"],
        instrument_type=task["instrument_type"],
        instrument_name=task["name"],
        verified_on=verified_on,
        nameplate={k: task[k] for k in ("serial", "model", "manufacturer")},
    )
    await VerificationTask.update(
        {VerificationTask.record: rec["id"], VerificationTask.status: "recording"}
    ).where((VerificationTask.id == task_id) & (VerificationTask.record.is_null()))
    await _start_entrustment(task["entrustment"], user)
    return (await get_task(task_id))["record"]


async def compile_certificate(task_id: int, user: Any) -> int:
    """编制: a certificate (编制中) from the task's saved original record."""
    from metrolab.certificates.from_record import certificate_for_record

    task = await get_task(task_id)
    if task["certificate"] and task["certificate_status"] not in ("voided",):
        return task["certificate"]
    if not task["record"]:
        raise Conflict("请先填写并保存原始记录")
    if task["record_status"] != "saved":
        raise Conflict("原始记录尚未保存，不能编制证书")
    cert = await certificate_for_record(task["record"], user=user)
    await VerificationTask.update(
        {VerificationTask.certificate: cert["id"], VerificationTask.status: "certifying"}
    ).where(VerificationTask.id == task_id)
    await audit(
        "task.compiled",
        actor=user,
        target_type="verification_task",
        target_id=task_id,
        details={"certificate": cert["id"]},
    )
    return cert["id"]


# ── the certificate's workflow lives in metrolab.certificates.workflow; the task follows it ─────


async def follow_revision(old_certificate_id: int, new_certificate_id: int) -> None:
    """Hook ``certificate.revised``: revision N+1 takes over the task (its record is open again)."""
    await VerificationTask.update(
        {VerificationTask.certificate: new_certificate_id, VerificationTask.status: "certifying"}
    ).where(VerificationTask.certificate == old_certificate_id)


# ── queries: task counters, certificate progress (§5.8.1, §5.8.7, §5.8.14) ─────────────────────


STAGES = ["compiling", "initial_review", "checking", "approving", "issued", "printed", "released"]


async def task_count(kind: str, user: Any) -> int:
    uid = _uid(user)
    if kind == "compile":  # records to fill and certificates to compile (new or returned)
        return await VerificationTask.count().where(
            (VerificationTask.assigned_to == uid)
            & (
                VerificationTask.status.is_in(["assigned", "recording"])
                | (VerificationTask.certificate.status == "compiling")
            )
        )
    # The verifier of a certificate is its original record's verifier (an indexed join, not JSON).
    if kind == "initial_review":
        return await Certificate.count().where(
            (Certificate.status == "initial_review") & (Certificate.record.verifier == uid)
        )
    if kind in ("checking", "approving"):
        return await Certificate.count().where(
            (Certificate.status == kind)
            & ((Certificate.record.verifier != uid) | Certificate.record.verifier.is_null())
        )
    if kind == "release":
        return await Entrustment.count().where(
            Entrustment.status.is_in(["in_progress", "completed"])
        )
    return 0


async def search_certificates(
    status: str = "",
    q: str = "",
    mine: bool = False,
    user: Any = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    cols = [
        Certificate.id,
        Certificate.number,
        Certificate.status,
        Certificate.revision,
        Certificate.instrument_type,
        Certificate.conclusion,
        Certificate.verified_on,
        Certificate.issued_at,
        Certificate.signers,
        Certificate.context,
        Certificate.lock_version,
        Certificate.pdf_sha256,
        Certificate.issue_error,
        Certificate.customer.name.as_alias("customer_name"),
    ]
    query, count = Certificate.select(*cols), Certificate.count()
    where: list[Combinable] = []
    if status == "issued_any":
        where.append(Certificate.pdf_sha256 != "")
    elif status:
        where.append(Certificate.status == status)
    if q:
        where.append(Certificate.number.ilike(f"%{q}%") | Certificate.customer.name.ilike(f"%{q}%"))
    if issued_from:
        where.append(
            Certificate.issued_at >= datetime.combine(issued_from, datetime.min.time(), UTC)
        )
    if issued_to:
        where.append(Certificate.issued_at < datetime.combine(issued_to, datetime.max.time(), UTC))
    if mine and user is not None:
        where.append(Certificate.record.verifier == _uid(user))
    for w in where:
        query, count = query.where(w), count.where(w)
    # Paged in SQL (newest first, by the primary key): the list stays fast with a million certificates.
    page_no = max(1, page_no)
    rows = (
        await query.order_by(Certificate.id, ascending=False)
        .limit(per_page)
        .offset((page_no - 1) * per_page)
        .output(load_json=True)
    )
    total = await count
    for r in rows:
        r["label"] = certificate_label(r)
        r["serial"] = ((r.get("context") or {}).get("instrument") or {}).get("serial", "")
        r.pop("context", None)
    return rows, total


def progress(status: str) -> int:
    """How far along (§5.8.7 进度): index in the main path."""
    return STAGES.index(status) + 1 if status in STAGES else 0


async def task_for_certificate(certificate_id: int) -> dict[str, Any] | None:
    row = (
        await VerificationTask.select(VerificationTask.id)
        .where(VerificationTask.certificate == certificate_id)
        .first()
    )
    return await get_task(row["id"]) if row else None


# ── release (§5.7.7–§5.7.9) ───────────────────────────────────────────────────────────────────


def signature_png(data_url: str) -> bytes:
    """The customer's on-screen signature: a PNG data URL, bounded and checked."""
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise Refused("请客户在签名框内签名")
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
    except ValueError as exc:
        raise Refused("签名图片无法读取") from exc
    if len(png) > MAX_SIGNATURE_BYTES or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise Refused("签名图片格式不正确或过大")
    return png


async def release(
    entrustment_id: int,
    user: Any,
    *,
    mode: str,
    task_ids: list[int],
    collector: str,
    method: str,
    signature_data_url: str,
    remarks: str = "",
) -> int:
    """Hand over certificates and/or instruments of some tasks, with the customer's signature."""
    if mode not in RELEASE_MODES:
        raise Refused("请选择发放方式（证书和仪表 / 仅仪表 / 仅证书）")
    if method not in RELEASE_METHODS:
        raise Refused("请选择领取方式")
    if not collector.strip():
        raise Refused("请填写领取人")
    png = signature_png(signature_data_url)
    e = await get_entrustment(entrustment_id)
    tasks = {t["id"]: t for t in await tasks_of(entrustment_id)}
    chosen = [tasks[i] for i in task_ids if i in tasks and tasks[i]["status"] != "released"]
    if not chosen:
        raise Refused("请选择要发放的器具")
    with_cert = mode != "instrument_only"
    if with_cert:
        missing = [
            t["serial"] or f"第{t['line']}行"
            for t in chosen
            if not t["certificate"] or t["certificate_status"] not in ("issued", "printed")
        ]
        if missing:
            raise Conflict(f"以下器具的证书尚未批准出具：{'、'.join(missing)}")
        unprinted = [
            t["certificate_number"] or t["serial"]
            for t in chosen
            if t["certificate_status"] == "issued"
        ]
        if unprinted:
            raise Conflict(
                f"以下证书尚未打印，请先在“证书打印”中打印后再发放：{'、'.join(unprinted)}"
            )
    if e["status"] not in ("in_progress", "completed"):
        raise Conflict("委托单尚未开始检定或已发放，不能发放")
    digest = storage.put(png)
    numbers = []
    if with_cert:
        from metrolab.certificates.workflow import act

        for t in chosen:
            cert = await act(t["certificate"], "release", user)
            numbers.append(cert["number"])
    rel = Release(
        entrustment=entrustment_id,
        mode=mode,
        tasks=[t["id"] for t in chosen],
        certificates=numbers,
        collector=collector.strip()[:100],
        method=method,
        signature_sha256=digest,
        remarks=remarks[:2000],
        by=_uid(user),
    )
    await rel.save()
    if mode != "certificate_only":
        await VerificationTask.update(
            {VerificationTask.status: "released", VerificationTask.released_at: datetime.now(UTC)}
        ).where(VerificationTask.id.is_in([t["id"] for t in chosen]))
    remaining = await VerificationTask.count().where(
        (VerificationTask.entrustment == entrustment_id) & (VerificationTask.status != "released")
    )
    e = await get_entrustment(entrustment_id)
    if remaining == 0 and e["status"] == "completed":
        await wf.apply(
            Entrustment,
            entrustment_id,
            ENTRUST_WF,
            "release",
            user,
            context=entrustment_context(e, signed=True),
        )
    await audit(
        "entrustment.released",
        actor=user,
        target_type="entrustment",
        target_id=entrustment_id,
        details={"mode": mode, "tasks": [t["id"] for t in chosen], "collector": collector},
    )
    return rel.id


async def releases_of(entrustment_id: int) -> list[dict[str, Any]]:
    return (
        await Release.select(*Release.all_columns(), Release.by.full_name.as_alias("by_name"))
        .where(Release.entrustment == entrustment_id)
        .order_by(Release.id)
        .output(load_json=True)
    )
