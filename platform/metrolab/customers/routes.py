"""Pages and API of the customers feature (§5.4.1, §5.9.1, §5.9.2)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.response import Template

from metrolab.audit.log import record
from metrolab.customers import services
from metrolab.customers.tables import Customer
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import page, see_other
from metrolab.web.permissions import perm


async def _get(customer_id: int) -> dict[str, Any]:
    row = await Customer.select().where(Customer.id == customer_id).first()
    if row is None:
        raise UserError(status_code=404, detail="客户不存在")
    return row


def _form_lists(form: Any) -> dict[str, list[str]]:
    return {k: [v.strip() if isinstance(v, str) else v for v in form.getall(k)] for k in form}


def _editor(
    values: dict, errors: dict, contacts: list, customer_id: int | None, status_code: int = 200
) -> Template:
    return page(
        "customers/form.html",
        status_code=status_code,
        title=_("编辑客户") if customer_id else _("新建客户"),
        values=values,
        errors=errors,
        contacts=contacts,
        customer_id=customer_id,
        categories=services.CATEGORIES,
    )


@get("/customers", opt=perm("customers.view"), include_in_schema=False)
async def customer_list(
    request: Request, q: str = "", category: str = "", page_no: int = 1
) -> Template:
    rows, total, pages = await services.search(q, category, page_no)
    template = (
        "customers/_rows.html" if request.headers.get("hx-request") else "customers/list.html"
    )
    return page(
        template,
        title=_("客户"),
        rows=rows,
        total=total,
        pages=pages,
        page_no=page_no,
        query={"q": q, "category": category},
        categories=services.CATEGORIES,
    )


@get("/customers/new", opt=perm("customers.manage"), include_in_schema=False)
async def customer_new() -> Template:
    return _editor({}, {}, [], None)


async def _save(request: Request, customer_id: int | None) -> Response:
    form = await request.form()
    lists = _form_lists(form)
    values = services.clean({k: (v[-1] if v else "") for k, v in lists.items()})
    errors = await services.validate(values, customer_id)
    contacts, contact_errors = services.contact_rows(lists)
    errors.update(contact_errors)
    if errors:
        return _editor(values, {k: _(v) for k, v in errors.items()}, contacts, customer_id, 400)
    if customer_id is None:
        customer = Customer(**values)  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
        await customer.save()
        customer_id = customer.id
        action = "customer.created"
    else:
        await Customer.update(values).where(Customer.id == customer_id)  # type: ignore[arg-type]  # Piccolo: update() takes str keys; its dict type is invariant
        action = "customer.updated"
    await services.save_contacts(customer_id, contacts)
    await record(
        action,
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"name": values["name"]},
    )
    return see_other(f"/customers/{customer_id}")


@post("/customers", opt=perm("customers.manage"), include_in_schema=False)
async def customer_create(request: Request) -> Response:
    return await _save(request, None)


@get("/customers/{customer_id:int}", opt=perm("customers.view"), include_in_schema=False)
async def customer_detail(customer_id: int) -> Template:
    customer = await _get(customer_id)
    return page(
        "customers/detail.html",
        title=customer["name"],
        c=customer,
        contacts=await services.contacts(customer_id),
        references=await services.references(customer_id),
    )


@get("/customers/{customer_id:int}/edit", opt=perm("customers.manage"), include_in_schema=False)
async def customer_edit(customer_id: int) -> Template:
    return _editor(await _get(customer_id), {}, await services.contacts(customer_id), customer_id)


@post("/customers/{customer_id:int}", opt=perm("customers.manage"), include_in_schema=False)
async def customer_update(request: Request, customer_id: int) -> Response:
    await _get(customer_id)
    return await _save(request, customer_id)


async def _delete(request: Request, customer_id: int) -> dict[str, Any]:
    customer = await _get(customer_id)
    if refs := await services.references(customer_id):
        raise UserError(
            status_code=409, detail=_("该客户仍被引用，不能删除：{refs}", refs="；".join(refs))
        )
    await Customer.delete().where(Customer.id == customer_id)
    await record(
        "customer.deleted",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"name": customer["name"]},
    )
    return customer


@post("/customers/{customer_id:int}/delete", opt=perm("customers.manage"), include_in_schema=False)
async def customer_delete_page(request: Request, customer_id: int) -> Response:
    await _delete(request, customer_id)
    return see_other("/customers")


# ── JSON API ───────────────────────────────────────────────────────────────────────────────────


@get("/api/v1/customers", opt=perm("customers.view"), tags=["customers"], summary="客户查询")
async def api_customers(q: str = "", category: str = "", page_no: int = 1) -> dict[str, Any]:
    rows, total, pages = await services.search(q, category, page_no)
    return {"items": rows, "total": total, "pages": pages, "page": page_no}


@get(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.view"),
    tags=["customers"],
    summary="客户详情",
)
async def api_customer(customer_id: int) -> dict[str, Any]:
    customer = await _get(customer_id)
    customer["contacts"] = await services.contacts(customer_id)
    return customer


async def _api_save(
    request: Request, data: dict[str, Any], customer_id: int | None
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(status_code=400, detail="请求体应为 JSON 对象")
    values = services.clean(
        {k: str(v) if v is not None else "" for k, v in data.items() if k != "contacts"}
    )
    errors = await services.validate(values, customer_id)
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list) or not all(
        isinstance(c, dict) and c.get("name") for c in contacts
    ):
        errors["contacts"] = "联系人应为列表，每位联系人须有姓名（name）"
    if errors:
        raise UserError(
            status_code=400,
            detail="；".join(f"{k}：{v}" for k, v in errors.items()),
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )
    if customer_id is None:
        customer = Customer(**values)  # type: ignore[arg-type]  # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
        await customer.save()
        customer_id = customer.id
    else:
        await Customer.update(values).where(Customer.id == customer_id)  # type: ignore[arg-type]  # Piccolo: update() takes str keys; its dict type is invariant
    await services.save_contacts(
        customer_id,
        [{k: str(c.get(k, "")) for k in ("name", "position", "phone", "email")} for c in contacts],
    )
    await record(
        "customer.saved", actor=request.user, target_type="customer", target_id=customer_id
    )
    return await api_customer.fn(customer_id)


@post(
    "/api/v1/customers",
    opt=perm("customers.manage"),
    tags=["customers"],
    summary="新建客户",
    status_code=201,
)
async def api_create_customer(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    return await _api_save(request, data, None)


@put(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.manage"),
    tags=["customers"],
    summary="修改客户",
)
async def api_update_customer(
    request: Request, customer_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    await _get(customer_id)
    return await _api_save(request, data, customer_id)


@delete(
    "/api/v1/customers/{customer_id:int}",
    opt=perm("customers.manage"),
    tags=["customers"],
    summary="删除客户",
    status_code=200,
)
async def api_delete_customer(request: Request, customer_id: int) -> dict[str, Any]:
    customer = await _delete(request, customer_id)
    return {"deleted": customer_id, "name": customer["name"]}


router = Router(
    path="/",
    route_handlers=[
        customer_list,
        customer_new,
        customer_create,
        customer_detail,
        customer_edit,
        customer_update,
        customer_delete_page,
        api_customers,
        api_customer,
        api_create_customer,
        api_update_customer,
        api_delete_customer,
    ],
)
