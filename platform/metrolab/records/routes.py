"""Pages of the records feature: new record, fill in with live server computing (htmx),
autosave, save with a reason, the read-only view and the 划改 history. JSON twins: api.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import HeaderParameter
from litestar.response import Redirect, Template

from metrolab import hooks
from metrolab.engine.forms import apply_row_action, parse_submission
from metrolab.forms import catalogue as indicators
from metrolab.kernel.errors import Conflict
from metrolab.records import api, services
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import is_htmx, page, see_other
from metrolab.web.params import INT32_MAX, Id, PageNo, SearchText
from metrolab.web.permissions import perm

STATUS_ZH = {"draft": "草稿", "saved": "已保存"}
HEADER_PREFIX = "_h."


async def _customers() -> list[tuple[int, str]]:
    from metrolab.customers.tables import Customer

    return [
        (r["id"], r["name"])
        for r in await Customer.select(Customer.id, Customer.name).order_by(Customer.name)
    ]


_mine = services.ensure_verifier


async def _posted(request: Request, pin: services.Pinned) -> tuple[dict, dict, str, str]:
    """(header, data, action, reason) from the posted page."""
    form = await request.form()
    header: dict[str, Any] = {}
    for name in form:
        if name.startswith(HEADER_PREFIX):
            values = form.getall(name)
            key = name[len(HEADER_PREFIX) :]
            header[key] = values if key == "standards" else (values[-1].strip() if values else "")
    data = parse_submission(pin.defn, form, pin.catalogue)
    return header, data, str(form.get("_action") or ""), str(form.get("_reason") or "")


_header_of = services.header_of


async def _editor(
    request: Request,
    rec: dict[str, Any],
    pin: services.Pinned,
    header: dict,
    data: dict,
    evaluation: services.Evaluation,
    header_errors: dict | None = None,
    reason: str = "",
    status_code: int = 200,
    show_summary: bool = False,
    conflict: list[dict[str, str]] | None = None,
) -> Template:
    ctx = dict(evaluation.context, compute_url=f"/records/{rec['id']}/compute")
    return page(
        "records/edit.html",
        status_code=status_code,
        title=_("原始记录 {n}", n=rec["number"]),
        rec=rec,
        pin=pin,
        header=header,
        data=data,
        ctx=ctx,
        problems=evaluation.field_problems,
        summary=(evaluation.problems if show_summary else []),
        header_errors=header_errors or {},
        reason=reason,
        customers=await _customers(),
        status_zh=STATUS_ZH,
        header_fields=[c for c, k in services.MIRRORED.items() if k not in pin.fields],
        standards=ctx.get("standards", []),
        labels=services.HEADER_LABELS,
        conflict=conflict or [],
    )


@get("/records", opt=perm("records.view"), include_in_schema=False)
async def record_list(
    request: Request,
    q: SearchText = "",
    mine: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    verifier = request.user.id if mine else None
    status = "draft" if mine == "drafts" else ""
    rows, total = await services.search(
        q, status, verifier, page_no=page_no, per_page=services.PER_PAGE
    )
    return page(
        "records/list.html",
        title=_("原始记录"),
        rows=rows,
        total=total,
        page_no=page_no,
        pages=total.pages(services.PER_PAGE),
        q=q,
        mine=mine,
        status_zh=STATUS_ZH,
    )


@get("/records/new", opt=perm("records.edit"), include_in_schema=False)
async def record_new() -> Template:
    return await _new_page({}, {})


async def _new_page(values: dict, errors: dict, status_code: int = 200) -> Template:
    types = [(t["code"], indicators.type_name(t)) for t in await indicators.list_types()]
    return page(
        "records/new.html",
        status_code=status_code,
        title=_("新建原始记录"),
        values=values,
        errors=errors,
        types=types,
        customers=await _customers(),
        today=date.today().isoformat(),
    )


@post(
    "/records",
    opt=perm("records.edit", api="POST /api/v1/records"),
    include_in_schema=False,
)
async def record_create(request: Request) -> Response:
    form = await request.form()
    values = {
        k: str(form.get(k) or "").strip()
        for k in ("customer", "instrument_type", "instrument_name", "verified_on")
    }
    errors = {}
    if not values["customer"].isdigit():
        errors["customer"] = _("请选择送检单位")
    if not values["instrument_type"]:
        errors["instrument_type"] = _("请选择器具类型")
    try:
        on = date.fromisoformat(values["verified_on"]) if values["verified_on"] else date.today()
    except ValueError:
        errors["verified_on"], on = _("日期格式应为 YYYY-MM-DD"), date.today()
    if not errors:
        try:
            rec = await services.create_draft(
                request.user,
                customer_id=int(values["customer"]),
                instrument_type=values["instrument_type"],
                instrument_name=values["instrument_name"],
                verified_on=on,
            )
        except UserError as exc:
            errors["instrument_type"] = exc.detail
            return await _new_page(values, errors, exc.status_code)
        return see_other(f"/records/{rec['id']}/edit")
    return await _new_page(values, errors, 400)


@get("/records/{record_id:int}", opt=perm("records.view"), include_in_schema=False)
async def record_view(request: Request, record_id: Id) -> Template:
    rec = await services.record_or_404(record_id)
    pin = await services.pinned(rec["form_version"])
    evaluation = await services.evaluate(
        pin, rec["data"], _header_of(rec), required=False, record_id=rec["id"]
    )
    return page(
        "records/view.html",
        title=_("原始记录 {n}", n=rec["number"]),
        rec=rec,
        pin=pin,
        ctx=evaluation.context,
        evaluation=evaluation,
        status_zh=STATUS_ZH,
        revisions=await services.revisions(record_id),
        lock=await services.locked_by(record_id),
        archive=await hooks.first("record.archived", record_id),
        budgets=await hooks.first("record.uncertainty", {**rec, "data": evaluation.data}),
        labels=services.HEADER_LABELS,
        header_fields=[c for c, k in services.MIRRORED.items() if k not in pin.fields],
    )


@get("/records/{record_id:int}/edit", opt=perm("records.edit"), include_in_schema=False)
async def record_edit(request: Request, record_id: Id) -> Template | Redirect:
    rec = await services.record_or_404(record_id)
    _mine(rec, request.user)
    if await services.locked_by(record_id):  # read-only: the record page says why and where to go
        return see_other(f"/records/{record_id}")
    pin = await services.pinned(rec["form_version"])
    header = _header_of(rec)
    evaluation = await services.evaluate(
        pin, rec["data"], header, required=False, record_id=rec["id"]
    )
    return await _editor(request, rec, pin, header, rec["data"], evaluation)


@post(
    "/records/{record_id:int}/compute",
    opt=perm("records.edit", api="POST /api/v1/records/{record_id}/compute"),
    include_in_schema=False,
)
async def record_compute(request: Request, record_id: Id) -> Template:
    """htmx: recompute on the server and return `#form-body` with values and messages."""
    rec = await services.record_or_404(record_id)
    pin = await services.pinned(rec["form_version"])
    header, data, action, reason = await _posted(request, pin)
    if action:
        data = apply_row_action(pin.defn, data, action, pin.catalogue)
    evaluation = await services.evaluate(pin, data, header, required=False, record_id=rec["id"])
    if is_htmx(request):
        ctx = dict(evaluation.context, compute_url=f"/records/{record_id}/compute")
        return page(
            "records/_form_body.html",
            pin=pin,
            data=data,
            problems=evaluation.field_problems,
            ctx=ctx,
        )
    return await _editor(request, rec, pin, header, data, evaluation, reason=reason)


@post(
    "/records/{record_id:int}/autosave",
    opt=perm("records.edit", api="POST /api/v1/records/{record_id}/autosave"),
    include_in_schema=False,
)
async def record_autosave(
    request: Request,
    record_id: Id,
    page_id: Annotated[
        str | None, HeaderParameter(name="x-autosave-page", pattern=r"^[0-9a-f]{1,32}$")
    ] = None,
    seq: Annotated[int | None, HeaderParameter(name="x-autosave-seq", ge=1, le=INT32_MAX)] = None,
) -> Template:
    rec = await services.record_or_404(record_id)
    _mine(rec, request.user)
    pin = await services.pinned(rec["form_version"])
    header, data, _action, _reason = await _posted(request, pin)
    mark = (page_id, seq) if page_id and seq else None
    await services.autosave(record_id, header, data, request.user, mark)
    return page("records/_autosaved.html", at=datetime.now().strftime("%H:%M:%S"))


@post(
    "/records/{record_id:int}/save",
    opt=perm("records.edit", api="PUT /api/v1/records/{record_id}"),
    include_in_schema=False,
)
async def record_save(request: Request, record_id: Id) -> Response:
    rec = await services.record_or_404(record_id)
    _mine(rec, request.user)
    pin = await services.pinned(rec["form_version"])
    header, data, action, reason = await _posted(request, pin)
    if action:  # a row button pressed without htmx: change the rows, keep everything, save nothing
        data = apply_row_action(pin.defn, data, action, pin.catalogue)
        evaluation = await services.evaluate(pin, data, header, required=False, record_id=rec["id"])
        return await _editor(request, rec, pin, header, data, evaluation, reason=reason)
    form = await request.form()
    base = form.get("_base")
    if rec["status"] == "saved" and base is not None and base != (rec["last_revision_hash"] or ""):
        return await _conflict(request, rec, pin, header, data, reason)
    try:
        outcome = await services.save_audited(record_id, header, data, request.user, reason)
    except Conflict:
        if await services.locked_by(record_id):
            raise
        rec = await services.record_or_404(record_id)  # saved by someone in the same instant
        return await _conflict(request, rec, pin, header, data, reason)
    if not outcome.saved:
        assert outcome.evaluation is not None
        return await _editor(
            request,
            outcome.record,
            pin,
            header,
            data,
            outcome.evaluation,
            outcome.header_errors,
            reason,
            status_code=400,
            show_summary=True,
        )
    return see_other(f"/records/{record_id}")


async def _conflict(
    request: Request,
    rec: dict[str, Any],
    pin: services.Pinned,
    header: dict,
    data: dict,
    reason: str,
) -> Template:
    """Saved by someone else since this form was opened: 409, theirs beside yours, the typed form
    kept (with the new base, so saving again after looking replaces theirs on purpose)."""
    evaluation = await services.evaluate(pin, data, header, required=False, record_id=rec["id"])
    conflict = await services.saved_meanwhile(rec, pin, header, data)
    return await _editor(
        request, rec, pin, header, data, evaluation, None, reason, 409, conflict=conflict
    )


@get("/records/{record_id:int}/history", opt=perm("records.view"), include_in_schema=False)
async def record_history(record_id: Id) -> Template:
    rec = await services.record_or_404(record_id)
    return page(
        "records/history.html",
        title=_("修改记录（划改）{n}", n=rec["number"]),
        rec=rec,
        revisions=await services.revisions(record_id),
    )


router = Router(
    path="/",
    route_handlers=[
        record_list,
        record_new,
        record_create,
        record_view,
        record_edit,
        record_compute,
        record_autosave,
        record_save,
        record_history,
        *api.HANDLERS,
    ],
)
