"""Tamper-evident chains over the rows a lab must be able to trust (what: metrolab.audit.chained).

Each time the application changes such a row it seals it: a link holding the canonical form of the
row's sealed columns, keyed with HMAC-SHA256 under the audit key (a file outside the database,
``settings.audit_key``) and linked to the previous link of its chain. :func:`verify` recomputes the
canonical form of every live row and compares it with the row's latest link, checks every link's
key and its link to the one before, and (with an anchor written earlier by :func:`anchor`) that the
chains still extend what was anchored. So a row edited or deleted in the database, a link edited,
deleted or recomputed without the key, and a truncated or rewritten chain are all reported.

    await seal("certificate", cert_id)        # after the application changed it
    reports = await verify(anchor=json.load(f))
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from piccolo.columns import JSON, Date, Timestamptz
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from metrolab.audit.chained import Chained, chained
from metrolab.audit.tables import ChainEntry

ANCHOR_FORMAT = "metrolab.audit-anchor/1"
_LOCK_ID = 7_311_204  # the PostgreSQL advisory lock every sealer takes: one writer per chain head


def _key() -> bytes:
    from metrolab.settings import get_settings

    return get_settings().audit_key.encode()


def key_id() -> str:
    """Names the audit key without revealing it (a restored lab can tell it has the right one)."""
    return hmac.new(_key(), b"metrolab.audit_key.id", hashlib.sha256).hexdigest()[:16]


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def link_mac(chain: str, seq: int, object_id: str, at: str, payload: str, prev: str) -> str:
    message = canonical([chain, seq, object_id, at, payload, prev]).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def _time(value: Any) -> Any:
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return json.loads(canonical(value))


def _value(column: Any, value: Any) -> Any:
    """One column's value as the chain keeps it: the same on SQLite and PostgreSQL."""
    if value is None:
        return None
    if isinstance(column, Timestamptz):
        return _time(value)
    if isinstance(column, Date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(column, JSON):
        return _json(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def payload_of(spec: Chained, row: dict[str, Any]) -> str:
    """The canonical form of what a link seals of ``row`` (only the state while it is open)."""
    table = spec.table
    if spec.is_open(row):
        return canonical({"status": row["status"]})
    out: dict[str, Any] = {}
    for name in spec.columns:
        if name == "recalled_at":  # the public page says 已撤回 when it is set
            out[name] = row.get(name) is not None
            continue
        out[name] = _value(table._meta.get_column_by_name(name), row.get(name))
    for name in spec.digests:
        value = _value(table._meta.get_column_by_name(name), row.get(name))
        out[f"{name}_sha256"] = hashlib.sha256(canonical(value).encode()).hexdigest()
    return canonical(out)


@asynccontextmanager
async def sealing() -> AsyncIterator[None]:
    """A transaction holding the chains' one writer lock (joins the caller's transaction)."""
    engine = ChainEntry._meta.db
    if isinstance(engine, SQLiteEngine):  # BEGIN IMMEDIATE: one writer at a time
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    async with engine.transaction():
        await ChainEntry.raw(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
        yield


async def _latest(chain: str, object_id: str) -> dict[str, Any] | None:
    return (
        await ChainEntry.select(ChainEntry.payload)
        .where((ChainEntry.chain == chain) & (ChainEntry.object_id == object_id))
        .order_by(ChainEntry.seq, ascending=False)
        .first()
    )


async def _append(chain: str, object_id: str, payload: str) -> None:
    head = (
        await ChainEntry.select(ChainEntry.seq, ChainEntry.mac)
        .where(ChainEntry.chain == chain)
        .order_by(ChainEntry.seq, ascending=False)
        .first()
    )
    seq, prev = (head["seq"] + 1, head["mac"]) if head else (1, "")
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    await ChainEntry.insert(
        ChainEntry(
            chain=chain,
            seq=seq,
            object_id=object_id,
            at=at,
            payload=payload,
            prev=prev,
            mac=link_mac(chain, seq, object_id, at, payload, prev),
            key_id=key_id(),
        )
    )


async def _seal_rows(spec: Chained, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        object_id = str(row["id"])
        latest = await _latest(spec.key, object_id)
        if latest is None and spec.is_open(row):
            continue  # a draft nobody has submitted: nothing to seal yet
        payload = payload_of(spec, row)
        if latest is not None and latest["payload"] == payload:
            continue
        await _append(spec.key, object_id, payload)
        n += 1
    return n


async def _rows(spec: Chained, where: Any) -> list[dict[str, Any]]:
    return await spec.table.select().where(where).output(load_json=True)


async def seal(chain: str, *object_ids: Any) -> int:
    """Seal the rows' current state after the application changed them (unchanged rows add nothing)."""
    spec = chained()[chain]
    ids = [int(i) for i in object_ids if i is not None]
    if not ids:
        return 0
    async with sealing():
        return await _seal_rows(spec, await _rows(spec, spec.table._meta.primary_key.is_in(ids)))


async def seal_event(event_id: int, target_type: str, target_id: str) -> None:
    """An audit event and (when it names a chained row) the state of that row after the event."""
    specs = chained()
    async with sealing():
        audit = specs["audit_event"]
        await _seal_rows(audit, await _rows(audit, audit.table._meta.primary_key == event_id))
        for spec in specs.values():
            if spec.append_only or not target_id:
                continue
            column = "id" if target_type == spec.key else spec.targets.get(target_type)
            if column is None:
                continue
            value: Any = target_id
            if column == "id":
                if not target_id.isdigit() or int(target_id) > 2**31 - 1:
                    continue
                value = int(target_id)
            col = spec.table._meta.get_column_by_name(column)
            await _seal_rows(spec, await _rows(spec, col == value))


async def adopt() -> dict[str, int]:
    """Seal every row that has no link yet (shipped data the seed made, rows from before the chains
    existed): {chain: rows sealed now}. Rows edited after their last link are not touched."""
    out = {}
    async with sealing():
        for key, spec in chained().items():
            sealed = {
                r["object_id"]
                for r in await ChainEntry.select(ChainEntry.object_id).where(
                    ChainEntry.chain == key
                )
            }
            rows = await spec.table.select().output(load_json=True)
            out[key] = await _seal_rows(spec, [r for r in rows if str(r["id"]) not in sealed])
    return out


# ── verification ───────────────────────────────────────────────────────────────────────────


@dataclass
class ChainReport:
    chain: str
    label: str
    links: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _differences(sealed: str, live: str) -> str:
    a, b = json.loads(sealed), json.loads(live)
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return "；".join(f"{k}：链上 {canonical(a.get(k))}，现为 {canonical(b.get(k))}" for k in keys)


def _row_name(spec: Chained, object_id: str, row: dict[str, Any] | None) -> str:
    if row and spec.name_column and row.get(spec.name_column):
        return f"{spec.key} #{object_id}（{row[spec.name_column]}）"
    return f"{spec.key} #{object_id}"


def _check_links(spec: Chained, links: list[dict[str, Any]], report: ChainReport) -> None:
    mine = key_id()
    prev, expected = "", 1
    for link in links:
        where = f"第 {link['seq']} 条（{spec.key} #{link['object_id']}）"
        if link["seq"] != expected:
            report.problems.append(f"{where}：序号不连续，应为 {expected}（链节被删除）")
            expected = link["seq"]
        if link["prev"] != prev:
            report.problems.append(f"{where}：与上一条链节的链接不符（链节被删除或改动）")
        mac = link_mac(
            spec.key, link["seq"], link["object_id"], link["at"], link["payload"], link["prev"]
        )
        if not hmac.compare_digest(mac, link["mac"]):
            why = (
                "由另一把审计密钥封存（当前 audit_key 不是建链时的密钥）"
                if link["key_id"] != mine
                else "链节内容与其密钥签名不符（被改动，或未用审计密钥重算）"
            )
            report.problems.append(f"{where}：{why}")
        prev, expected = link["mac"], expected + 1


def _check_rows(
    spec: Chained,
    links: list[dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    report: ChainReport,
) -> None:
    by_object: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        by_object.setdefault(link["object_id"], []).append(link)
    for object_id, own in by_object.items():
        row = rows.get(object_id)
        name = _row_name(spec, object_id, row)
        if spec.append_only and len(own) > 1:
            report.problems.append(f"{name}：只应封存一次，却有 {len(own)} 条链节（行被改动过）")
        if spec.frozen_once:
            _check_frozen(spec, name, own, report)
        if row is None:
            report.problems.append(f"{name}：链上有此行，数据库中已不存在（被删除）")
            continue
        live = payload_of(spec, row)
        if live != own[-1]["payload"]:
            report.problems.append(
                f"{name}：与链上最后一次封存不符——{_differences(own[-1]['payload'], live)}"
            )
    for object_id, row in rows.items():
        if object_id not in by_object and not spec.is_open(row):
            report.problems.append(
                f"{_row_name(spec, object_id, row)}：没有链节（链节被删除，或此行未经应用写入）"
            )


def _check_frozen(spec: Chained, name: str, own: list[dict[str, Any]], report: ChainReport) -> None:
    fixed: dict[str, Any] | None = None
    for link in own:
        payload = json.loads(link["payload"])
        if fixed is None:
            if payload.get(spec.frozen_once):
                fixed = payload
            continue
        keys = [k for k in _frozen_keys(spec) if k in payload and payload.get(k) != fixed.get(k)]
        if keys:
            report.problems.append(
                f"{name}：出具/发布后不应改变的 {'、'.join(keys)} 在第 {link['seq']} 条链节中变了"
            )
            return


def _frozen_keys(spec: Chained) -> list[str]:
    return [f"{k}_sha256" if k in spec.digests else k for k in spec.frozen]


def _check_anchor(
    spec: Chained, links: list[dict[str, Any]], anchored: dict[str, Any], report: ChainReport
) -> None:
    count, head = int(anchored.get("count") or 0), anchored.get("head") or ""
    if not count:
        return
    at = next((link for link in links if link["seq"] == count), None)
    if at is None:
        report.problems.append(f"锚点记有 {count} 条链节，现只有 {len(links)} 条（链被截断）")
    elif at["mac"] != head:
        report.problems.append(f"第 {count} 条链节与锚点不符（链在锚点之后被重写）")


async def verify(anchor: dict[str, Any] | None = None) -> list[ChainReport]:
    """Every chain checked against itself, the live rows and (if given) an anchor."""
    anchored = (anchor or {}).get("chains") or {}
    reports = []
    async with sealing():  # a consistent view: nobody seals while we read
        for key, spec in chained().items():
            links = (
                await ChainEntry.select().where(ChainEntry.chain == key).order_by(ChainEntry.seq)
            )
            rows = {str(r["id"]): r for r in await spec.table.select().output(load_json=True)}
            report = ChainReport(key, spec.label, links=len(links), rows=len(rows))
            _check_links(spec, links, report)
            _check_rows(spec, links, rows, report)
            if key in anchored:
                _check_anchor(spec, links, anchored[key], report)
            reports.append(report)
    return reports


async def heads() -> dict[str, dict[str, Any]]:
    """{chain: {count, head}}: what an anchor fixes."""
    out = {}
    for key in chained():
        head = (
            await ChainEntry.select(ChainEntry.seq, ChainEntry.mac)
            .where(ChainEntry.chain == key)
            .order_by(ChainEntry.seq, ascending=False)
            .first()
        )
        out[key] = {"count": head["seq"] if head else 0, "head": head["mac"] if head else ""}
    return out


async def anchor() -> dict[str, Any]:
    """The chains' heads now, to keep outside the lab's machine (print it, mail it, file it)."""
    return {
        "format": ANCHOR_FORMAT,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "key_id": key_id(),
        "chains": await heads(),
    }
