"""A certificate from an original record: the record's data computed under its pinned form version,
its instrument type, standards, customer and verifier → ``build_context`` → ``create_certificate``.

The workflow calls ``certificate_for_record`` when a verifier compiles a certificate (§7.1).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from metrolab import hooks
from metrolab.certificates import catalogue
from metrolab.certificates.services import build_context, create_certificate
from metrolab.kernel.errors import Conflict, NotFound


async def record_row(record_id: int) -> dict[str, Any]:
    from metrolab.records.tables import OriginalRecord

    row = (
        await OriginalRecord.select(
            *OriginalRecord.all_columns(),
            OriginalRecord.verifier.full_name.as_alias("verifier_name"),
        )
        .where(OriginalRecord.id == record_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("原始记录不存在")
    return row


async def record_items(row: dict[str, Any], itype: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Item results with their labels (第1枪 示值误差…), computed under the pinned form version."""
    from metrolab.engine.forms import compute, load_definition
    from metrolab.forms.tables import FormVersion

    version = (
        await FormVersion.select(FormVersion.definition)
        .where(FormVersion.id == row["form_version"])
        .output(load_json=True)
        .first()
    )
    if version is None:
        raise Conflict("原始记录的表单版本不存在")
    defn = load_definition(version["definition"], catalogue=itype)
    return [dataclasses.asdict(i) for i in compute(defn, row["data"] or {}, catalogue=itype).items]


async def context_for_record(
    record_id: int,
    *,
    people: dict[str, Any] | None = None,
    lab: dict[str, Any] | None = None,
    revision: int = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(contract context, record row). ``people`` defaults to the record's verifier."""
    from metrolab.customers.tables import Customer

    row = await record_row(record_id)
    itype = await catalogue.instrument_type(row["instrument_type"])
    if itype is None:
        raise Conflict(f"器具类型 {row['instrument_type']} 不存在")
    customer = None
    if row["customer"]:
        customer = await Customer.select().where(Customer.id == row["customer"]).first()
    record = {**row, "items": await record_items(row, itype)}
    known: dict[str, Any] = {}  # the entrustment's receipt date (the business feature's hook)
    for answer in await hooks.gather("record.context", record_id):
        known.update(answer or {})
    ctx = build_context(
        record,
        customer=customer,
        instrument_type=itype,
        people=people or {"verifier": row.get("verifier_name") or ""},
        standards=await catalogue.standards(list(row["standards"] or [])),
        lab=lab,
        number=None,
        revision=revision,
        verify_url=None,
        received_on=known.get("received_on"),
    )
    return ctx, row


async def certificate_for_record(
    record_id: int,
    *,
    user: Any = None,
    people: dict[str, Any] | None = None,
    signers: dict[str, int] | None = None,
    lab: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new certificate (status compiling) for the record; the verifier signs as 检定员."""
    ctx, row = await context_for_record(record_id, people=people, lab=lab)
    return await create_certificate(
        ctx,
        instrument_type=row["instrument_type"],
        customer_id=row["customer"],
        record_id=record_id,
        signers={"verifier": row["verifier"], **(signers or {})} if row["verifier"] else signers,
        user=user,
    )
