"""证书打印 (§5.8.11): issued certificates 待打印 / 已打印, printed one at a time or merged; reprints logged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio

from metrolab import storage
from metrolab.audit.log import record
from metrolab.certificates.tables import Certificate, PrintLog
from metrolab.web.errors import UserError

PAGE_SIZE = 30
NOT_PRINTABLE = ("recalled", "superseded", "voided")
MAX_BATCH = 200


async def search(
    print_status: str = "待打印", q: str = "", kind: str = "", page_no: int = 1
) -> tuple[list[dict[str, Any]], int, int]:
    """Issued certificates (a PDF exists), newest first."""
    where = [Certificate.pdf_sha256 != "", Certificate.status.not_in(list(NOT_PRINTABLE))]
    if print_status in {"待打印", "已打印"}:
        where.append(Certificate.print_status == print_status)
    if kind:
        where.append(Certificate.kind == kind)
    if q:
        where.append(Certificate.number.ilike(f"%{q}%") | Certificate.customer.name.ilike(f"%{q}%"))
    query = Certificate.select(
        Certificate.id,
        Certificate.number,
        Certificate.kind,
        Certificate.status,
        Certificate.revision,
        Certificate.instrument_type,
        Certificate.conclusion,
        Certificate.issued_at,
        Certificate.print_status,
        Certificate.printed_at,
        Certificate.record,
        Certificate.customer.name.as_alias("customer_name"),
    )
    count = Certificate.count()
    for clause in where:
        query, count = query.where(clause), count.where(clause)
    total = await count
    page_no = max(1, page_no)
    rows = (
        await query.order_by(Certificate.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((page_no - 1) * PAGE_SIZE)
    )
    return rows, total, max(1, -(-total // PAGE_SIZE))


async def print_pdf(certificate_ids: list[int], user: Any) -> bytes:
    """The stored PDFs (merged when several), marking each 已打印; a second print is a reprint."""
    from metrolab.engine.documents import merge_pdfs

    ids = list(dict.fromkeys(int(i) for i in certificate_ids))
    if not ids:
        raise UserError(status_code=400, detail="请选择要打印的证书")
    if len(ids) > MAX_BATCH:
        raise UserError(status_code=400, detail=f"一次最多打印 {MAX_BATCH} 份证书")
    rows = await Certificate.select(
        Certificate.id,
        Certificate.number,
        Certificate.pdf_sha256,
        Certificate.print_status,
        Certificate.status,
    ).where(Certificate.id.is_in(ids))
    by_id = {r["id"]: r for r in rows}
    missing = [i for i in ids if i not in by_id or not by_id[i]["pdf_sha256"]]
    if missing:
        raise UserError(status_code=409, detail="所选证书中有尚未出具（没有 PDF）的证书")
    withdrawn = [by_id[i]["number"] for i in ids if by_id[i]["status"] in NOT_PRINTABLE]
    if withdrawn:
        raise UserError(
            status_code=409, detail=f"已撤回、被替代或作废的证书不能打印：{'、'.join(withdrawn)}"
        )
    pdfs = [storage.get(by_id[i]["pdf_sha256"]) for i in ids]
    now = datetime.now(UTC)
    for i in ids:
        reprint = by_id[i]["print_status"] == "已打印"
        await PrintLog.insert(
            PrintLog(certificate=i, by=getattr(user, "id", None), at=now, reprint=reprint)
        )
        await Certificate.update(
            {Certificate.print_status: "已打印", Certificate.printed_at: now}
        ).where(Certificate.id == i)
        await record(
            "certificate.reprinted" if reprint else "certificate.printed",
            actor=user,
            target_type="certificate",
            target_id=i,
            details={"number": by_id[i]["number"]},
        )
    if len(pdfs) == 1:
        return pdfs[0]
    return await anyio.to_thread.run_sync(merge_pdfs, pdfs)


async def print_log(certificate_id: int) -> list[dict[str, Any]]:
    return (
        await PrintLog.select(
            PrintLog.at, PrintLog.reprint, PrintLog.by.full_name.as_alias("by_name")
        )
        .where(PrintLog.certificate == certificate_id)
        .order_by(PrintLog.id)
    )
