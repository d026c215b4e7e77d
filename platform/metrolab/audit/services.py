"""Reading the audit log: filter (actor, action, object, dates), newest first, a page at a time;
each row with its 中文 label, its object's link and its details as «key: value». Pages and API
call these."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from metrolab.audit import labels
from metrolab.audit.tables import AuditEvent
from metrolab.kernel import listing
from metrolab.kernel.clock import local
from metrolab.kernel.errors import Refused
from metrolab.kernel.matching import contains
from metrolab.web.i18n import _

PAGE_SIZE = 50
MAX_EXPORT = 10_000


@dataclass(frozen=True)
class Filters:
    actor: str = ""  # 用户名或姓名（部分）
    action: str = ""  # 动作代码（精确）
    target_type: str = ""
    target_id: str = ""
    start: date | None = None
    end: date | None = None


def parse_day(text: str, field: str) -> date | None:
    """A page's yyyy-mm-dd field; '' = none; anything else a 中文 400 naming the field."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(_("{field}应为日期（年-月-日）").format(field=field)) from None


async def _actor_ids(text: str) -> list[int]:
    from metrolab.accounts.tables import User

    rows = await User.select(User.id).where(contains(User.full_name, text))
    return [r["id"] for r in rows]


async def _where(f: Filters) -> tuple[list[Any], list[Any]]:
    """(the filters named exactly — action, object —, what is searched: the actor, the days).
    The exact ones name their values in the statement (``listing.equals``): a rare action is then
    found through its index, not by walking millions of events from the newest."""
    if f.start and f.end and f.start > f.end:
        raise Refused(_("起始日期不能晚于截止日期"))
    exact = [
        listing.equals(column, value)
        for column, value in (
            (AuditEvent.action, f.action),
            (AuditEvent.target_type, f.target_type),
            (AuditEvent.target_id, f.target_id),
        )
        if value
    ]
    searched: list[Any] = []
    if f.actor:
        by_name = contains(AuditEvent.actor_name, f.actor)
        ids = await _actor_ids(f.actor)
        searched.append(by_name | AuditEvent.actor_id.is_in(ids) if ids else by_name)
    # Days are the lab's days (its time zone, metrolab.kernel.clock), stored times are UTC.
    if f.start:
        searched.append(AuditEvent.at >= _lab_midnight(f.start))
    if f.end:
        searched.append(AuditEvent.at < _lab_midnight(f.end + timedelta(days=1)))
    return exact, searched


def _lab_midnight(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()  # the process runs in the lab's zone


async def events(f: Filters, page_no: int = 1) -> tuple[list[dict[str, Any]], bool]:
    """One page (newest first) and whether a next page exists: the log grows by every act of
    the lab, so it is walked as every growing list is (``kernel.listing``) — an actor or days
    that the newest events do not have are found through their indexes."""
    exact, searched = await _where(f)
    found = None
    if searched:
        condition = functools.reduce(operator.and_, searched)
        found = listing.Found(condition, condition)  # counted past the page: "is there more"
    rows, total = await listing.newest_first(
        AuditEvent,
        AuditEvent.all_columns(),
        exact,
        found,
        page_no=page_no,
        per_page=PAGE_SIZE,
        count_to=PAGE_SIZE,  # the page shows no count: only whether a next page exists
    )
    moves = await workflow_moves()
    return [_shown(r, moves) for r in rows], page_no * PAGE_SIZE < total


async def export_rows(f: Filters) -> list[dict[str, Any]]:
    query = AuditEvent.select()
    exact, searched = await _where(f)
    for clause in [*exact, *searched]:
        query = query.where(clause)
    rows = await query.order_by(AuditEvent.id, ascending=False).limit(MAX_EXPORT)
    moves = await workflow_moves()
    return [_shown(r, moves) for r in rows]


async def workflow_moves() -> dict[str, str]:
    """{"certificate.approve": "批准"}: the transition labels of every active workflow, so a
    workflow move's audit row reads as the step the person took."""
    from metrolab.web.i18n import current_language
    from metrolab.workflows import services as workflows
    from metrolab.workflows.tables import WorkflowVersion

    lang = current_language()
    rows = (
        await WorkflowVersion.select(WorkflowVersion.definition)
        .where(
            WorkflowVersion.active == True  # noqa: E712 - a SQL comparison
        )
        .output(load_json=True)
    )
    moves: dict[str, str] = {}
    for row in rows:
        defn = workflows.load(row["definition"])
        for t in defn.transitions:
            moves[f"{defn.key}.{t.key}"] = t.text(lang)
        for key, state in defn.states.items():  # «certificate:issued» for a move's from / to
            moves[f"{defn.key}:{key}"] = state.text(lang)
    return moves


def details_text(details: Any, states: Callable[[str], str] = str) -> str:
    """«key: value» pairs, one a line, keys by their labels (`labels.DETAILS`); a workflow move's
    from / to state by its label (``states``); nested values as compact JSON."""
    if isinstance(details, str):
        try:
            details = json.loads(details or "{}")
        except ValueError:
            return details
    if not isinstance(details, dict):
        return "" if details is None else str(details)
    lines = []
    for key, value in details.items():
        if key in labels.STATE_KEYS and isinstance(value, str):
            value = states(value)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{labels.detail_label(key)}: {text}")
    return "\n".join(lines)


def _shown(row: dict[str, Any], moves: dict[str, str]) -> dict[str, Any]:
    at = row["at"]
    return {
        "id": row["id"],
        "at": at.astimezone(UTC).isoformat() if isinstance(at, datetime) else str(at),
        "at_local": local(at).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(at, datetime)
        else str(at),
        "actor_id": row["actor_id"],
        "actor_name": row["actor_name"],
        "action": row["action"],
        "action_label": labels.action_label(row["action"], moves),
        "target_type": row["target_type"],
        "target_label": labels.object_label(row["target_type"]) if row["target_type"] else "",
        "target_id": row["target_id"],
        "link": labels.link(row["target_type"], row["target_id"]),
        "details": details_text(
            row["details"],
            lambda state: moves.get(f"{row['action'].partition('.')[0]}:{state}", state),
        ),
        "ip": row["ip"],
    }


def action_choices() -> list[tuple[str, str]]:
    """(code, label) for the action filter, by label."""
    return sorted(((c, _(t)) for c, t in labels.ACTIONS.items()), key=lambda p: p[1])


def object_choices() -> list[tuple[str, str]]:
    return sorted(((c, _(t)) for c, t in labels.OBJECTS.items()), key=lambda p: p[1])


def export_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from metrolab.engine.documents.cells import safe_row
    from metrolab.statistics.exports import xlsx_bytes

    header = [_("时间"), _("操作人"), _("动作"), _("对象类型"), _("对象编号"), _("详情"), _("IP")]
    body = [
        safe_row(
            [
                r["at_local"],
                r["actor_name"],
                r["action_label"],
                r["target_label"],
                r["target_id"],
                r["details"],
                r["ip"],
            ]
        )
        for r in rows
    ]
    return xlsx_bytes(_("审计日志"), safe_row(header), body)
