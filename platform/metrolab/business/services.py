"""Business rules and queries: 委托单 (§5.7.1), receipt and assignment (§5.8.2), record and compile
(§5.8.3), initial review / check / approve (§5.8.4–§5.8.6, batch approval), task lists (§5.8.1),
certificate progress (§5.8.7). Release (§5.7.7–§5.7.9) is `business.release`.

The certificate's workflow (seed_data/workflows/certificate.json) is applied through
`metrolab.workflows.services.apply`; its rules (metrolab.workflows.rules) are synchronous, so
`certificate_context` gathers the facts they judge: the verifier's qualification on the verification
date, the standards' validity on that date, who compiled, who verified, who acts.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query.methods.count import Count
from piccolo.query.methods.select import Select

from metrolab import storage
from metrolab.audit.log import record as audit
from metrolab.business.tables import Entrustment, VerificationTask
from metrolab.certificates.tables import Certificate
from metrolab.certificates.workflow import certificate_label
from metrolab.kernel import listing
from metrolab.kernel.errors import Conflict, Forbidden, NotFound, Refused
from metrolab.kernel.paging import Total
from metrolab.kernel.text import CONTROL_CHARS, actor_id, check_plain_text
from metrolab.workflows import services as wf

ENTRUST_WF = "entrustment"
TASK_STATUS_ZH = {
    "registered": "待分配",
    "assigned": "已分配",
    "recording": "原始记录中",
    "certifying": "证书流转中",
    "released": "已发放",
}
# 委托单 whose instruments or certificates are to be handed over (待发放).
AWAITING_RELEASE = ("in_progress", "completed")
# The role whose people are assigned tasks (assign() lists them) and sign 检定 in the certificate workflow.
VERIFIER_ROLE = "verifier"
# Entrustment workflow actions a person takes on the detail page (receive has its own form: the count).
ENTRUSTMENT_ACTIONS = ("complete", "cancel", "schedule_onsite", "confirm_onsite", "start_onsite")
# Bounds of what a clerk types (the columns' sizes; the form definition may be edited, these stay).
MAX_QUANTITY = 100_000
MAX_TEXT = 2000
TEXT_LIMITS = {
    "customer": 200,
    "contact": 100,
    "phone": 50,
    "credit_code": 18,
    "address": 300,
    "model": 100,
    "serial": 100,
    "manufacturer": 200,
}
MAX_VALUES_BYTES = 256 * 1024
MAX_DEPTH = 6


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
    if version_id and (version is None or version.get("form_key") != "entrustment"):
        raise NotFound(f"委托受理单表单版本 {version_id} 不存在")
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
        if _too_many(str((row or {}).get("quantity") or "").strip()):
            problems.append(
                _problem(f"instruments.{i}.quantity", "数量", f"数量不得大于 {MAX_QUANTITY}")
            )
    requested = str(data.get("requested_date") or "").strip()
    if requested and _iso_date(requested) is None:
        problems.append(_problem("requested_date", "要求完成日期", "日期格式应为 YYYY-MM-DD"))
    problems.extend(_text_problems(pin, data))
    return problems, codes


def _too_many(quantity: str) -> bool:
    """A quantity the Integer column cannot hold or no lab receives at once (+1e12, 99999999999…)."""
    try:
        number = Decimal(quantity) if quantity else None
    except InvalidOperation:
        return False  # not a number: the form's own check names it
    return number is not None and number.is_finite() and number > MAX_QUANTITY


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _text_problems(pin: Pinned, data: dict[str, Any]) -> list[Any]:
    """Every typed text within its column's size, without control characters (PostgreSQL cannot
    store NUL): a 中文 problem beside the field instead of a database error."""
    from metrolab.engine.forms.scopes import build
    from metrolab.engine.forms.submission import entry_for_path

    root, _refs = build(pin.defn)
    found: list[Any] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}.{i}")
        elif isinstance(value, str):
            limit = TEXT_LIMITS.get(path.rsplit(".", 1)[-1], MAX_TEXT)
            why = (
                "含有不可见的控制字符，请重新输入"
                if CONTROL_CHARS.search(value)
                else f"过长（至多 {limit} 字）"
                if len(value) > limit
                else ""
            )
            if why:
                entry = entry_for_path(root, path)
                label = (entry.node.get("label") or {}).get("zh") if entry else None
                found.append(_problem(path, label or path, why))

    walk(data, "")
    return found


class FormProblems(Refused):
    """A typed 委托单 with field problems: the page shows each beside its field, the API lists them
    in ``errors`` (field = data path)."""

    def __init__(self, problems: list[Any]) -> None:
        listed = "；".join(f"{p.label_zh}：{p.message_zh}" for p in problems[:5])
        super().__init__(
            f"请按提示修改后再提交：{listed}",
            extra=[{"key": p.path, "message": f"{p.label_zh}：{p.message_zh}"} for p in problems],
        )
        self.problems = problems


def values_as_form(values: dict[str, Any]) -> dict[str, Any]:
    """JSON values of the form (an API body) → the names a page posts (``instruments.0.serial``), so
    both are parsed by the one ``parse_submission``; bounded in size and depth."""
    if len(json.dumps(values, ensure_ascii=False, default=str).encode()) > MAX_VALUES_BYTES:
        raise Refused(f"委托单数据过大（至多 {MAX_VALUES_BYTES // 1024} KB）", status_code=413)
    out: dict[str, Any] = {}

    def walk(value: Any, name: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Refused(f"委托单数据“{name}”嵌套过深")
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{name}.{k}" if name else str(k), depth + 1)
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            for i, v in enumerate(value):
                walk(v, f"{name}.{i}", depth + 1)
        elif isinstance(value, list):  # a multi-valued field (standards, checkboxes)
            out[name] = ["" if v is None else str(v) for v in value]
        else:
            out[name] = (
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )

    walk(values, "", 0)
    return out


async def submit_entrustment(
    user: Any,
    pin: Pinned,
    data: dict[str, Any],
    new_customer: bool = False,
    confirm_similar: bool = False,
) -> dict[str, Any]:
    """受理: the customer picked from the file (or an explicit 新建), its address and contact filling
    the blanks; the typed form checked (FormProblems when something is wrong), then stored."""
    from metrolab.business import customer_pick

    data = await customer_pick.fill_from_customer(data)
    problems, codes = await check_entrustment(pin, data)
    problems[:0] = [
        _problem(path, "委托单位", message)
        for path, message in await customer_pick.customer_problems(
            data, new_customer, confirm_similar
        )
    ]
    if problems:
        raise FormProblems(problems)
    return await create_entrustment(user, pin, data, codes)


async def change_entrustment(
    entrustment_id: int,
    user: Any,
    data: dict[str, Any],
    reason: str,
    expected_lock: int | None = None,
) -> dict[str, Any]:
    """修改委托单 on its pinned form: field problems and a missing reason refused together."""
    from metrolab.business import customer_pick

    e = await get_entrustment(entrustment_id)
    data = await customer_pick.fill_from_customer(data)
    problems, codes = await check_entrustment(await entrustment_form(e["form_version"]), data)
    if str(data.get("customer") or "").strip() != e["customer_name"]:
        problems.append(_problem("customer", "委托单位", "受理后委托单位不能修改"))
    if not (reason or "").strip():
        problems.append(_problem("_reason", "修改原因", "修改委托单必须填写原因"))
    if problems:
        raise FormProblems(problems)
    await modify_entrustment(entrustment_id, user, data, codes, reason, expected_lock)
    return await get_entrustment(entrustment_id)


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
            created_by=actor_id(user),
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


async def tasks_of(entrustment_id: int) -> list[dict[str, Any]]:
    return (
        await _tasks()
        .where(VerificationTask.entrustment == entrustment_id)
        .order_by(VerificationTask.line)
    )


def task_columns() -> list[Any]:
    """A task as its lists and pages show it: its entrustment, customer, record and certificate."""
    return [
        *VerificationTask.all_columns(),
        VerificationTask.assigned_to.full_name.as_alias("assigned_name"),
        VerificationTask.entrustment.number.as_alias("entrustment_number"),
        VerificationTask.entrustment.customer.name.as_alias("customer_name"),  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
        VerificationTask.entrustment.customer.as_alias("customer_id"),
        VerificationTask.certificate.status.as_alias("certificate_status"),
        VerificationTask.certificate.number.as_alias("certificate_number"),
        VerificationTask.record.number.as_alias("record_number"),
        VerificationTask.record.status.as_alias("record_status"),
    ]


def _tasks() -> Select:
    return VerificationTask.select(*task_columns())


async def get_task(task_id: int) -> dict[str, Any]:
    row = await _tasks().where(VerificationTask.id == task_id).first()
    if row is None:
        raise NotFound("检定任务不存在")
    return row


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
    if action not in ENTRUSTMENT_ACTIONS:
        raise NotFound(f"委托单没有“{action[:50]}”这个动作")
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
    """科室接收: at least one and at most the entrustment's instrument count (the lines' quantities)."""
    e = await get_entrustment(entrustment_id)
    quantities = await VerificationTask.select(VerificationTask.quantity).where(
        VerificationTask.entrustment == entrustment_id
    )
    lines, instruments = len(quantities), sum(r["quantity"] for r in quantities)
    if count < 1:
        raise Refused("请填写接收的仪表数量")
    if count > instruments:
        raise Refused(f"接收数量 {count} 台超过委托单的器具数量 {instruments} 台，请核对后重新填写")
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
            Entrustment.received_by: actor_id(user),
            Entrustment.received_count: count,
        },
    )
    if count != instruments:
        await audit(
            "entrustment.received_count_differs",
            actor=user,
            target_type="entrustment",
            target_id=entrustment_id,
            details={"lines": lines, "instruments": instruments, "received": count},
        )


async def verifiers() -> list[dict[str, Any]]:
    from metrolab.accounts.tables import User, UserRole

    ids = [
        r["user"]
        for r in await UserRole.select(UserRole.user).where(UserRole.role.key == VERIFIER_ROLE)
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
    check_plain_text(department, "科室", 100)
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
    if task["assigned_to"] != actor_id(user):
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
    _may_compile(task, user)
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


def _may_compile(task: dict[str, Any], user: Any) -> None:
    """编制 is the task's verifier's, or a 编制人's who is no verifier (业务室: the certificate then
    goes to the verifier's 初审). Another verifier has no business with this task's certificate."""
    if task["assigned_to"] == actor_id(user):
        return
    if VERIFIER_ROLE in (getattr(user, "roles", None) or ()):
        raise Forbidden(
            f"该任务分配给{task['assigned_name'] or '其他检定员'}，只有本人或业务室编制人员可以编制证书"
        )


# ── the certificate's workflow lives in metrolab.certificates.workflow; the task follows it ─────


async def certificate_actions_known() -> set[str]:
    """Actions a person takes on a certificate here: the workflow's, less those taken elsewhere
    (print page, release, delay requests) or by the system (content_changed)."""
    from metrolab.certificates.workflow import CERT_WF, NOT_ON_DETAIL_PAGE

    defn, _v = await wf.definition(CERT_WF)
    return {t.key for t in defn.transitions} - set(NOT_ON_DETAIL_PAGE)


async def certificate_act(
    certificate_id: int,
    action: str,
    user: Any,
    *,
    reason: str | None = None,
    password: str | None = None,
    expected_lock: int | None = None,
) -> dict[str, Any]:
    """One step of a certificate's workflow (submit, check, approve, return, recall…); the action's
    name is checked against the workflow, never trusted; signing steps take the password."""
    from metrolab.certificates import workflow as cw

    if action not in await certificate_actions_known():
        raise NotFound(f"证书流转没有“{action[:50]}”这个动作")
    await cw.get_certificate(certificate_id)  # 404 before anything else
    return await cw.act(
        certificate_id,
        action,
        user,
        reason=reason,
        password=password,
        expected_lock=expected_lock,
    )


async def certificate_workflow(certificate_id: int, user: Any) -> dict[str, Any]:
    """Where a certificate is, how it got there and what this person may do now (and why not)."""
    from metrolab.certificates import workflow as cw
    from metrolab.web.i18n import current_language

    cert = await cw.get_certificate(certificate_id)
    lang = current_language()
    labels = await wf.state_labels(cw.CERT_WF)
    newer = await cw.newer_revision(certificate_id)
    return {
        "id": cert["id"],
        "number": cert["number"],
        "revision": cert["revision"],
        "status": cert["status"],
        "status_label": labels.get(cert["status"], ""),
        "lock_version": cert["lock_version"],
        "progress": progress(cert["status"]),
        "stages": STAGES,
        "newer_revision": newer,
        "pdf_issued": bool(cert["pdf_sha256"]),
        "actions": [
            {
                "action": t.key,
                "label": t.text(lang),
                "signature": t.signature,
                "reason_required": t.reason_required,
                "allowed": refused is None,
                "refusal": refused.message(lang) if refused else None,
            }
            for t, refused in await cw.certificate_actions(cert, user)
        ],
        "history": [_step(h) for h in await wf.history(Certificate, certificate_id)],
    }


def _step(h: dict[str, Any]) -> dict[str, Any]:
    sig = h.get("signature") or {}
    return {
        "at": h["at"],
        "action": h["action"],
        "action_label": h.get("action_label", ""),
        "from_state": h["from_state"],
        "to_state": h["to_state"],
        "actor": h["actor"],
        "actor_name": h["actor_name"],
        "reason": h["reason"],
        "signature": {"meaning": sig.get("meaning"), "sha256": sig.get("sha256")} if sig else None,
    }


async def reissue(certificate_id: int, user: Any) -> dict[str, Any]:
    """重新出具: an approved certificate whose PDF was not made (a crash, a dead converter)."""
    from metrolab.certificates.services import issue
    from metrolab.certificates.workflow import get_certificate

    cert = await get_certificate(certificate_id)
    if cert["status"] != "issued" or cert["pdf_sha256"]:
        raise Conflict("该证书不需要重新出具（只有已批准而未生成 PDF 的证书可以重新出具）")
    return await issue(certificate_id, user=user)


async def preview_pdf(certificate_id: int) -> bytes:
    """The certificate as it would print now (no number yet, a preview QR); once issued, its PDF."""
    import anyio

    from metrolab.certificates import services as certs
    from metrolab.certificates import workflow as cw
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx

    cert = await cw.get_certificate(certificate_id)
    if cert["pdf_sha256"]:
        return storage.get(cert["pdf_sha256"])
    _tv, template = await certs._template_bytes(cert)  # noqa: SLF001 - the same template issue() uses
    # While compiling, the record may still change: show what it says now; later, what was signed.
    ctx = await cw.derive_content(cert) if cert["status"] == "compiling" else dict(cert["context"])
    ctx["certificate"] = {
        **ctx.get("certificate", {}),
        "number": "（预览）",
        "kind": cert["kind"],
        "revision": cert["revision"] - 1,
        "issued_at": date.today(),
    }
    ctx["verify_url"] = "预览"
    ctx["people"] = {k: dict(v) for k, v in ctx.get("people", {}).items()}
    docx = await anyio.to_thread.run_sync(
        render_docx, template, ctx, {"qr_code": qr_png("preview")}
    )
    return await anyio.to_thread.run_sync(certs.to_pdf, docx)


# ── batch approval (§5.8.6): the page and the API ───────────────────────────────────────────


async def approval_queue() -> list[dict[str, Any]]:
    """待批准 certificates, then approved ones whose issue did not finish (a rerun completes them)."""
    from metrolab.certificates.workflow import MAX_BATCH

    waiting, _n = await search_certificates("approving", per_page=MAX_BATCH)
    unfinished, _m = await search_certificates("issued", per_page=MAX_BATCH)
    return waiting + [r for r in unfinished if not r["pdf_sha256"]]


async def approve_batch(ids: list[int], user: Any, password: str) -> Any:
    """批量批准 with one signature; nothing ticked is refused before the password is asked."""
    from metrolab.certificates import workflow as cw

    if not ids:
        raise Refused("请至少勾选一份证书")
    return await cw.approve_batch(ids, user, password)


async def approve_one(certificate_id: int, user: Any, password: str) -> dict[str, Any]:
    """One certificate of a batch the page's script runs: the password is checked first (a wrong
    one is refused 403 and audited, like the batch), then ``{"id", "label", "ok", "number" | "message"}``."""
    from metrolab.certificates import workflow as cw
    from metrolab.workflows.signatures import check_password

    proof = await check_password(user, password)
    return await cw.approve_one(certificate_id, user, proof)


async def follow_revision(old_certificate_id: int, new_certificate_id: int) -> None:
    """Hook ``certificate.revised``: revision N+1 takes over the task (its record is open again)."""
    await VerificationTask.update(
        {VerificationTask.certificate: new_certificate_id, VerificationTask.status: "certifying"}
    ).where(VerificationTask.certificate == old_certificate_id)


# ── queries: task counters, certificate progress (§5.8.1, §5.8.7, §5.8.14) ─────────────────────


STAGES = ["compiling", "initial_review", "checking", "approving", "issued", "printed", "released"]


def to_compile() -> Combinable:
    """Tasks whose record is to be filled or whose certificate to be compiled (new or returned):
    the 待编制 counter and the list it opens."""
    return VerificationTask.status.is_in(["assigned", "recording"]) | (
        VerificationTask.certificate.status == "compiling"
    )


def task_count(kind: str, user: Any) -> Count:
    """The home counter `kind` as a count query (await it, or let the home page batch it)."""
    uid = actor_id(user)
    if kind == "compile":
        return VerificationTask.count().where((VerificationTask.assigned_to == uid) & to_compile())
    # The verifier of a certificate is its original record's verifier (an indexed join, not JSON).
    if kind == "initial_review":
        return Certificate.count().where(
            (Certificate.status == "initial_review") & (Certificate.record.verifier == uid)
        )
    if kind in ("checking", "approving"):
        return Certificate.count().where(
            (Certificate.status == kind)
            & ((Certificate.record.verifier != uid) | Certificate.record.verifier.is_null())
        )
    if kind == "release":
        return Entrustment.count().where(Entrustment.status.is_in(list(AWAITING_RELEASE)))
    raise ValueError(f"unknown task counter {kind!r}")


async def search_certificates(
    status: str = "",
    q: str = "",
    mine: bool = False,
    user: Any = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], Total]:
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
    where: list[Combinable] = []
    if status == "issued_any":
        where.append(Certificate.pdf_sha256 != "")
    elif status:
        where.append(listing.equals(Certificate.status, status))
    if issued_from:
        where.append(
            Certificate.issued_at >= datetime.combine(issued_from, datetime.min.time(), UTC)
        )
    if issued_to:
        where.append(Certificate.issued_at < datetime.combine(issued_to, datetime.max.time(), UTC))
    if mine and user is not None:
        where.append(Certificate.record.verifier == actor_id(user))
    from metrolab.certificates import search

    rows, total = await search.listed(
        cols, where, q, page_no=page_no, per_page=per_page, load_json=True
    )
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
