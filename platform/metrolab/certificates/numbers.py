"""Certificate numbers: per year, no duplicate and no gap, even when several approvals run at once.

The counter row of the year is incremented by one upsert (``INSERT … ON CONFLICT DO UPDATE …
RETURNING``) inside a transaction that also records the allocation. On PostgreSQL the upsert
row-locks the counter until commit, so concurrent approvals queue; on SQLite the transaction is
``BEGIN IMMEDIATE`` (one writer at a time). A rolled-back transaction rolls back its increment:
no gap. A voided number is recorded and skipped, never handed out again.
"""

from __future__ import annotations

from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from metrolab.audit.log import record
from metrolab.certificates.tables import Certificate, CertificateNumber, NumberCounter, VoidedNumber
from metrolab.kernel.errors import Conflict, PasswordMissing, Refused
from metrolab.lab import services as lab
from metrolab.lab.numbering import DEFAULT_PATTERN, format_number

__all__ = ["DEFAULT_PATTERN", "allocate_number", "format_number", "number_for", "void_number"]


def _transaction() -> Any:
    engine = NumberCounter._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def _next_seq(year: int) -> int:
    rows = await NumberCounter.raw(
        "INSERT INTO certificate_number_counter (year, last_seq) VALUES ({}, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_seq = certificate_number_counter.last_seq + 1 "
        "RETURNING last_seq",
        year,
    )
    return int(rows[0]["last_seq"])


class _AlreadyNumbered(Exception):  # noqa: N818 - control flow: roll the increment back
    def __init__(self, number: str) -> None:
        self.number = number


async def _held_by(certificate_id: int) -> str | None:
    rows = (
        await CertificateNumber.select(CertificateNumber.number)
        .where(CertificateNumber.certificate == certificate_id)
        .order_by(CertificateNumber.id, ascending=False)
    )
    for row in rows:
        if not await VoidedNumber.exists().where(VoidedNumber.number == row["number"]):
            return row["number"]
    return None


async def allocate_number(
    year: int, pattern: str | None = None, *, certificate_id: int | None = None
) -> str:
    """The next number of ``year`` (e.g. ``JD2026-00001``), recorded in ``CertificateNumber``.

    ``pattern``: the lab's (机构信息 → 证书编号格式) unless given. The sequence is the year's counter
    whatever the pattern: changing the pattern mid-year changes how numbers look, not their count.
    With ``certificate_id`` a certificate gets at most one live number: a second (concurrent)
    call for it returns the number it already holds and rolls its own increment back.
    """
    pattern = pattern or await lab.number_pattern()
    try:
        async with _transaction():
            while True:
                seq = await _next_seq(year)  # from here on, the year's counter is locked
                number = format_number(pattern, year, seq)
                if not await VoidedNumber.exists().where(VoidedNumber.number == number) and not (
                    await CertificateNumber.exists().where(CertificateNumber.number == number)
                ):
                    break  # skipped: voided before it was reached, or made by an earlier pattern
            if certificate_id is not None and (held := await _held_by(certificate_id)):
                raise _AlreadyNumbered(held)
            await CertificateNumber.insert(
                CertificateNumber(number=number, year=year, seq=seq, certificate=certificate_id)
            )
    except _AlreadyNumbered as exc:
        return exc.number
    return number


async def number_for(certificate_id: int, year: int) -> str:
    """The number allocated to this certificate by an earlier (failed) attempt, else a new one
    in the lab's pattern."""
    return await _held_by(certificate_id) or await allocate_number(
        year, certificate_id=certificate_id
    )


MAX_NUMBER = 50  # VoidedNumber.number / Certificate.number
MAX_REASON = 2000


async def void_number(number: str, reason: str, user: Any, password: str | None = None) -> None:
    """作废: the number is recorded with who and why, and never used again.

    A certificate holding the number is voided through its workflow's signed 作废 step (role,
    state, password and history as on the certificate page), never by a bare status change.
    """
    number, reason = (number or "").strip(), (reason or "").strip()
    if not number:
        raise Refused("请填写要作废的证书编号")
    if len(number) > MAX_NUMBER or not number.isprintable():
        raise Refused(f"证书编号有误：至多 {MAX_NUMBER} 个字符，不能含控制字符")
    if not reason:
        raise Refused("作废证书编号必须填写原因")
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise Refused(f"作废原因有误：至多 {MAX_REASON} 字，不能含空字符")
    if await VoidedNumber.exists().where(VoidedNumber.number == number):
        raise Conflict(f"证书编号 {number} 已作废")
    holder = (
        await Certificate.select(Certificate.id)
        .where((Certificate.number == number) & (Certificate.status != "voided"))
        .first()
    )
    if holder is not None:
        from metrolab.certificates import workflow as cw

        if not password:
            raise PasswordMissing(f"证书编号 {number} 已用于一份证书：作废须再次输入密码签名")
        await cw.act(holder["id"], "void", user, reason=reason, password=password)
    await VoidedNumber.insert(
        VoidedNumber(number=number, reason=reason, by=getattr(user, "id", None))
    )
    await record(
        "certificate.number_voided",
        actor=user,
        target_type="certificate_number",
        target_id=number,
        details={"reason": reason},
    )


async def voided_numbers(limit: int = 200) -> list[dict[str, Any]]:
    return (
        await VoidedNumber.select(
            *VoidedNumber.all_columns(), VoidedNumber.by.full_name.as_alias("by_name")
        )
        .order_by(VoidedNumber.id, ascending=False)
        .limit(limit)
    )
