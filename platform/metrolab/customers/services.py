"""Customers: validation, search, and the rule that a referenced customer cannot be deleted."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from metrolab.audit.log import record
from metrolab.customers.tables import Contact, Customer
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.matching import contains

PAGE_SIZE = 30
CATEGORIES = ["煤矿", "加油站", "化工企业", "电力企业", "检测机构", "政府机关", "其他"]
# GB 32100-2015: 18 characters from this alphabet (no I, O, Z, S, V).
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

# Features that refer to customers register a counter here: (description, count(customer_id)).
ReferenceCounter = Callable[[int], Awaitable[int]]
REFERENCES: list[tuple[str, ReferenceCounter]] = []


def credit_code_problem(code: str) -> str | None:
    """统一社会信用代码: format and check digit (GB 32100-2015). Empty is allowed."""
    if not code:
        return None
    code = code.upper()
    if not _CREDIT_CODE.match(code):
        return "统一社会信用代码应为 18 位数字或大写字母"
    total = sum(
        _CREDIT_ALPHABET.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True)
    )
    check = _CREDIT_ALPHABET[(31 - total % 31) % 31]
    if code[17] != check:
        return "统一社会信用代码校验位不正确"
    return None


async def validate(values: dict[str, str], customer_id: int | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = values.get("name", "")
    if not name:
        errors["name"] = "客户名称不能为空"
    elif len(name) > 200:
        errors["name"] = "客户名称不能超过 200 字"
    else:
        same = Customer.exists().where(Customer.name == name)
        if customer_id:
            same = same.where(Customer.id != customer_id)
        if await same:
            errors["name"] = "已有同名客户"
    if problem := credit_code_problem(values.get("credit_code", "")):
        errors["credit_code"] = problem
    if values.get("phone") and not re.fullmatch(r"[0-9+\-() 转]{5,30}", values["phone"]):
        errors["phone"] = "电话号码格式不正确"
    return errors


def clean(values: dict[str, str]) -> dict[str, str]:
    fields = ("name", "credit_code", "category", "address", "phone", "remarks")
    out = {k: (values.get(k) or "").strip() for k in fields}
    out["credit_code"] = out["credit_code"].upper()
    return out


async def search(q: str = "", category: str = "", page_no: int = 1) -> tuple[list[dict], int, int]:
    query = Customer.select(
        Customer.id,
        Customer.name,
        Customer.credit_code,
        Customer.category,
        Customer.address,
        Customer.phone,
    )
    count = Customer.count()
    if q:
        clause = (
            contains(Customer.name, q)
            | contains(Customer.credit_code, q)
            | contains(Customer.address, q)
            | contains(Customer.phone, q)
        )
        query, count = query.where(clause), count.where(clause)
    if category:
        query, count = (
            query.where(Customer.category == category),
            count.where(Customer.category == category),
        )
    total = await count
    page_no = max(1, page_no)
    rows = await query.order_by(Customer.name).limit(PAGE_SIZE).offset((page_no - 1) * PAGE_SIZE)
    return rows, total, max(1, -(-total // PAGE_SIZE))


async def references(customer_id: int) -> list[str]:
    """What still refers to this customer, in words ("委托单 3 张")."""
    from metrolab.features import wire

    wire()  # the features' CUSTOMER_REFERENCES
    found = []
    for description, counter in REFERENCES:
        if n := await counter(customer_id):
            found.append(f"{description} {n}")
    return found


async def contacts(customer_id: int) -> list[dict]:
    return await Contact.select().where(Contact.customer == customer_id).order_by(Contact.id)


def contact_rows(form_lists: dict[str, list[str]]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Contacts posted as parallel lists contact_name[] / contact_phone[] …; blank rows dropped."""
    columns = {
        k: form_lists.get(f"contact_{k}", []) for k in ("name", "position", "phone", "email")
    }
    rows, errors = [], {}
    for i in range(len(columns["name"])):
        row = {k: (values[i] if i < len(values) else "").strip() for k, values in columns.items()}
        if not any(row.values()):
            continue
        if not row["name"]:
            errors[f"contact_{i}"] = f"第 {i + 1} 位联系人：姓名不能为空"
        rows.append(row)
    return rows, errors


async def save_contacts(customer_id: int, rows: list[dict[str, str]]) -> None:
    await Contact.delete().where(Contact.customer == customer_id)
    if rows:
        await Contact.insert(*[Contact(customer=customer_id, **row) for row in rows])  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data


async def get(customer_id: int) -> dict[str, Any]:
    row = await Customer.select().where(Customer.id == customer_id).first()
    if row is None:
        raise NotFound("客户不存在")
    return row


def refuse(errors: dict[str, str]) -> None:
    """The JSON answer to bad values: one 中文 detail, each field named in ``errors``."""
    if errors:
        raise Refused(
            "；".join(errors.values()),
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )


async def save_customer(
    values: dict[str, str], contacts_: list[dict[str, str]], customer_id: int | None, actor: Any
) -> int:
    """Store checked ``values`` and the contacts (page and API alike); audited. Returns the id."""
    if customer_id is None:
        customer = Customer(**values)  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
        await customer.save()
        customer_id, action = customer.id, "customer.created"
    else:
        await get(customer_id)
        await Customer.update(values).where(Customer.id == customer_id)  # type: ignore[arg-type]  # Piccolo: update() takes str keys; its dict type is invariant
        action = "customer.updated"
    await save_contacts(customer_id, contacts_)
    await record(
        action,
        actor=actor,
        target_type="customer",
        target_id=customer_id,
        details={"name": values["name"]},
    )
    return customer_id


async def delete_customer(customer_id: int, actor: Any) -> dict[str, Any]:
    """Delete a customer nothing refers to (else 409 naming what still does); audited."""
    customer = await get(customer_id)
    if refs := await references(customer_id):
        raise Conflict("该客户仍被引用，不能删除：" + "；".join(refs))
    await Customer.delete().where(Customer.id == customer_id)
    await record(
        "customer.deleted",
        actor=actor,
        target_type="customer",
        target_id=customer_id,
        details={"name": customer["name"]},
    )
    return customer
