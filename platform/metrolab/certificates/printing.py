"""证书打印 (§5.8.11): issued certificates 待打印 / 已打印, printed one at a time or merged.

Printing has one state, the certificate workflow's: 待打印 (issued) → 打印 → 已打印 (printed); a second
print is the workflow's 重新打印 and needs a reason. The print log is the workflow effect `record_print`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
from piccolo.custom_types import Combinable

from metrolab import storage
from metrolab.audit.log import record
from metrolab.certificates import search as finder
from metrolab.certificates.tables import Certificate, PrintLog
from metrolab.engine.documents import merge_pdfs
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.paging import Total

PAGE_SIZE = 30
NOT_PRINTABLE = ("recalled", "voided")  # and any certificate with a newer issued revision
MAX_BATCH = 200
# The print filter's words → workflow states.
PRINT_STATES = {"待打印": ["issued"], "已打印": ["printed", "released"]}


def print_status(status: str) -> str:
    """待打印 / 已打印 of a certificate in workflow state ``status`` ("" before issue)."""
    return next((label for label, states in PRINT_STATES.items() if status in states), "")


async def search(
    print_status: str = "待打印",
    q: str = "",
    kind: str = "",
    page_no: int = 1,
    *,
    printable_only: bool = True,
    per_page: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], Total, Total]:
    """Issued certificates (a PDF exists), newest first; with ``printable_only=False`` also the
    withdrawn, voided and superseded ones (the issued-certificates query marks them)."""
    where: list[Combinable] = [Certificate.pdf_sha256 != ""]
    if printable_only:
        where += [
            Certificate.status.not_in(list(NOT_PRINTABLE)),
            Certificate.superseded_by.is_null(),
        ]
    if print_status in PRINT_STATES:
        where.append(Certificate.status.is_in(PRINT_STATES[print_status]))
    if kind:
        where.append(Certificate.kind == kind)
    columns = [
        Certificate.id,
        Certificate.number,
        Certificate.kind,
        Certificate.status,
        Certificate.revision,
        Certificate.instrument_type,
        Certificate.conclusion,
        Certificate.issued_at,
        Certificate.printed_at,
        Certificate.record,
        Certificate.superseded_by,
        Certificate.superseded_by.number.as_alias("superseded_by_number"),
        Certificate.customer.name.as_alias("customer_name"),
    ]
    rows, total = await finder.listed(columns, where, q, page_no=page_no, per_page=per_page)
    return rows, total, total.pages(per_page)


def print_filename(ids: list[int]) -> str:
    return "certificates.pdf" if len(ids) > 1 else f"certificate-{ids[0]}.pdf"


async def print_pdf(certificate_ids: list[int], user: Any, reason: str = "") -> bytes:
    """The stored PDFs (merged when several), each through the workflow's 打印 (first time) or
    重新打印 (again, with ``reason``); nothing is printed when one of them is refused."""
    from metrolab.certificates.services import in_range
    from metrolab.certificates.workflow import act

    ids = list(dict.fromkeys(int(i) for i in certificate_ids))
    if not ids:
        raise Refused("请选择要打印的证书")
    if not all(in_range(i) for i in ids):
        raise NotFound("所选证书中有不存在的证书")
    if len(ids) > MAX_BATCH:
        raise Refused(f"一次最多打印 {MAX_BATCH} 份证书")
    rows = await Certificate.select(
        Certificate.id,
        Certificate.number,
        Certificate.pdf_sha256,
        Certificate.status,
        Certificate.superseded_by,
    ).where(Certificate.id.is_in(ids))
    by_id = {r["id"]: r for r in rows}
    if any(i not in by_id for i in ids):
        raise NotFound("所选证书中有不存在的证书")
    missing = [i for i in ids if not by_id[i]["pdf_sha256"]]
    if missing:
        raise Conflict("所选证书中有尚未出具（没有 PDF）的证书")
    withdrawn = [
        by_id[i]["number"]
        for i in ids
        if by_id[i]["status"] in NOT_PRINTABLE or by_id[i]["superseded_by"]
    ]
    if withdrawn:
        raise Conflict(f"已撤回、被替代或作废的证书不能打印：{'、'.join(withdrawn)}")
    reprints = [by_id[i]["number"] for i in ids if by_id[i]["status"] != "issued"]
    if reprints and not reason.strip():
        raise Refused(f"补打须填写原因（已打印过：{'、'.join(reprints)}）")
    for i in ids:
        first = by_id[i]["status"] == "issued"
        await act(i, "print" if first else "reprint", user, reason=None if first else reason)
    pdfs = [storage.get(by_id[i]["pdf_sha256"]) for i in ids]
    if len(pdfs) == 1:
        return pdfs[0]
    return await anyio.to_thread.run_sync(merge_pdfs, pdfs)


async def log_print(certificate_id: int, user: Any, *, reprint: bool, reason: str = "") -> None:
    """The print log row and audit entry for one print (the workflow effect ``record_print``)."""
    now = datetime.now(UTC)
    await PrintLog.insert(
        PrintLog(
            certificate=certificate_id,
            by=getattr(user, "id", None),
            at=now,
            reprint=reprint,
            reason=reason[:500],
        )
    )
    if not reprint:
        await Certificate.update({Certificate.printed_at: now}).where(
            Certificate.id == certificate_id
        )
    await record(
        "certificate.reprinted" if reprint else "certificate.printed",
        actor=user,
        target_type="certificate",
        target_id=certificate_id,
        details={"reason": reason} if reprint else {},
    )


async def print_log(certificate_id: int) -> list[dict[str, Any]]:
    return (
        await PrintLog.select(
            PrintLog.at,
            PrintLog.reprint,
            PrintLog.reason,
            PrintLog.by.full_name.as_alias("by_name"),
        )
        .where(PrintLog.certificate == certificate_id)
        .order_by(PrintLog.id)
    )
