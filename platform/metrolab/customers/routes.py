"""Pages of the customers feature (§5.4.1, §5.9.1, §5.9.2); the JSON twins are in api.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab import hooks
from metrolab.customers import api, services
from metrolab.web.i18n import _
from metrolab.web.pages import page, see_other
from metrolab.web.params import Id, PageNo, SearchText
from metrolab.web.permissions import perm

_get = services.get


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
    request: Request, q: SearchText = "", category: SearchText = "", page_no: PageNo = 1
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
    customer_id = await services.save_customer(values, contacts, customer_id, request.user)
    return see_other(f"/customers/{customer_id}")


@post(
    "/customers",
    opt=perm("customers.manage", api="POST /api/v1/customers"),
    include_in_schema=False,
)
async def customer_create(request: Request) -> Response:
    return await _save(request, None)


@get("/customers/{customer_id:int}", opt=perm("customers.view"), include_in_schema=False)
async def customer_detail(request: Request, customer_id: Id) -> Template:
    customer = await _get(customer_id)
    links = [
        link
        for answer in await hooks.gather("customer.links", customer_id, request.user)
        for link in answer
    ]
    return page(
        "customers/detail.html",
        title=customer["name"],
        c=customer,
        contacts=await services.contacts(customer_id),
        references=await services.references(customer_id),
        links=links,
    )


@get("/customers/{customer_id:int}/edit", opt=perm("customers.manage"), include_in_schema=False)
async def customer_edit(customer_id: Id) -> Template:
    return _editor(await _get(customer_id), {}, await services.contacts(customer_id), customer_id)


@post(
    "/customers/{customer_id:int}",
    opt=perm("customers.manage", api="PUT /api/v1/customers/{customer_id}"),
    include_in_schema=False,
)
async def customer_update(request: Request, customer_id: Id) -> Response:
    await _get(customer_id)
    return await _save(request, customer_id)


@post(
    "/customers/{customer_id:int}/delete",
    opt=perm("customers.manage", api="DELETE /api/v1/customers/{customer_id}"),
    include_in_schema=False,
)
async def customer_delete_page(request: Request, customer_id: Id) -> Response:
    await services.delete_customer(customer_id, request.user)
    return see_other("/customers")


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
        *api.HANDLERS,
    ],
)
