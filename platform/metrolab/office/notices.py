"""消息公告 (§5.6.3): write a notice (plain-text body, attachments), target all / departments / roles,
publish (recipients resolved then), read receipts per person (opening marks read; 确认已读 / 已办理
when the notice asks for it), 执行情况 for the author, withdraw, delete (drafts or withdrawn only; the
audit row stays). Pages and API call these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from metrolab import storage
from metrolab.accounts.tables import Department, Role, User, UserRole
from metrolab.audit.log import record
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.office.documents import INT32_MAX, _text, scan_type
from metrolab.office.tables import Notice, NoticeRecipient
from metrolab.settings import get_settings
from metrolab.web.auth import CurrentUser

PUBLISH = "office.notices.publish"
ACTIONS = ("", "acknowledge", "done")
MAX_ATTACHMENTS = 10
MAX_TARGETS = 100
BODY_LIMIT = 20000
LIST_LIMIT = 200


def blocks(body: str) -> list[tuple[str, Any]]:
    """The body as ("p", text) and ("ul", [items]) blocks; the template escapes every text."""
    out: list[tuple[str, Any]] = []
    para: list[str] = []
    for line in [*body.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("- ") or not stripped:
            if para:
                out.append(("p", " ".join(para)))
                para = []
            if stripped:
                if not out or out[-1][0] != "ul":
                    out.append(("ul", []))
                out[-1][1].append(stripped[2:].strip())
            continue
        if out and out[-1][0] == "ul" and not para and line[:1].isspace():
            out[-1][1][-1] += " " + stripped  # a continued list item
            continue
        para.append(stripped)
    return out


def _attachment(data: bytes, name: str) -> dict[str, Any]:
    limit = get_settings().upload_max_bytes
    if len(data) > limit:
        raise Refused(f"附件：至多 {limit // 1024 // 1024} MB")
    try:
        media = scan_type(data)
    except Refused:
        raise Refused("附件：只接受 PDF、PNG 或 JPEG 文件") from None
    return {
        "sha256": storage.put(data),
        "name": _text(name, "附件文件名", 200, required=False) or "attachment",
        "type": media,
        "size": len(data),
    }


async def _clean_targets(
    target_all: bool, departments: list[int], roles: list[str]
) -> tuple[list[int], list[str]]:
    if len(departments) > MAX_TARGETS or len(roles) > MAX_TARGETS:
        raise Refused(f"发布范围：至多 {MAX_TARGETS} 项")
    depts = sorted({d for d in departments if 0 < d <= INT32_MAX})
    known = (
        {r["id"] for r in await Department.select(Department.id).where(Department.id.is_in(depts))}
        if depts
        else set()
    )
    if set(depts) - known:
        raise Refused("发布范围：科室不存在")
    keys = sorted(set(roles))
    known_roles = (
        {r["key"] for r in await Role.select(Role.key).where(Role.key.is_in(keys))}
        if keys
        else set()
    )
    if set(keys) - known_roles:
        raise Refused("发布范围：角色不存在")
    if not target_all and not depts and not keys:
        raise Refused("发布范围：请选择全体人员、科室或角色")
    return depts, keys


async def create(
    values: dict[str, Any],
    files: list[tuple[bytes, str]],
    user: CurrentUser,
) -> dict[str, Any]:
    """撰写: a draft notice."""
    title = _text(values.get("title"), "标题", 200)
    raw = values.get("body")
    # Browsers send a textarea's lines with CRLF.
    body = _text(raw.replace("\r\n", "\n") if isinstance(raw, str) else raw, "正文", BODY_LIMIT)
    action = values.get("needs_action") or ""
    if action not in ACTIONS:
        raise Refused("要求：只能是无、确认已读或已办理")
    target_all = bool(values.get("target_all"))
    depts, roles = await _clean_targets(
        target_all, list(values.get("departments") or []), list(values.get("roles") or [])
    )
    files = [(data, name) for data, name in files if data]
    if len(files) > MAX_ATTACHMENTS:
        raise Refused(f"附件：至多 {MAX_ATTACHMENTS} 个")
    attachments = [_attachment(data, name) for data, name in files]
    notice = Notice(
        title=title,
        body=body,
        needs_action=action,
        target_all=target_all,
        target_departments=depts,
        target_roles=roles,
        attachments=attachments,
        author=user.id,
    )
    await notice.save()
    await record(
        "notice.created",
        actor=user,
        target_type="notice",
        target_id=notice.id,
        details={"title": title, "attachments": [a["sha256"] for a in attachments]},
    )
    return await _row(notice.id)


async def _row(notice_id: int) -> dict[str, Any]:
    row = None
    if 0 < notice_id <= INT32_MAX:
        row = (
            await Notice.select(
                *Notice.all_columns(), Notice.author.full_name.as_alias("author_name")
            )
            .where(Notice.id == notice_id)
            .output(load_json=True)
            .first()
        )
    if row is None:
        raise NotFound("消息公告不存在")
    return row


async def _receipt(notice_id: int, user: CurrentUser) -> dict[str, Any] | None:
    return (
        await NoticeRecipient.select()
        .where((NoticeRecipient.notice == notice_id) & (NoticeRecipient.person == user.id))
        .first()
    )


async def _manages(row: dict[str, Any], user: CurrentUser) -> bool:
    return bool(row["author"] == user.id)


async def open_notice(notice_id: int, user: CurrentUser) -> dict[str, Any]:
    """查看: the author / a publisher sees any of theirs; a targeted person sees it while published
    (and it is marked read). Anyone else: 404, as if it did not exist."""
    row = await _row(notice_id)
    receipt = await _receipt(notice_id, user) if row["status"] == "published" else None
    if receipt is None and not await _manages(row, user):
        raise NotFound("消息公告不存在")
    if receipt is not None and receipt["read_at"] is None:
        now = datetime.now(UTC)
        await NoticeRecipient.update({NoticeRecipient.read_at: now}).where(
            NoticeRecipient.id == receipt["id"]
        )
        receipt["read_at"] = now
    row["receipt"] = receipt
    row["manage"] = await _manages(row, user)
    return row


async def confirm(notice_id: int, user: CurrentUser) -> dict[str, Any]:
    """确认已读 / 已办理 as the notice asks."""
    row = await open_notice(notice_id, user)
    receipt = row["receipt"]
    if receipt is None:
        raise Conflict("该公告没有发给您，无需确认")
    if not row["needs_action"]:
        raise Conflict("该公告不要求确认")
    column = (
        NoticeRecipient.done_at
        if row["needs_action"] == "done"
        else NoticeRecipient.acknowledged_at
    )
    key = column._meta.name
    if receipt[key] is None:
        receipt[key] = datetime.now(UTC)
        await NoticeRecipient.update({column: receipt[key]}).where(
            NoticeRecipient.id == receipt["id"]
        )
        await record(
            f"notice.{row['needs_action']}",
            actor=user,
            target_type="notice",
            target_id=notice_id,
        )
    return row


async def _recipients(row: dict[str, Any]) -> list[int]:
    users = User.select(User.id).where(User.is_active == True)  # noqa: E712
    if row["target_all"]:
        return [u["id"] for u in await users]
    ids: set[int] = set()
    if row["target_departments"]:
        ids |= {
            u["id"] for u in await users.where(User.department.is_in(row["target_departments"]))
        }
    if row["target_roles"]:
        ids |= {
            r["user"]
            for r in await UserRole.select(UserRole.user).where(
                UserRole.role.key.is_in(row["target_roles"]) & (UserRole.user.is_active == True)  # noqa: E712
            )
        }
    return sorted(ids)


async def act(notice_id: int, action: str, user: CurrentUser) -> dict[str, Any] | None:
    """发布 (draft → published), 撤回 (published → withdrawn), 删除 (draft / withdrawn only)."""
    row = await _row(notice_id)
    if not await _manages(row, user) or not user.can(PUBLISH):
        raise NotFound("消息公告不存在")
    now = datetime.now(UTC)
    if action == "publish":
        if row["status"] != "draft":
            raise Conflict("只能发布草稿")
        people = await _recipients(row)
        if not people:
            raise Conflict("发布范围内没有人员")
        await NoticeRecipient.insert(*[NoticeRecipient(notice=notice_id, person=p) for p in people])
        await Notice.update({Notice.status: "published", Notice.published_at: now}).where(
            Notice.id == notice_id
        )
        details: dict[str, Any] = {"recipients": len(people)}
    elif action == "withdraw":
        if row["status"] != "published":
            raise Conflict("只能撤回已发布的公告")
        await Notice.update({Notice.status: "withdrawn", Notice.withdrawn_at: now}).where(
            Notice.id == notice_id
        )
        details = {}
    elif action == "delete":
        if row["status"] == "published":
            raise Conflict("已发布的公告不能删除，请先撤回")
        await Notice.delete().where(Notice.id == notice_id)
        details = {"title": row["title"], "status": row["status"]}
    else:
        raise NotFound("没有这个动作")
    await record(
        f"notice.{action}ed" if action != "delete" else "notice.deleted",
        actor=user,
        target_type="notice",
        target_id=notice_id,
        details=details,
    )
    return None if action == "delete" else await _row(notice_id)


async def status(notice_id: int, user: CurrentUser) -> dict[str, Any]:
    """执行情况: each targeted person and when they read / acknowledged / did it."""
    row = await _row(notice_id)
    if not await _manages(row, user):
        raise NotFound("消息公告不存在")
    row["recipients"] = (
        await NoticeRecipient.select(
            NoticeRecipient.person,
            NoticeRecipient.person.full_name.as_alias("name"),
            NoticeRecipient.person._.department._.name.as_alias("department"),
            NoticeRecipient.read_at,
            NoticeRecipient.acknowledged_at,
            NoticeRecipient.done_at,
        )
        .where(NoticeRecipient.notice == notice_id)
        .order_by(NoticeRecipient.person.full_name)
    )
    return row


async def inbox(user: CurrentUser) -> list[dict[str, Any]]:
    """Published notices sent to this person, newest first, with their read state."""
    return await (
        NoticeRecipient.select(
            NoticeRecipient.notice.id.as_alias("id"),
            NoticeRecipient.notice.title.as_alias("title"),
            NoticeRecipient.notice.published_at.as_alias("published_at"),
            NoticeRecipient.notice._.author._.full_name.as_alias("author_name"),
            NoticeRecipient.notice.needs_action.as_alias("needs_action"),
            NoticeRecipient.read_at,
            NoticeRecipient.acknowledged_at,
            NoticeRecipient.done_at,
        )
        .where((NoticeRecipient.person == user.id) & (NoticeRecipient.notice.status == "published"))
        .order_by(NoticeRecipient.notice.published_at, ascending=False)
        .limit(LIST_LIMIT)
    )


async def written(user: CurrentUser) -> list[dict[str, Any]]:
    """The notices this person wrote (every state), newest first."""
    if not user.can(PUBLISH):
        return []
    return await (
        Notice.select(
            Notice.id, Notice.title, Notice.status, Notice.published_at, Notice.created_at
        )
        .where(Notice.author == user.id)
        .order_by(Notice.id, ascending=False)
        .limit(LIST_LIMIT)
    )


async def attachment(notice_id: int, index: int, user: CurrentUser) -> tuple[bytes, dict[str, Any]]:
    row = await open_notice(notice_id, user)
    if not 0 <= index < len(row["attachments"]):
        raise NotFound("附件不存在")
    item = row["attachments"][index]
    return storage.get(item["sha256"]), item


async def targets() -> dict[str, list[dict[str, Any]]]:
    """Departments and roles a notice can be sent to (for the writing form)."""
    return {
        "departments": await Department.select(Department.id, Department.name).order_by(
            Department.name
        ),
        "roles": await Role.select(Role.key, Role.name_zh, Role.name_en).order_by(Role.key),
    }
