"""Pages of the quotations feature (报价单); the JSON twins are in api.py, on the same services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.kernel.errors import PasswordProblem, Refused
from metrolab.quotations import api, links, printing, services, workflow
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import Id, OptionalId, SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services as workflows


def _lock(form: dict[str, Any]) -> int | None:
    lock = str(form.get("lock_version", ""))
    return int(lock) if lock.isdigit() and len(lock) < 10 else None


async def _body_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "preview": await services.preview(values),
        "types": await services.instrument_types(),
        "customers": await services.customers(),
    }


async def _form_page(
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    edit: dict[str, Any] | None = None,
    status_code: int = 200,
    message: str = "",
) -> Template:
    return page(
        "quotations/form.html",
        status_code=status_code,
        title=_("修改报价单") if edit else _("新建报价单"),
        edit=edit,
        message=message,
        **await _body_context(values, errors or {}),
    )


def _row_action(values: dict[str, Any], action: str) -> dict[str, Any] | None:
    """增加一行 / 删除第 N 行: the form again with its lines changed (nothing stored)."""
    lines = list(values.get("lines") or [])
    if action == "add_line" and len(lines) < services.MAX_LINES:
        lines.append({"instrument_type": "", "quantity": "1", "unit_price": "", "discount": "0"})
    elif action.startswith("remove_line.") and action[12:].isdigit() and len(action) < 20:
        index = int(action[12:])
        if 0 <= index < len(lines):
            del lines[index]
    else:
        return None
    return {**values, "lines": lines or [{"quantity": "1", "discount": "0"}]}


@get("/quotations", opt=perm("quotations.view"), include_in_schema=False)
async def quotation_list(
    q: SearchText = "", status: SearchText = "", customer: OptionalId = None
) -> Template:
    return page(
        "quotations/list.html",
        title=_("报价单"),
        rows=await services.query(q, status, customer),
        labels=await workflows.state_labels(services.WF),
        query={"q": q, "status": status, "customer": customer or ""},
        customer_name=await services.customer_name(customer) if customer else "",
    )


@get(
    "/quotations.xlsx",
    opt=perm("quotations.view", api="GET /api/v1/quotations.xlsx"),
    include_in_schema=False,
)
async def quotation_export(
    q: SearchText = "", status: SearchText = "", customer: OptionalId = None
) -> Response:
    rows = await services.query(q, status, customer)
    return api.xlsx_response("quotations.xlsx", await services.export_xlsx(rows))


@get("/quotations/new", opt=perm("quotations.write"), include_in_schema=False)
async def quotation_new(customer: SearchText = "") -> Template:
    values = services.as_form()
    values["customer"] = customer if customer.isdigit() else ""
    return await _form_page(await services.prefill(values))


@post(
    "/quotations",
    opt=perm("quotations.write", api="POST /api/v1/quotations"),
    include_in_schema=False,
)
async def quotation_create(request: Request) -> Response | Template:
    form = await form_dict(request)
    values = services.parse_form(form)
    if (changed := _row_action(values, str(form.get("_action") or ""))) is not None:
        return await _form_page(await services.prefill(changed))
    try:
        row = await services.create(values, request.user)
    except services.QuotationProblems as exc:
        return await _form_page(
            values, exc.errors, status_code=400, message=_("请按提示修改后再保存")
        )
    return see_other(f"/quotations/{row['id']}")


@post(
    "/quotations/compute",
    opt=perm("quotations.write", api="POST /api/v1/quotations/compute"),
    include_in_schema=False,
    status_code=200,
)
async def quotation_compute(request: Request) -> Template:
    """htmx while typing: #form-body again with prices filled from 客户证价, line totals and totals."""
    values = await services.prefill(services.parse_form(await form_dict(request)))
    return page("quotations/_form_body.html", **await _body_context(values, {}))


async def _detail_page(
    request: Request,
    quotation_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    row = await services.get(quotation_id)
    return page(
        "quotations/detail.html",
        status_code=status_code,
        title=_("报价单") + " " + row["number"],
        q=row,
        lines=services.line_view(row["lines"]),
        labels=await workflows.state_labels(services.WF),
        # steps refused only for the person's role are not shown; guards are (with why)
        actions=[
            (t, refused)
            for t, refused in await workflow.actions(row, request.user)
            if refused is None or set(t.roles) & set(request.user.roles)
        ],
        history=await workflow.history(quotation_id),
        contract=await links.contract_view(row),
        contracts=await links.contracts_of(row["customer"]),
        errors=errors or {},
        values=values or {},
        printable=row["status"] in printing.PRINTABLE and bool(row["template_version"]),
    )


@get("/quotations/{quotation_id:int}", opt=perm("quotations.view"), include_in_schema=False)
async def quotation_detail(request: Request, quotation_id: Id) -> Template:
    return await _detail_page(request, quotation_id)


@get("/quotations/{quotation_id:int}/edit", opt=perm("quotations.write"), include_in_schema=False)
async def quotation_edit(quotation_id: Id) -> Template:
    row = await services.get(quotation_id)
    if row["status"] != "draft":
        raise Refused(_("只有草稿状态的报价单可以修改"), status_code=409)
    return await _form_page(services.as_form(row), edit=row)


@post(
    "/quotations/{quotation_id:int}/edit",
    opt=perm("quotations.write", api="PUT /api/v1/quotations/{quotation_id}"),
    include_in_schema=False,
)
async def quotation_update(request: Request, quotation_id: Id) -> Response | Template:
    form = await form_dict(request)
    row = await services.get(quotation_id)
    values = services.parse_form(form)
    if (changed := _row_action(values, str(form.get("_action") or ""))) is not None:
        return await _form_page(await services.prefill(changed), edit=row)
    try:
        await services.update(quotation_id, values, request.user, _lock(form))
    except services.QuotationProblems as exc:
        return await _form_page(
            values, exc.errors, edit=row, status_code=400, message=_("请按提示修改后再保存")
        )
    return see_other(f"/quotations/{quotation_id}")


@get(
    "/quotations/{quotation_id:int}/print.pdf",
    opt=perm("quotations.view", api="GET /api/v1/quotations/{quotation_id}/print.pdf"),
    include_in_schema=False,
)
async def quotation_pdf(request: Request, quotation_id: Id) -> Response:
    return await api.print_response(request, quotation_id, "pdf")


@get(
    "/quotations/{quotation_id:int}/print.docx",
    opt=perm("quotations.view", api="GET /api/v1/quotations/{quotation_id}/print.docx"),
    include_in_schema=False,
)
async def quotation_docx(request: Request, quotation_id: Id) -> Response:
    return await api.print_response(request, quotation_id, "docx")


@get(
    "/quotations/{quotation_id:int}/entrustment",
    opt=perm("quotations.write"),
    include_in_schema=False,
)
async def quotation_entrustment(request: Request, quotation_id: Id) -> Template:
    """受理委托 prefilled from the approved quotation (posts back here, not to /entrustments)."""
    from metrolab.business import routes as business
    from metrolab.business import services as entrustments

    row = await links.convertible(quotation_id, request.user)
    pin = await entrustments.entrustment_form()
    return await business._new_page(
        pin,
        await links.entrustment_data(row),
        [],
        action=f"/quotations/{quotation_id}/entrustment",
        heading=_("报价单 {n} 转为委托单", n=row["number"]),
    )


@post(
    "/quotations/{quotation_id:int}/entrustment",
    opt=perm("quotations.write", api="POST /api/v1/quotations/{quotation_id}/entrustment"),
    include_in_schema=False,
)
async def quotation_convert(request: Request, quotation_id: Id) -> Response | Template:
    from metrolab.business import routes as business
    from metrolab.business import services as entrustments
    from metrolab.engine.forms import apply_row_action, parse_submission

    row = await links.convertible(quotation_id, request.user)
    form = await request.form()
    pin = await entrustments.entrustment_form(business._int(form.get("_version")))
    data = parse_submission(pin.defn, form)
    action = str(form.get("_action") or "")
    target = f"/quotations/{quotation_id}/entrustment"
    heading = _("报价单 {n} 转为委托单", n=row["number"])
    if action.startswith(("add_row", "remove_row")):
        changed = apply_row_action(pin.defn, data, action)
        return await business._new_page(pin, changed, [], action=target, heading=heading)
    choice = {k: bool(form.get(k)) for k in ("_new_customer", "_confirm_similar")}
    try:
        e = await links.convert(
            quotation_id,
            request.user,
            pin,
            data,
            choice["_new_customer"],
            choice["_confirm_similar"],
        )
    except entrustments.FormProblems as exc:
        return await business._new_page(
            pin,
            data,
            exc.problems,
            400,
            _("请按提示修改后再提交"),
            choice=choice,
            action=target,
            heading=heading,
        )
    return see_other(f"/entrustments/{e['id']}")


@post(
    "/quotations/{quotation_id:int}/contract",
    opt=perm("quotations.write", api="POST /api/v1/quotations/{quotation_id}/contract"),
    include_in_schema=False,
)
async def quotation_link_contract(request: Request, quotation_id: Id) -> Response:
    form = await form_dict(request)
    raw = str(form.get("contract") or "")
    contract_id = int(raw) if raw.isdigit() and len(raw) < 11 else None
    if raw and contract_id is None:
        raise Refused(_("合同不存在"), status_code=404)
    await links.link_contract(quotation_id, contract_id, request.user)
    return see_other(f"/quotations/{quotation_id}")


@post(
    "/quotations/{quotation_id:int}/contract/new",
    opt=perm("quotations.write", api="POST /api/v1/quotations/{quotation_id}/contract/new"),
    include_in_schema=False,
)
async def quotation_new_contract(request: Request, quotation_id: Id) -> Response | Template:
    form = await form_dict(request)
    try:
        await links.contract_from_quotation(quotation_id, form, request.user)
    except services.QuotationProblems as exc:
        return await _detail_page(
            request, quotation_id, errors=exc.errors, values=form, status_code=400
        )
    return see_other(f"/quotations/{quotation_id}")


@post(
    "/quotations/{quotation_id:int}/{action:str}",
    opt=perm("quotations.view", api="POST /api/v1/quotations/{quotation_id}/{action}"),
    include_in_schema=False,
)
async def quotation_act(request: Request, quotation_id: Id, action: str) -> Response | Template:
    """One workflow step; the engine checks the role (审核: 技术负责人, 审批: 批准人), the guard, the
    reason and the signature. A wrong password or a missing reason shows the page again, 400."""
    form = await form_dict(request)
    try:
        await workflow.act(
            quotation_id,
            action[:100],
            request.user,
            reason=form.get("reason") or None,
            password=form.get("password") or None,
            expected_lock=_lock(form),
        )
    except Refused as exc:
        if exc.status_code >= 500 or exc.status_code == 404:
            raise
        field = "password" if isinstance(exc, PasswordProblem) else "reason"
        return await _detail_page(
            request,
            quotation_id,
            errors={f"{action[:100]}.{field}": exc.detail},
            values={"reason": form.get("reason", "")},
            status_code=exc.status_code if exc.status_code in (403, 409) else 400,
        )
    return see_other(f"/quotations/{quotation_id}")


router = Router(
    path="/",
    route_handlers=[
        quotation_list,
        quotation_export,
        quotation_new,
        quotation_create,
        quotation_compute,
        quotation_detail,
        quotation_edit,
        quotation_update,
        quotation_pdf,
        quotation_docx,
        quotation_entrustment,
        quotation_convert,
        quotation_link_contract,
        quotation_new_contract,
        quotation_act,
        *api.HANDLERS,
    ],
)
