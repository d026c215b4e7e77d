"""记录仪表入库 (DB1304/T 505—2025 §5.3.6 / §5.7.6): once every certificate is approved the department
puts the instruments away and archives the original records with them — where (存放位置), who took them
in (接收人), how many pieces (件数, at most what was received) — and that is the 完成入库 step. Each of the
entrustment's original records is marked archived with that 入库 row, so the record says where it is."""

from __future__ import annotations

from typing import Any

from metrolab.audit.log import record as audit
from metrolab.business import services
from metrolab.business.onsite import OrderProblems, Problem, _p, _text
from metrolab.business.tables import ArchivedRecord, StorageIn, VerificationTask
from metrolab.kernel.text import actor_id
from metrolab.web.i18n import N_


async def received_count(entrustment_id: int) -> int:
    """What was received: the department's count (送检), else the instruments of the lines (下厂)."""
    e = await services.get_entrustment(entrustment_id)
    if e["received_count"]:
        return int(e["received_count"])
    rows = await VerificationTask.select(VerificationTask.quantity).where(
        VerificationTask.entrustment == entrustment_id
    )
    return sum(r["quantity"] for r in rows)


async def store(
    entrustment_id: int,
    user: Any,
    *,
    location: str,
    receiver: int | None,
    count: int | None,
    remarks: str = "",
    expected_lock: int | None = None,
) -> int:
    """完成入库: check the fields (all problems at once), take the step (refused while certificates
    are not approved), then keep the 入库 row and archive the tasks' original records with it."""
    problems: dict[str, Problem] = {}
    location = _text(problems, "location", location, "存放位置", 100)
    if not location and "location" not in problems:
        problems["location"] = _p(N_("请填写存放位置"))
    people = {v["id"] for v in await services.verifiers()}
    if receiver is None:
        problems["receiver"] = _p(N_("请选择接收人"))
    elif receiver not in people:
        problems["receiver"] = _p(N_("接收人须是本所的检定员"))
    received = await received_count(entrustment_id)
    if count is None or count < 1:
        problems["count"] = _p(N_("请填写入库件数（至少 1 件）"))
    elif count > received:
        problems["count"] = _p(
            N_("入库件数 {count} 件超过接收的仪表 {received} 件，请核对"),
            count=count,
            received=received,
        )
    remarks = _text(problems, "remarks", remarks, "备注", services.MAX_TEXT)
    if problems:
        raise OrderProblems(problems)
    # The 入库 row, the archived records and the 完成入库 step commit together: a refused or failing
    # step leaves no row, a row that cannot be written leaves the entrustment where it was.
    async with StorageIn._meta.db.transaction():
        row = StorageIn(
            entrustment=entrustment_id,
            location=location,
            receiver=receiver,
            pieces=count,
            remarks=remarks,
            by=actor_id(user),
        )
        await row.save()
        records = [
            r["record"]
            for r in await VerificationTask.select(VerificationTask.record).where(
                (VerificationTask.entrustment == entrustment_id)
                & VerificationTask.record.is_not_null()
            )
        ]
        already = {
            r["record"]
            for r in await ArchivedRecord.select(ArchivedRecord.record).where(
                ArchivedRecord.record.is_in(records or [0])
            )
        }
        fresh = [r for r in dict.fromkeys(records) if r not in already]
        if fresh:
            await ArchivedRecord.insert(*[ArchivedRecord(record=r, storage=row.id) for r in fresh])
        await services.entrustment_act(
            entrustment_id, "complete", user, expected_lock=expected_lock
        )
    await audit(
        "entrustment.stored",
        actor=user,
        target_type="entrustment",
        target_id=entrustment_id,
        details={"location": location, "receiver": receiver, "count": count, "records": fresh},
    )
    return row.id


def _storage_columns() -> list[Any]:
    return [
        *StorageIn.all_columns(),
        StorageIn.receiver.full_name.as_alias("receiver_name"),
        StorageIn.by.full_name.as_alias("by_name"),
    ]


async def storage_of(entrustment_id: int) -> dict[str, Any] | None:
    return (
        await StorageIn.select(*_storage_columns())
        .where(StorageIn.entrustment == entrustment_id)
        .order_by(StorageIn.id, ascending=False)
        .first()
    )


async def archive_of(record_id: int) -> dict[str, Any] | None:
    """Where an original record is archived (location, when, by whom), or None."""
    row = (
        await ArchivedRecord.select(ArchivedRecord.storage)
        .where(ArchivedRecord.record == record_id)
        .first()
    )
    if row is None:
        return None
    return await StorageIn.select(*_storage_columns()).where(StorageIn.id == row["storage"]).first()


async def archived_records(entrustment_id: int) -> set[int]:
    rows = await ArchivedRecord.select(ArchivedRecord.record).where(
        ArchivedRecord.storage.entrustment == entrustment_id
    )
    return {r["record"] for r in rows}
