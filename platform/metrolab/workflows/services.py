"""Run objects through their workflows: load stored definitions, compute available actions, and apply
a transition atomically (optimistic locking on `lock_version`), recording it with its signature.

Any table with `status` and `lock_version` columns can be driven: certificates, entrustments, delay
requests, and later office processes (收文, 报价单) — they differ only in their definition (data)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.table import Table

from metrolab.audit import chain
from metrolab.audit.log import record
from metrolab.engine import workflow as engine
from metrolab.kernel.errors import NotFound, Refused
from metrolab.kernel.matching import contains
from metrolab.paths import data_folder
from metrolab.web.auth import CurrentUser
from metrolab.workflows.signatures import SignerProof, sign
from metrolab.workflows.tables import TransitionRecord, WorkflowVersion


class TransitionConflict(Refused):
    status_code = 409


@dataclass(frozen=True)
class Applied:
    from_state: str
    to_state: str
    transition: engine.Transition
    signature: dict[str, Any] | None


@dataclass(frozen=True)
class EffectCall:
    """What an effect is told: which object moved, by whom, why, and the step taken."""

    table: type[Table]
    object_id: int
    user: CurrentUser
    reason: str | None
    applied: Applied


# The effects a definition's transitions may name, by name: filled by metrolab.features from each
# feature's EFFECTS; a definition naming anything else is refused when it is loaded. An effect runs
# after the move commits; one that carries a ``during`` coroutine function also runs that inside the
# move's transaction (a write that must commit or fail with the move: a queued job, say).
EFFECTS: dict[str, Callable[[EffectCall], Awaitable[None]]] = {}


def _known_effects() -> dict[str, Callable[[EffectCall], Awaitable[None]]]:
    from metrolab.features import wire

    wire()
    return EFFECTS


def load(raw: Any) -> engine.WorkflowDefinition:
    """A definition, refused if it names a rule or an effect that no feature implements."""
    known = _known_effects()
    return engine.load_definition(raw, known_rules=engine.RULES, known_effects=known)


async def seed_workflows() -> int:
    """Store each shipped definition; a changed file becomes a new active version."""
    n = 0
    for path in sorted((data_folder("seed_data") / "workflows").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        load(raw)  # refuse a broken file before storing anything
        digest = hashlib.sha256(
            json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        latest = (
            await WorkflowVersion.select()
            .where(WorkflowVersion.key == raw["key"])
            .order_by(WorkflowVersion.version, ascending=False)
            .first()
        )
        if latest and latest["sha256"] == digest:
            continue
        version = max(int(raw.get("version", 1)), (latest["version"] + 1) if latest else 1)
        await WorkflowVersion.update({WorkflowVersion.active: False}).where(
            WorkflowVersion.key == raw["key"]
        )
        await WorkflowVersion.insert(
            WorkflowVersion(key=raw["key"], version=version, definition=raw, sha256=digest)
        )
        n += 1
    return n


async def definition(key: str) -> tuple[engine.WorkflowDefinition, int]:
    row = (
        await WorkflowVersion.select()
        .where((WorkflowVersion.key == key) & (WorkflowVersion.active == True))  # noqa: E712 - a SQL comparison
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise Refused(f"工作流 {key} 未载入（请执行 metrolab seed）", status_code=500)
    return load(row["definition"]), row["version"]


async def state_labels(key: str) -> dict[str, str]:
    """{state: label in the user's language} of a workflow: no raw state key on a page."""
    from metrolab.web.i18n import current_language

    defn, _v = await definition(key)
    return {s.key: s.text(current_language()) for s in defn.states.values()}


async def available(
    key: str, state: str, user: CurrentUser, context: dict[str, Any]
) -> list[engine.Transition]:
    defn, _ = await definition(key)
    return engine.available_actions(defn, state, user.roles, context)


async def apply(
    table: type[Table],
    object_id: int,
    key: str,
    action: str,
    user: CurrentUser,
    *,
    context: dict[str, Any],
    reason: str | None = None,
    password: str | SignerProof | None = None,
    expected_lock: int | None = None,
    signed_content: Any = None,
    changes: dict[Any, Any] | None = None,
    signature_into: Any = None,
) -> Applied:
    """Move one object: check state, role, guard, rules, reason and signature; then update it only if
    nobody moved it meanwhile (lock_version), and record the step. Refusals say which rule refused.
    ``signature_into``: a column of the object that keeps a copy of the step's signature."""
    if reason is not None and (len(reason) > MAX_REASON or "\x00" in reason):
        raise Refused(f"原因：至多 {MAX_REASON} 字，不能含空字符")
    defn, version = await definition(key)
    row = (
        await table.select(table.status, table.lock_version)
        .where(table._meta.primary_key == object_id)
        .first()
    )
    if row is None:
        raise NotFound("对象不存在")
    if expected_lock is not None and expected_lock != row["lock_version"]:
        raise TransitionConflict(detail="该记录已被他人处理，请刷新后再操作")
    try:
        step = engine.check_transition(
            defn, row["status"], action, user.roles, context, reason=reason, signed=True
        )
    except engine.TransitionRefused as refused:
        raise Refused(
            refused.message_zh, status_code=refused.http_status, detail_en=refused.message_en
        ) from refused
    signature = None
    if step.signature:
        signature = await sign(
            user,
            password,
            step.signature,
            signed_content
            if signed_content is not None
            else {"object": table._meta.tablename, "id": object_id, "action": action},
        )
    to_state = step.target(row["status"])
    values = {
        table.status: to_state,
        table.lock_version: row["lock_version"] + 1,
        **(changes or {}),
    }
    if signature_into is not None and signature:  # the object shows its signature (same shape)
        values[signature_into] = signature
    applied = Applied(row["status"], to_state, step, signature)
    effects = _known_effects()
    call = EffectCall(table, object_id, user, reason, applied)
    # The move and its record commit together; the lock_version condition makes a concurrent move lose.
    async with table._meta.db.transaction():
        moved = (
            await table.update(values)
            .where(
                (table._meta.primary_key == object_id) & (table.lock_version == row["lock_version"])
            )
            .returning(table._meta.primary_key)
        )
        if not moved:
            raise TransitionConflict(detail="该记录刚被他人处理，本次操作未生效，请刷新后查看")
        step_row = await TransitionRecord.insert(
            TransitionRecord(
                workflow_key=key,
                workflow_version=version,
                object_type=table._meta.tablename,
                object_id=object_id,
                action=action,
                from_state=row["status"],
                to_state=to_state,
                actor=user.id,
                actor_name=user.full_name,
                reason=reason or "",
                signature=signature or {},
            )
        ).returning(TransitionRecord.id)
        await chain.seal("workflow_transition", step_row[0]["id"])  # the step and its signature
        for name in step.effects:
            if during := getattr(effects[name], "during", None):
                await during(call)
    await record(
        f"{table._meta.tablename}.{action}",
        actor=user,
        target_type=table._meta.tablename,
        target_id=object_id,
        details={"from": row["status"], "to": to_state, "reason": reason or ""},
    )
    # The definition names what follows the move (issue the certificate, open revision N+1…).
    for name in step.effects:
        await effects[name](call)
    return applied


async def history(table: type[Table], object_id: int) -> list[dict[str, Any]]:
    """The object's steps, oldest first, each with ``action_label`` in the user's language."""
    from metrolab.web.i18n import current_language

    rows = (
        await TransitionRecord.select()
        .where(
            (TransitionRecord.object_type == table._meta.tablename)
            & (TransitionRecord.object_id == object_id)
        )
        .order_by(TransitionRecord.id)
        .output(load_json=True)
    )
    labels: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["workflow_key"] not in labels:
            defn, _v = await definition(row["workflow_key"])
            labels[row["workflow_key"]] = {
                t.key: t.text(current_language()) for t in defn.transitions
            }
        row["action_label"] = labels[row["workflow_key"]].get(row["action"], "")
    return rows


# ── delay requests (§5.8.10): register, act, query — the pages and the API call these ─────────

DELAY_WF = "delay_request"
DELAY_LIST_LIMIT = 200
MAX_SUBJECT = 100  # DelayRequest.subject
MAX_REASON = 2000


def delay_context(row: dict[str, Any], user_id: int) -> dict[str, Any]:
    return {
        "requester": row["requester"],
        "actor": user_id,
        "due_date": row["due_date"].isoformat(),
        "new_due_date": row["new_due_date"].isoformat(),
    }


async def get_delay(delay_id: int) -> dict[str, Any]:
    from metrolab.workflows.tables import DelayRequest

    row = None
    if 0 < delay_id <= 2**31 - 1:  # a larger id is "not found", never a database error
        row = (
            await DelayRequest.select(
                *DelayRequest.all_columns(),
                DelayRequest.requester.full_name.as_alias("requester_name"),
            )
            .where(DelayRequest.id == delay_id)
            .first()
        )
    if row is None:
        raise NotFound("延时申请不存在")
    return row


async def delays(status: str = "", q: str = "") -> list[dict[str, Any]]:
    """The newest delay requests, by state and by text in 证书编号或任务."""
    from metrolab.workflows.tables import DelayRequest

    query = DelayRequest.select(
        *DelayRequest.all_columns(), DelayRequest.requester.full_name.as_alias("requester_name")
    )
    if status:
        query = query.where(DelayRequest.status == status[:50])
    q = "".join(ch for ch in q if ch.isprintable())[:200].strip()
    if q:
        query = query.where(contains(DelayRequest.subject, q))
    return await query.order_by(DelayRequest.id, ascending=False).limit(DELAY_LIST_LIMIT)


def _clean(text: Any) -> str:
    return text.strip() if isinstance(text, str) else ""


def delay_problems(values: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """({field: 中文 problem}, the clean values: subject, reason and the two dates as ``date``).
    Dates come as ``date`` (API) or ISO text (the page's form)."""

    from metrolab.web.i18n import _

    problems: dict[str, str] = {}
    clean: dict[str, Any] = {"subject": _clean(values.get("subject")), "reason": ""}
    if not clean["subject"]:
        problems["subject"] = _("请查找并选择要延时的证书或委托单")
    elif len(clean["subject"]) > MAX_SUBJECT or not clean["subject"].isprintable():
        problems["subject"] = _("证书编号或任务：至多 {n} 个字符，不能含控制字符", n=MAX_SUBJECT)
    for name, label in (("due_date", "原应完成日期"), ("new_due_date", "申请完成日期")):
        raw = values.get(name)
        try:
            clean[name] = raw if isinstance(raw, date) else date.fromisoformat(_clean(raw))
        except ValueError:
            problems[name] = _("{label}：日期格式应为 YYYY-MM-DD", label=_(label))
    if (
        "due_date" in clean
        and "new_due_date" in clean
        and clean["new_due_date"] <= clean["due_date"]
    ):
        problems["new_due_date"] = _("申请完成日期必须晚于原应完成日期")
    reason = _clean(values.get("reason"))
    if not reason:
        problems["reason"] = _("请填写延时原因")
    elif len(reason) > MAX_REASON or "\x00" in reason:
        problems["reason"] = _("延时原因：至多 {n} 字，不能含空字符", n=MAX_REASON)
    clean["reason"] = reason
    return problems, clean


async def current_due(subject: str, base: date | None) -> date | None:
    """The due date of a certificate or entrustment now: the latest approved delay's new date,
    else ``base`` (the entrustment's 要求完成日期). Derived, never copied, so it cannot drift."""
    from metrolab.workflows.tables import DelayRequest

    latest = (
        await DelayRequest.select(DelayRequest.new_due_date)
        .where((DelayRequest.subject == subject) & (DelayRequest.status == "approved"))
        .order_by(DelayRequest.new_due_date, ascending=False)
        .first()
    )
    return latest["new_due_date"] if latest else base


async def subject_due(subject: str) -> tuple[bool, date | None]:
    """(``subject`` is a real 证书编号 or 委托单号, its due date now)."""
    from metrolab.business.tables import Entrustment, VerificationTask
    from metrolab.certificates.tables import Certificate

    e = await Entrustment.select(Entrustment.requested_date).where(Entrustment.number == subject)
    if e:
        return True, await current_due(subject, e[0]["requested_date"])
    if not await Certificate.exists().where(Certificate.number == subject):
        return False, None
    task = (
        await VerificationTask.select(
            VerificationTask.entrustment.requested_date.as_alias("requested_date")
        )
        .where(VerificationTask.certificate.number == subject)
        .first()
    )
    return True, await current_due(subject, task["requested_date"] if task else None)


SUBJECT_SUGGESTIONS = 10


async def suggest_subjects(q: str) -> list[dict[str, Any]]:
    """申请延时 picks its subject: entrustments and certificates whose number, customer or (for a
    certificate) 出厂编号 contains what was typed, each with its due date now."""
    from metrolab.business.tables import Entrustment, VerificationTask

    q = _clean(q)
    if not q:
        return []
    out: list[dict[str, Any]] = []
    for e in (
        await Entrustment.select(
            Entrustment.number,
            Entrustment.requested_date,
            Entrustment.customer.name.as_alias("customer_name"),
        )
        .where(contains(Entrustment.number, q) | contains(Entrustment.customer.name, q))
        .order_by(Entrustment.id, ascending=False)
        .limit(SUBJECT_SUGGESTIONS)
    ):
        out.append(
            {
                "subject": e["number"],
                "kind": "entrustment",
                "label": e["customer_name"] or "",
                "due_date": await current_due(e["number"], e["requested_date"]),
            }
        )
    for c in (
        await VerificationTask.select(
            VerificationTask.certificate.number.as_alias("number"),
            VerificationTask.name,
            VerificationTask.serial,
            VerificationTask.entrustment.requested_date.as_alias("requested_date"),
            VerificationTask.entrustment.customer.name.as_alias("customer_name"),  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
        )
        .where(
            (VerificationTask.certificate.number != "")
            & (
                contains(VerificationTask.certificate.number, q)
                | contains(VerificationTask.serial, q)
                | contains(VerificationTask.entrustment.customer.name, q)  # type: ignore[union-attr]  # as above
            )
        )
        .order_by(VerificationTask.id, ascending=False)
        .limit(SUBJECT_SUGGESTIONS)
    ):
        if not c["number"]:
            continue
        out.append(
            {
                "subject": c["number"],
                "kind": "certificate",
                "label": " ".join(x for x in (c["customer_name"], c["name"], c["serial"]) if x),
                "due_date": await current_due(c["number"], c["requested_date"]),
            }
        )
    return out[: SUBJECT_SUGGESTIONS * 2]


async def create_delay(values: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    """登记 a delay request for a real certificate or entrustment; its 原应完成日期 is the subject's
    due date now (when it has one); 400 naming each field when a value is wrong."""
    from metrolab.web.i18n import _
    from metrolab.workflows.tables import DelayRequest

    problems, clean = delay_problems(values)
    if "subject" not in problems:
        real, due = await subject_due(clean["subject"])
        if not real:
            problems["subject"] = _(
                "没有编号为“{s}”的证书或委托单，请填写已有的证书编号或委托单号", s=clean["subject"]
            )
        elif due is not None:
            clean["due_date"] = due
            problems.pop("due_date", None)
            if "new_due_date" in clean and clean["new_due_date"] <= due:
                problems["new_due_date"] = _("申请完成日期必须晚于原应完成日期")
            else:
                problems.pop("new_due_date", None)
    if problems:
        raise Refused(
            "；".join(problems.values()),
            extra=[{"key": k, "message": v} for k, v in problems.items()],
        )
    delay = DelayRequest(
        subject=clean["subject"],
        requester=user.id,
        reason=clean["reason"],
        due_date=clean["due_date"],
        new_due_date=clean["new_due_date"],
    )
    await delay.save()
    await record(
        "delay_request.registered",
        actor=user,
        target_type="delay_request",
        target_id=delay.id,
        details={"subject": clean["subject"]},
    )
    return await get_delay(delay.id)


async def delay_actions(row: dict[str, Any], user: CurrentUser) -> list[tuple[Any, Any]]:
    """(transition, refusal or None) of a delay request for this person now."""
    defn, _v = await definition(DELAY_WF)
    return engine.action_status(defn, row["status"], user.roles, delay_context(row, user.id))


async def act_delay(
    delay_id: int,
    action: str,
    user: CurrentUser,
    *,
    reason: str | None = None,
    password: str | None = None,
    expected_lock: int | None = None,
) -> Applied:
    """One step of a delay request's workflow (批准 / 驳回 / 撤回)."""
    from metrolab.workflows.tables import DelayRequest

    row = await get_delay(delay_id)
    return await apply(
        DelayRequest,
        delay_id,
        DELAY_WF,
        action,
        user,
        context=delay_context(row, user.id),
        reason=(reason or "").strip() or None,
        password=password or None,
        expected_lock=expected_lock,
    )
