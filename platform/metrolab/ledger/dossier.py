"""The customer extensions of DB1304/T 505 §5.9 as data-described record kinds: 客户证价, 证照, 企业合同 and
their 收费, 客户拜访 (§5.7.4), a station's 站长/计量员 — one checker, one saver, and the customer detail query's
statistics (§5.9.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from piccolo.table import Table

from metrolab.kernel.errors import NotFound, Refused
from metrolab.ledger import services
from metrolab.ledger.tables import (
    Charge,
    Contract,
    CustomerPrice,
    LedgerInstrument,
    Licence,
    StationStaff,
    Visit,
)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = "text"  # text | date | decimal | textarea | select | type | contract | certificate
    required: bool = True
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    table: type[Table]
    fields: tuple[Field, ...]
    permission: str = "ledger.manage"
    parent: str = "customer"  # the FK column naming the customer (charges hang on a contract)


KINDS: dict[str, Kind] = {
    k.key: k
    for k in [
        Kind(
            "prices",
            "客户证价",
            CustomerPrice,
            (
                Field("instrument_type", "器具类型", "type"),
                Field("price", "单价（元）", "decimal"),
                Field("valid_from", "执行日期", "date"),
            ),
        ),
        Kind(
            "licences",
            "客户证照",
            Licence,
            (
                Field(
                    "kind",
                    "证照类型",
                    "select",
                    options=(
                        "营业执照",
                        "危险化学品经营许可证",
                        "成品油零售经营批准证书",
                        "采矿许可证",
                        "安全生产许可证",
                        "其他",
                    ),
                ),
                Field("number", "证照编号"),
                Field("issued_by", "发证机关", required=False),
                Field("valid_until", "有效期至", "date", required=False),
            ),
        ),
        Kind(
            "contracts",
            "企业合同",
            Contract,
            (
                Field("number", "合同编号"),
                Field("signed_on", "签订日期", "date"),
                Field("valid_until", "有效期至", "date", required=False),
                Field("amount", "合同金额（元）", "decimal"),
            ),
            permission="customers.contracts",
        ),
        Kind(
            "charges",
            "收费",
            Charge,
            (
                Field("contract", "合同", "contract"),
                Field("description", "收费内容"),
                Field("amount", "金额（元）", "decimal"),
                Field("charged_on", "收费日期", "date"),
                Field("certificate_number", "证书编号", "certificate", required=False),
            ),
            permission="customers.contracts",
            parent="contract",
        ),
        Kind(
            "visits",
            "客户拜访",
            Visit,
            (
                Field("visited_on", "拜访日期", "date"),
                Field("contact", "接待人", required=False),
                Field("inspection_notes", "检验情况", "textarea", required=False),
                Field("feedback", "客户反馈", "textarea", required=False),
            ),
        ),
        Kind(
            "staff",
            "站长与计量员",
            StationStaff,
            (
                Field("name", "姓名"),
                Field("role", "岗位", "select", options=("站长", "计量员")),
                Field("qualification_no", "计量资质证书编号", required=False),
                Field("valid_until", "资质有效期至", "date", required=False),
            ),
        ),
    ]
}


CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An amount with two decimals (SQLite hands NUMERIC back without its scale: 12000.5)."""
    return Decimal(str(value or 0)).quantize(CENT)


async def check(
    kind: Kind, values: dict[str, str], customer_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    types = await services.instrument_types() if any(f.kind == "type" for f in kind.fields) else {}
    for f in kind.fields:
        raw = (values.get(f.key) or "").strip()
        if problem := services.text_problem(raw):
            errors[f.key] = f"{f.label}{problem}"
            continue
        if not raw:
            if f.required:
                errors[f.key] = f"{f.label}不能为空"
            out[f.key] = None if f.kind in ("date", "decimal", "contract") else ""
            continue
        try:
            if f.kind == "date":
                out[f.key] = services.parse_date(raw)
            elif f.kind == "decimal":
                out[f.key] = services.parse_decimal(raw)
                if out[f.key] < 0:
                    raise ValueError("金额不能为负数")
            elif f.kind == "type":
                if raw not in types:
                    raise ValueError(f"未知的器具类型“{raw}”")
                out[f.key] = raw
            elif f.kind == "contract":
                if (
                    not raw.isdigit()
                    or len(raw) > 9
                    or not await Contract.exists().where(
                        (Contract.id == int(raw)) & (Contract.customer == customer_id)
                    )
                ):
                    raise ValueError("请选择该客户的合同")
                out[f.key] = int(raw)
            elif f.kind == "certificate":
                if raw not in await certificate_numbers(customer_id):
                    raise ValueError(f"该客户没有编号为“{raw[:50]}”的证书，请从列表中选择")
                out[f.key] = raw
            elif f.kind == "select" and raw not in f.options:
                raise ValueError(f"{f.label}应为：{'、'.join(f.options)}")
            else:
                out[f.key] = raw[:2000]
        except ValueError as exc:
            msg = str(exc)
            errors[f.key] = msg if f.kind not in ("date",) else f"{f.label}格式应为 YYYY-MM-DD"
    return out, errors


async def add(kind: Kind, customer_id: int, values: dict[str, str], user: Any = None) -> int:
    clean, errors = await check(kind, values, customer_id)
    if errors:
        raise Refused(
            "；".join(errors.values()), extra=[{"key": k, "message": v} for k, v in errors.items()]
        )
    if kind.parent == "customer":
        clean["customer"] = customer_id
    if kind.key == "visits":
        clean["visitor"] = getattr(user, "id", None)
    row = kind.table(**clean)
    await row.save()
    return row.id


async def delete(kind: Kind, customer_id: int, row_id: int) -> None:
    table = kind.table
    if kind.parent == "contract":
        owned = await Charge.exists().where(
            (Charge.id == row_id) & (Charge.contract.customer == customer_id)
        )
    else:
        owned = await table.exists().where((table.id == row_id) & (table.customer == customer_id))
    if not owned:
        raise NotFound("记录不存在")
    await table.delete().where(table.id == row_id)


async def certificate_numbers(customer_id: int) -> list[str]:
    """The customer's numbered certificates, newest first: what a charge may be booked for."""
    from metrolab.certificates.tables import Certificate

    found = (
        await Certificate.select(Certificate.number)
        .where((Certificate.customer == customer_id) & Certificate.number.is_not_null())
        .order_by(Certificate.id, ascending=False)
    )
    return [r["number"] for r in found]


async def rows(customer_id: int) -> dict[str, list[dict[str, Any]]]:
    from metrolab.accounts.tables import User

    out: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS.values():
        t = kind.table
        if kind.parent == "contract":
            query = (
                t.select(*t.all_columns(), t.contract.number.as_alias("contract_number"))
                .where(t.contract.customer == customer_id)
                .order_by(t.charged_on, ascending=False)
            )
        else:
            query = t.select().where(t.customer == customer_id).order_by(t.id, ascending=False)
        out[kind.key] = await query
    names = {
        u["id"]: u["full_name"]
        for u in await User.select(User.id, User.full_name).where(
            User.id.is_in([v["visitor"] for v in out["visits"] if v["visitor"]] or [-1])
        )
    }
    out["certificate_numbers"] = [{"number": n} for n in await certificate_numbers(customer_id)]
    for v in out["visits"]:
        v["visitor_name"] = names.get(v["visitor"], "")
    for p in out["prices"]:
        p["price"] = money(p["price"])
    charged: dict[int, Decimal] = {}
    for ch in out["charges"]:
        ch["amount"] = money(ch["amount"])
        charged[ch["contract"]] = charged.get(ch["contract"], Decimal(0)) + ch["amount"]
    for c in out["contracts"]:
        c["amount"] = money(c["amount"])
        c["charged"] = money(charged.get(c["id"], 0))
        c["balance"] = c["amount"] - c["charged"]
    return out


async def statistics(customer_id: int, today: date | None = None) -> dict[str, Any]:
    """客户明细查询 statistics: instruments by category and status, due counts, contract totals."""
    today = today or date.today()
    types = await services.instrument_types()
    instruments = await LedgerInstrument.select(
        LedgerInstrument.instrument_type,
        LedgerInstrument.status,
        LedgerInstrument.next_due_on,
        LedgerInstrument.compulsory,
    ).where(LedgerInstrument.customer == customer_id)
    by_category: dict[str, dict[str, int]] = {}
    due = {"overdue": 0, "d30": 0, "d60": 0, "d90": 0}
    for r in instruments:
        cat = (types.get(r["instrument_type"]) or {}).get("category") or "未分类"
        counts = by_category.setdefault(cat, {"in_use": 0, "idle": 0, "scrapped": 0, "total": 0})
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        counts["total"] += 1
        if r["status"] == "in_use":
            state = services.due_state(r, today)
            if state in due:
                due[state] += 1
    contracts = await Contract.select(Contract.id, Contract.amount).where(
        Contract.customer == customer_id
    )
    charges = await Charge.select(Charge.amount).where(Charge.contract.customer == customer_id)
    total = sum((money(c["amount"]) for c in contracts), money(0))
    charged = sum((money(c["amount"]) for c in charges), money(0))
    return {
        "by_category": dict(sorted(by_category.items())),
        "due": due,
        "instruments": len(instruments),
        "contracts": len(contracts),
        "contract_total": total,
        "charged_total": charged,
        "outstanding": total - charged,
    }
