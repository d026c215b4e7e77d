"""收文管理 (§5.6.4): register an incoming document with its scan, 拟办, the leader's 审核, 传阅 to named
people (each signs off), 办理 by the assignee with the result, 办结 (workflow ``incoming_document``);
overdue when its 办理期限 passed unclosed; query and xlsx export. Pages and API call these."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from metrolab import storage
from metrolab.accounts.tables import User
from metrolab.audit.log import record
from metrolab.engine import workflow as engine
from metrolab.kernel.errors import Conflict, Forbidden, NotFound, Refused
from metrolab.kernel.matching import contains
from metrolab.office.tables import DocumentReader, IncomingDocument
from metrolab.web.auth import CurrentUser
from metrolab.workflows import services as workflows

DOC_WF = "incoming_document"
SCAN_MAX_BYTES = 10 * 1024 * 1024
SCAN_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
FIELDS = {"doc_no": ("来文编号", 100), "sender": ("来文单位", 200), "title": ("标题", 200)}
MAX_READERS = 50
LIST_LIMIT = 500
INT32_MAX = 2**31 - 1


def _text(raw: Any, label: str, limit: int, *, required: bool = True) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if required and not text:
        raise Refused(f"请填写{label}")
    if len(text) > limit or any(not (c.isprintable() or c == "\n") for c in text):
        raise Refused(f"{label}：至多 {limit} 字，不能含控制字符")
    return text


def _date(raw: Any, label: str, *, required: bool = True) -> date | None:
    if isinstance(raw, date):
        return raw
    if not raw and not required:
        return None
    try:
        return date.fromisoformat(str(raw or "").strip()[:10])
    except ValueError:
        raise Refused(f"{label}：日期格式应为 YYYY-MM-DD") from None


def scan_type(data: bytes) -> str:
    """The scan's media type from its first bytes (PDF, PNG, JPEG); 400 for anything else or too big."""
    if len(data) > SCAN_MAX_BYTES:
        raise Refused(f"扫描件：至多 {SCAN_MAX_BYTES // 1024 // 1024} MB")
    for magic, media in SCAN_TYPES.items():
        if data.startswith(magic):
            return media
    raise Refused("扫描件：只接受 PDF、PNG 或 JPEG 文件")


async def register(
    values: dict[str, Any], scan: bytes, scan_name: str, user: CurrentUser
) -> dict[str, Any]:
    """登记 an incoming document (with its scan, if any)."""
    clean = {name: _text(values.get(name), label, n) for name, (label, n) in FIELDS.items()}
    received = _date(values.get("received_on"), "收文日期")
    due = _date(values.get("due_date"), "办理期限", required=False)
    if due is not None and received is not None and due < received:
        raise Refused("办理期限不能早于收文日期")
    media, digest = "", ""
    if scan:
        media = scan_type(scan)
        digest = storage.put(scan)
    doc = IncomingDocument(
        doc_no=clean["doc_no"],
        sender=clean["sender"],
        title=clean["title"],
        received_on=received,
        due_date=due,
        scan_sha256=digest,
        scan_name=_text(scan_name, "文件名", 200, required=False)[:200] if scan else "",
        scan_type=media,
        registered_by=user.id,
    )
    await doc.save()
    await record(
        "incoming_document.registered",
        actor=user,
        target_type="incoming_document",
        target_id=doc.id,
        details={"doc_no": clean["doc_no"], "sender": clean["sender"], "scan": digest},
    )
    return await get(doc.id)


async def get(doc_id: int) -> dict[str, Any]:
    row = None
    if 0 < doc_id <= INT32_MAX:
        row = (
            await IncomingDocument.select(
                *IncomingDocument.all_columns(),
                IncomingDocument.registered_by.full_name.as_alias("registered_by_name"),
                IncomingDocument.proposer.full_name.as_alias("proposer_name"),
                IncomingDocument.assignee.full_name.as_alias("assignee_name"),
            )
            .where(IncomingDocument.id == doc_id)
            .first()
        )
    if row is None:
        raise NotFound("收文不存在")
    row["overdue"] = _overdue(row)
    row["readers"] = (
        await DocumentReader.select(
            DocumentReader.reader,
            DocumentReader.reader.full_name.as_alias("name"),
            DocumentReader.read_at,
            DocumentReader.note,
        )
        .where(DocumentReader.document == doc_id)
        .order_by(DocumentReader.id)
    )
    return row


def _overdue(row: dict[str, Any]) -> bool:
    return bool(row["due_date"] and row["due_date"] < date.today() and row["status"] != "closed")


def context(row: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    return {
        "actor": user.id,
        "proposer": row["proposer"],
        "assignee": row["assignee"],
        "readers": len(row["readers"]),
        "unread": sum(1 for r in row["readers"] if r["read_at"] is None),
        "has_result": bool(row["result"]),
    }


async def actions(row: dict[str, Any], user: CurrentUser) -> list[tuple[Any, Any]]:
    defn, _v = await workflows.definition(DOC_WF)
    return engine.action_status(defn, row["status"], user.roles, context(row, user))


async def _users(ids: list[int]) -> list[int]:
    ids = sorted({i for i in ids if 0 < i <= INT32_MAX})
    if not ids:
        return []
    found = await User.select(User.id).where(User.id.is_in(ids) & (User.is_active == True))  # noqa: E712
    if len(found) != len(ids):
        raise Refused("传阅人或办理人不存在")
    return ids


async def act(
    doc_id: int,
    action: str,
    user: CurrentUser,
    *,
    comment: str | None = None,
    readers: list[int] | None = None,
    assignee: int | None = None,
    result: str | None = None,
    expected_lock: int | None = None,
) -> workflows.Applied:
    """One step: 拟办 (the comment is the proposal), 审核 / 退回, 传阅 (readers and assignee chosen),
    交办理, 办结 (the assignee's result)."""
    row = await get(doc_id)
    comment = _text(comment or "", "意见", 2000, required=False) or None
    changes: dict[Any, Any] = {}
    if action == "propose" and comment:
        changes = {IncomingDocument.proposal: comment, IncomingDocument.proposer: user.id}
    elif action in ("review", "send_back") and comment:
        changes = {IncomingDocument.review_comment: comment}
    elif action == "circulate":
        if len(readers or []) > MAX_READERS:
            raise Refused(f"传阅人：至多 {MAX_READERS} 人")
        chosen = await _users(list(readers or []))
        person = (await _users([assignee]))[0] if assignee else None
        row["readers"] = [{"read_at": None} for _ in chosen]
        row["assignee"] = person
        changes = {IncomingDocument.assignee: person}
    elif action == "close" and row["assignee"] == user.id and result is not None:
        row["result"] = _text(result, "办理结果", 5000)
        changes = {IncomingDocument.result: row["result"]}
    applied = await workflows.apply(
        IncomingDocument,
        doc_id,
        DOC_WF,
        action,
        user,
        context=context(row, user),
        reason=comment,
        expected_lock=expected_lock,
        changes=changes,
    )
    if action == "circulate":
        await DocumentReader.delete().where(DocumentReader.document == doc_id)
        await DocumentReader.insert(*[DocumentReader(document=doc_id, reader=r) for r in chosen])
    return applied


async def sign_off(doc_id: int, user: CurrentUser, note: str = "") -> dict[str, Any]:
    """A named reader signs the circulated document off (签阅), once."""
    row = await get(doc_id)
    if row["status"] != "circulating":
        raise Conflict("收文不在传阅中")
    mine = [r for r in row["readers"] if r["reader"] == user.id]
    if not mine:
        raise Forbidden("您不是该收文的传阅人")
    if mine[0]["read_at"] is not None:
        raise Conflict("您已签阅")
    await DocumentReader.update(
        {
            DocumentReader.read_at: datetime.now(UTC),
            DocumentReader.note: _text(note, "签阅意见", 500, required=False),
        }
    ).where((DocumentReader.document == doc_id) & (DocumentReader.reader == user.id))
    await record(
        "incoming_document.read",
        actor=user,
        target_type="incoming_document",
        target_id=doc_id,
        details={"note": note[:500]},
    )
    return await get(doc_id)


async def query(
    q: str = "", status: str = "", start: Any = None, end: Any = None, overdue: bool = False
) -> list[dict[str, Any]]:
    """查询 by number / sender / title, state and 收文日期; newest first; each marked overdue."""
    where: list[Any] = []
    q = "".join(ch for ch in q if ch.isprintable())[:200].strip()
    if q:
        where.append(
            contains(IncomingDocument.doc_no, q)
            | contains(IncomingDocument.sender, q)
            | contains(IncomingDocument.title, q)
        )
    if status:
        where.append(IncomingDocument.status == status[:50])
    if start:
        where.append(IncomingDocument.received_on >= _date(start, "开始日期"))
    if end:
        where.append(IncomingDocument.received_on <= _date(end, "结束日期"))
    if overdue:
        where.append(
            (IncomingDocument.due_date < date.today()) & (IncomingDocument.status != "closed")
        )
    query = IncomingDocument.select(
        *IncomingDocument.all_columns(),
        IncomingDocument.assignee.full_name.as_alias("assignee_name"),
    )
    for condition in where:
        query = query.where(condition)
    rows = await query.order_by(IncomingDocument.id, ascending=False).limit(LIST_LIMIT)
    for row in rows:
        row["overdue"] = _overdue(row)
    return rows


async def export_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from metrolab.statistics.exports import xlsx_bytes
    from metrolab.web.i18n import _

    labels = await workflows.state_labels(DOC_WF)
    header = [
        "来文编号",
        "来文单位",
        "标题",
        "收文日期",
        "办理期限",
        "状态",
        "逾期",
        "办理人",
        "办理结果",
    ]
    body = [
        [
            r["doc_no"],
            r["sender"],
            r["title"],
            r["received_on"].isoformat(),
            r["due_date"].isoformat() if r["due_date"] else "",
            labels.get(r["status"], ""),
            _("逾期") if r["overdue"] else "",
            r["assignee_name"] or "",
            r["result"],
        ]
        for r in rows
    ]
    return xlsx_bytes(_("收文"), header, body)


async def staff() -> list[dict[str, Any]]:
    return (
        await User.select(User.id, User.full_name)
        .where(User.is_active == True)  # noqa: E712 - a SQL comparison
        .order_by(User.full_name)
    )
