"""What an approved quotation leads to: an entrustment (受理委托 with the customer and the instrument
lines filled in; the clerk adds serial numbers and receives it) and the customer's contract with
its charges (企业合同 and 收费, §5.9.8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from metrolab.audit.log import record
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.quotations import services, workflow
from metrolab.quotations.tables import Quotation
from metrolab.web.auth import CurrentUser

CONVERTIBLE = "approved"


async def entrustment_data(row: dict[str, Any]) -> dict[str, Any]:
    """The 委托单 form's values from the quotation: customer, contact, one line per instrument type
    (its quantity; serials are typed at receipt), and the quotation named in 备注."""
    from metrolab.customers.tables import Customer

    customer = await Customer.select().where(Customer.id == row["customer"]).first() or {}
    return {
        "customer": row["customer_name"],
        "credit_code": customer.get("credit_code") or "",
        "address": customer.get("address") or "",
        "contact": row["contact"],
        "phone": row["phone"] or customer.get("phone") or "",
        "service_mode": "送检",
        "instruments": [
            {"instrument_type": ln.name, "quantity": str(ln.quantity), "serial": "", "model": ""}
            for ln in row["lines"]
        ]
        or [{"quantity": "1"}],
        "remarks": f"依据报价单 {row['number']}",
    }


async def convertible(quotation_id: int, user: CurrentUser) -> dict[str, Any]:
    """The quotation, if this person may convert it now (approved, not expired, not converted)."""
    row = await services.get(quotation_id)
    if row["entrustment"]:
        raise Conflict(f"报价单已转为委托单 {row['entrustment_number']}")
    for t, refused in await workflow.actions(row, user):
        if t.key == "convert":
            if refused is not None:
                raise Refused(refused.message_zh, status_code=refused.http_status)
            return row
    raise Conflict("只有已批准的报价单可以转为委托单")


async def convert(
    quotation_id: int,
    user: CurrentUser,
    pin: Any,
    data: dict[str, Any],
    new_customer: bool = False,
    confirm_similar: bool = False,
) -> dict[str, Any]:
    """受理 the entrustment typed from the quotation and move the quotation to 已转委托 with the
    entrustment linked, in one transaction: a refused form, or a quotation changed meanwhile,
    leaves neither an entrustment nor a converted quotation behind."""
    from metrolab.business.services import submit_entrustment
    from metrolab.lab.series import numbering_transaction

    row = await convertible(quotation_id, user)
    if str(data.get("customer") or "").strip() != row["customer_name"]:
        raise Refused("转为委托单时委托单位须是报价单的客户")
    async with numbering_transaction():  # the entrustment's own numbering joins this one
        entrustment = await submit_entrustment(user, pin, data, new_customer, confirm_similar)
        await workflow.act(
            quotation_id,
            "convert",
            user,
            expected_lock=row["lock_version"],
            changes={Quotation.entrustment: entrustment["id"]},
        )
    return entrustment


# ── 企业合同 and 收费 (§5.9.8) ───────────────────────────────────────────────────────────────


async def contracts_of(customer_id: int) -> list[dict[str, Any]]:
    from metrolab.ledger.tables import Contract

    return (
        await Contract.select()
        .where(Contract.customer == customer_id)
        .order_by(Contract.signed_on, ascending=False)
    )


async def contract_view(row: dict[str, Any]) -> dict[str, Any] | None:
    """The linked contract with its charges and what is still to charge, or None."""
    from metrolab.ledger.tables import Charge, Contract

    if not row["contract"]:
        return None
    found = await Contract.select().where(Contract.id == row["contract"]).first()
    if found is None:
        return None
    charges = (
        await Charge.select().where(Charge.contract == found["id"]).order_by(Charge.charged_on)
    )
    charged = sum((services.money(c["amount"]) for c in charges), Decimal(0))
    for c in charges:
        c["amount"] = services.money(c["amount"])
    amount = services.money(found["amount"])
    return {
        **found,
        "amount": amount,
        "charges": charges,
        "charged": services.money(charged),
        "outstanding": services.money(amount - charged),
    }


async def link_contract(
    quotation_id: int, contract_id: int | None, user: CurrentUser
) -> dict[str, Any]:
    """关联 (or, with None, 取消关联) one of the customer's contracts; approved quotations only."""
    from metrolab.ledger.tables import Contract

    row = await services.get(quotation_id)
    if row["status"] not in ("approved", "converted"):
        raise Conflict("只有已批准的报价单可以关联合同")
    if contract_id is not None:
        if not 0 < contract_id <= services.INT32_MAX:
            raise NotFound("合同不存在")
        found = await Contract.select(Contract.customer).where(Contract.id == contract_id).first()
        if found is None:
            raise NotFound("合同不存在")
        if found["customer"] != row["customer"]:
            raise Refused("只能关联该客户的合同")
    await Quotation.update({Quotation.contract: contract_id}).where(Quotation.id == quotation_id)
    await record(
        "quotation.contract_linked",
        actor=user,
        target_type="quotation",
        target_id=quotation_id,
        details={"number": row["number"], "contract": contract_id},
    )
    return await services.get(quotation_id)


async def contract_from_quotation(
    quotation_id: int, values: dict[str, Any], user: CurrentUser
) -> dict[str, Any]:
    """登记企业合同 from an approved quotation: its number and signing date typed, the amount the
    quotation's 报价总额; the quotation is linked to it. Field problems as QuotationProblems."""
    from metrolab.ledger.tables import Contract

    row = await services.get(quotation_id)
    if row["status"] not in ("approved", "converted"):
        raise Conflict("只有已批准的报价单可以登记合同")
    errors: dict[str, str] = {}
    number = services._clean_text(
        values.get("contract_number", ""), "合同编号", 100, errors, "contract_number"
    )
    if not number and "contract_number" not in errors:
        errors["contract_number"] = "请填写合同编号"
    signed = services._clean_date(values.get("signed_on"), "签订日期", errors, "signed_on")
    if number and await Contract.exists().where(
        (Contract.customer == row["customer"]) & (Contract.number == number)
    ):
        errors["contract_number"] = f"该客户已有合同 {number}"
    if errors:
        raise services.QuotationProblems(errors)
    contract = Contract(
        customer=row["customer"],
        number=number,
        signed_on=signed or date.today(),
        valid_until=None,
        amount=row["total"],
    )
    await contract.save()
    await record(
        "contract.created",
        actor=user,
        target_type="contract",
        target_id=contract.id,
        details={"number": number, "quotation": row["number"], "amount": str(row["total"])},
    )
    return await link_contract(quotation_id, contract.id, user)
