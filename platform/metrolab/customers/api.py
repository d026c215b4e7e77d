"""JSON API of the customers feature under /api/v1: the twins of the customer pages."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put

from metrolab.customers import services
from metrolab.web.api import errors
from metrolab.web.params import Id, LongText, PageNo, SearchText, ShortText
from metrolab.web.permissions import perm

TAGS = ["customers"]
Text50 = Annotated[str, msgspec.Meta(max_length=50, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]
Text300 = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    position: Annotated[str, msgspec.Meta(max_length=100)] = ""
    phone: Text50 = ""
    email: Annotated[str, msgspec.Meta(max_length=150)] = ""


class CustomerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: ShortText
    credit_code: Text50 = ""  # services.validate names the 18-character rule in 中文
    category: Text50 = ""
    address: Text300 = ""
    phone: Text50 = ""
    remarks: LongText = ""
    contacts: Annotated[list[ContactIn], msgspec.Meta(max_length=100)] = []


async def _save(request: Request, data: CustomerIn, customer_id: int | None) -> dict[str, Any]:
    if customer_id is not None:
        await services.get(customer_id)  # 404 before any 400 about the values
    values = services.clean({k: getattr(data, k) for k in CustomerIn.__struct_fields__})
    problems = await services.validate(values, customer_id)
    contacts = [
        {k: getattr(c, k).strip() for k in ContactIn.__struct_fields__} for c in data.contacts
    ]
    if any(not c["name"] for c in contacts):
        problems["contacts"] = "每位联系人须有姓名（name）"
    services.refuse(problems)
    saved = await services.save_customer(values, contacts, customer_id, request.user)
    return await api_customer.fn(saved)


@get(
    "/api/v1/customers",
    opt=perm("customers.view"),
    tags=TAGS,
    summary="客户查询",
    responses=errors(),
)
async def api_customers(
    q: SearchText = "", category: SearchText = "", page_no: PageNo = 1
) -> dict[str, Any]:
    rows, total, pages = await services.search(q, category, page_no)
    return {"items": rows, "total": total, "pages": pages, "page": page_no}


@get(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.view"),
    tags=TAGS,
    summary="客户详情",
    responses=errors(404),
)
async def api_customer(customer_id: Id) -> dict[str, Any]:
    customer = await services.get(customer_id)
    customer["contacts"] = await services.contacts(customer_id)
    return customer


@post(
    "/api/v1/customers",
    opt=perm("customers.manage"),
    tags=TAGS,
    summary="新建客户",
    status_code=201,
    responses=errors(),
)
async def api_create_customer(request: Request, data: CustomerIn) -> dict[str, Any]:
    return await _save(request, data, None)


@put(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.manage"),
    tags=TAGS,
    summary="修改客户（整体替换，含联系人）",
    responses=errors(404),
)
async def api_update_customer(
    request: Request, customer_id: Id, data: CustomerIn
) -> dict[str, Any]:
    return await _save(request, data, customer_id)


@delete(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.manage"),
    tags=TAGS,
    summary="删除客户（仍被引用时拒绝）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_delete_customer(request: Request, customer_id: Id) -> dict[str, Any]:
    customer = await services.delete_customer(customer_id, request.user)
    return {"deleted": customer_id, "name": customer["name"]}


HANDLERS = [
    api_customers,
    api_customer,
    api_create_customer,
    api_update_customer,
    api_delete_customer,
]
