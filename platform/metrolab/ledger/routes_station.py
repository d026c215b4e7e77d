"""Pages of the customer dossier (§5.9: statistics, 证价, 证照, 合同 + 收费, 拜访) and of a gas station's
compliance with T/ZBMS 005 (self-checks, staff, the demonstration-unit application and its package)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab.audit.log import record
from metrolab.ledger import actions, compliance, dossier, downloads, exports, package, services
from metrolab.ledger.routes import download
from metrolab.ledger.tables import STATUSES, SelfCheck
from metrolab.web.errors import UserError
from metrolab.web.i18n import _, current_language
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import Code, Id
from metrolab.web.permissions import PUBLIC, perm

GAS_STATION = "加油站"


# ── the customer dossier (客户明细查询) ─────────────────────────────────────────────────────────


async def _dossier(
    request: Request,
    customer_id: Id,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    c = await services.customer(customer_id)
    types = await services.instrument_types()
    today = date.today()
    rows = exports.instrument_rows(
        await services.search(customer_id=customer_id, limit=None), types
    )
    portal = ""
    if request.user.can("ledger.manage"):
        portal = (
            f"{request.base_url}".rstrip("/")
            + "/portal/"
            + await services.portal_token(customer_id)
        )
    return page(
        "ledger/customer.html",
        status_code=status_code,
        title=c["name"],
        c=c,
        rows=rows,
        types=types,
        stats=await dossier.statistics(customer_id, today),
        records=await dossier.rows(customer_id),
        kinds=dossier.KINDS,
        errors=errors or {},
        values=values or {},
        today=today,
        portal=portal,
        is_station=c["category"] == GAS_STATION,
        statuses=STATUSES,
        imported=request.query_params.get("imported"),
        due_labels=services.DUE_LABELS,
        due_state=services.due_state,
        type_name=services.type_name,
    )


@get("/ledger/customers/{customer_id:int}", opt=perm("ledger.view"), include_in_schema=False)
async def customer_page(request: Request, customer_id: Id) -> Template:
    return await _dossier(request, customer_id)


@get(
    "/ledger/customers/{customer_id:int}/export.xlsx",
    opt=perm("ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/export.xlsx"),
    include_in_schema=False,
)
async def customer_export_xlsx(customer_id: Id) -> Response:
    """The customer's ledger + a statistics sheet."""
    return (await downloads.customer_ledger(customer_id, "xlsx")).response()


@get(
    "/ledger/customers/{customer_id:int}/export.csv",
    opt=perm("ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/export.csv"),
    include_in_schema=False,
)
async def customer_export_csv(customer_id: Id) -> Response:
    return (await downloads.customer_ledger(customer_id, "csv")).response()


@post(
    "/ledger/customers/{customer_id:int}/records/{kind:str}",
    opt=perm("ledger.view", api="POST /api/v1/ledger/customers/{customer_id}/records/{kind}"),
    include_in_schema=False,
)
async def record_add(request: Request, customer_id: Id, kind: Code) -> Response:
    values = await form_dict(request)
    try:
        await actions.add_record(kind, customer_id, values, request.user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        errors = {e["key"]: e["message"] for e in exc.extra or []}
        return await _dossier(request, customer_id, {kind: errors}, {kind: values}, 400)
    return see_other(f"/ledger/customers/{customer_id}#{kind}")


@post(
    "/ledger/customers/{customer_id:int}/records/{kind:str}/{row_id:int}/delete",
    opt=perm(
        "ledger.view",
        api="DELETE /api/v1/ledger/customers/{customer_id}/records/{kind}/{row_id}",
    ),
    include_in_schema=False,
)
async def record_delete(request: Request, customer_id: Id, kind: Code, row_id: Id) -> Response:
    await actions.delete_record(kind, customer_id, row_id, request.user)
    return see_other(f"/ledger/customers/{customer_id}#{kind}")


@post(
    "/ledger/customers/{customer_id:int}/licences/{licence_id:int}/scan",
    opt=perm(
        "ledger.manage",
        api="POST /api/v1/ledger/customers/{customer_id}/licences/{licence_id}/scan",
    ),
    include_in_schema=False,
)
async def licence_scan_upload(request: Request, customer_id: Id, licence_id: Id) -> Response:
    from metrolab.ledger.routes import _upload

    content, _name, _values = await _upload(request, "scan")
    try:
        await actions.licence_scan(customer_id, licence_id, content, request.user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        return await _dossier(
            request, customer_id, {"licences": {"scan": str(exc.detail)}}, {}, 400
        )
    return see_other(f"/ledger/customers/{customer_id}#licences")


@get(
    "/ledger/customers/{customer_id:int}/licences/{licence_id:int}/scan",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def licence_scan(customer_id: Id, licence_id: Id) -> Response:
    from metrolab import storage
    from metrolab.ledger.tables import Licence

    row = (
        await Licence.select()
        .where((Licence.id == licence_id) & (Licence.customer == customer_id))
        .first()
    )
    if row is None or not row["scan_sha256"] or not storage.exists(row["scan_sha256"]):
        raise UserError(status_code=404, detail="扫描件不存在")
    return Response(
        content=storage.get(row["scan_sha256"]),
        media_type=services.SCAN_MEDIA[row["scan_type"]],
        headers={"x-content-type-options": "nosniff"},
    )


# ── gas-station compliance (T/ZBMS 005) ──────────────────────────────────────────────────────


_station = actions.station


@get(
    "/ledger/customers/{customer_id:int}/station", opt=perm("ledger.view"), include_in_schema=False
)
async def station_page(request: Request, customer_id: Id) -> Template:
    c = await _station(customer_id)
    requirements = await compliance.evaluate(customer_id)
    records = await dossier.rows(customer_id)
    return page(
        "ledger/station.html",
        title=_("诚信计量示范单位达标情况"),
        c=c,
        requirements=requirements,
        passed=sum(r.ok for r in requirements),
        staff=records["staff"],
        kinds=dossier.KINDS,
        errors={},
        values={},
        today=date.today(),
    )


@get(
    "/ledger/customers/{customer_id:int}/station/equipment.xlsx",
    opt=perm(
        "ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/station/equipment.xlsx"
    ),
    include_in_schema=False,
)
async def station_equipment_xlsx(customer_id: Id) -> Response:
    return (await downloads.station_equipment(customer_id, "xlsx")).response()


@get(
    "/ledger/customers/{customer_id:int}/station/equipment.docx",
    opt=perm(
        "ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/station/equipment.docx"
    ),
    include_in_schema=False,
)
async def station_equipment_docx(customer_id: Id) -> Response:
    return (await downloads.station_equipment(customer_id, "docx")).response()


# ── monthly self-checks (gas_station_self_check form) ────────────────────────────────────────


_self_check_form = compliance.self_check_form


async def _self_check_page(
    instrument_id: int,
    data: dict[str, Any],
    problems: list,
    month: str,
    status_code: int = 200,
    message: str = "",
    action: str = "",
    month_error: str = "",
) -> Template:
    from metrolab.engine.forms import render_form

    r = await actions.dispenser(instrument_id)
    action = action or f"/ledger/instruments/{instrument_id}/self-check"
    html = render_form(
        _self_check_form(),
        data,
        problems,
        None,
        {"compute_url": f"{action}/compute"},
        current_language(),
        "edit",
    )
    return page(
        "ledger/self_check.html",
        status_code=status_code,
        title=_("加油机月度自校记录"),
        r=r,
        form_html=html,
        month=month,
        message=message,
        month_error=month_error,
        action=action,
        portal=action.startswith("/portal/"),
    )


async def _blank_self_check(instrument_id: int, action: str = "") -> Template:
    r = await services.get_instrument(instrument_id)
    data = {
        "check_date": date.today().isoformat(),
        "dispenser": r["serial"],
        "nozzles": [{"nozzle_no": str(n + 1)} for n in range(r["nozzles"] or 1)],
    }
    return await _self_check_page(
        instrument_id, data, [], date.today().strftime("%Y-%m"), action=action
    )


@get(
    "/ledger/instruments/{instrument_id:int}/self-check",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def self_check_new(instrument_id: Id) -> Template:
    return await _blank_self_check(instrument_id)


async def _posted(request: Request) -> tuple[Any, dict[str, Any], list, str]:
    from metrolab.engine.forms import apply_row_action, parse_submission

    defn = _self_check_form()
    form = await request.form()
    data = parse_submission(defn, form)
    action = form.get("_action")
    if isinstance(action, str) and action:
        data = apply_row_action(defn, data, action)
    data, problems = actions.evaluate_form(defn, data)
    return defn, data, problems, str(form.get("month") or "")


@post(
    "/ledger/instruments/{instrument_id:int}/self-check/compute",
    opt=perm(
        "ledger.manage", api="POST /api/v1/ledger/instruments/{instrument_id}/self-check/compute"
    ),
    include_in_schema=False,
)
async def self_check_compute(request: Request, instrument_id: Id) -> Template:
    _defn, data, problems, month = await _posted(request)
    return await _self_check_page(instrument_id, data, problems, month)


async def _save_self_check(
    request: Request, instrument_id: int, user: Any, action: str = ""
) -> Template | int:
    """The new SelfCheck's id, or the form again (400) with the problems."""
    _defn, data, problems, month = await _posted(request)
    try:
        return await actions.save_self_check(instrument_id, month, data, problems, user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        month_error = [e["message"] for e in exc.extra or [] if e.get("key") == "month"]
        message = month_error[0] if month_error else "请修改标红的项目后再保存"
        return await _self_check_page(
            instrument_id, data, problems, month, 400, message, action, "".join(month_error)
        )


@post(
    "/ledger/instruments/{instrument_id:int}/self-check",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/instruments/{instrument_id}/self-check"),
    include_in_schema=False,
)
async def self_check_save(request: Request, instrument_id: Id) -> Response:
    saved = await _save_self_check(request, instrument_id, request.user)
    return saved if isinstance(saved, Template) else see_other(f"/ledger/self-checks/{saved}")


# The station's metrologist fills the self-check through the station's portal link (no lab account).


async def _portal_dispenser(token: str, instrument_id: Id) -> str:
    customer_id = await services.customer_for_token(token)
    r = await services.get_instrument(instrument_id) if customer_id else None
    if r is None or r["customer"] != customer_id or r["instrument_type"] != compliance.DISPENSER:
        raise UserError(status_code=404, detail="链接无效或已失效，请向检定机构索取新的链接")
    return f"/portal/{token}/self-check/{instrument_id}"


@get("/portal/{token:str}/self-check/{instrument_id:int}", opt=PUBLIC, include_in_schema=False)
async def portal_self_check(token: str, instrument_id: Id) -> Template:
    return await _blank_self_check(instrument_id, await _portal_dispenser(token, instrument_id))


@post(
    "/portal/{token:str}/self-check/{instrument_id:int}/compute",
    opt=PUBLIC,
    include_in_schema=False,
)
async def portal_self_check_compute(request: Request, token: str, instrument_id: Id) -> Template:
    action = await _portal_dispenser(token, instrument_id)
    _defn, data, problems, month = await _posted(request)
    return await _self_check_page(instrument_id, data, problems, month, action=action)


@post("/portal/{token:str}/self-check/{instrument_id:int}", opt=PUBLIC, include_in_schema=False)
async def portal_self_check_save(request: Request, token: str, instrument_id: Id) -> Response:
    action = await _portal_dispenser(token, instrument_id)
    saved = await _save_self_check(request, instrument_id, None, action)
    return (
        saved
        if isinstance(saved, Template)
        else see_other(f"/portal/{token}?self_check={saved}#self-checks")
    )


@get("/ledger/self-checks/{check_id:int}", opt=perm("ledger.view"), include_in_schema=False)
async def self_check_view(check_id: Id) -> Template:
    from metrolab.engine.forms import render_form

    row = await SelfCheck.select().where(SelfCheck.id == check_id).output(load_json=True).first()
    if row is None:
        raise UserError(status_code=404, detail="自校记录不存在")
    r = await services.get_instrument(row["instrument"])
    html = render_form(_self_check_form(), row["data"], [], None, {}, current_language(), "view")
    return page(
        "ledger/self_check_view.html", title=_("加油机月度自校记录"), r=r, check=row, form_html=html
    )


# ── the demonstration-unit application and its package ───────────────────────────────────────


async def _application_page(
    customer_id: Id,
    data: dict[str, Any],
    problems: list,
    status_code: int = 200,
    message: str = "",
) -> Template:
    from metrolab.engine.forms import render_form

    c = await _station(customer_id)
    html = render_form(
        package.definition(),
        data,
        problems,
        None,
        {"compute_url": f"/ledger/customers/{customer_id}/application/compute"},
        current_language(),
        "edit",
    )
    return page(
        "ledger/application.html",
        status_code=status_code,
        title=_("诚信计量示范单位申请书"),
        c=c,
        form_html=html,
        message=message,
    )


@get(
    "/ledger/customers/{customer_id:int}/application",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def application_page(customer_id: Id, refill: bool = False) -> Template:
    data = await (
        package.prefill(customer_id) if refill else package.saved_or_prefilled(customer_id)
    )
    return await _application_page(customer_id, data, [])


async def _application_posted(request: Request) -> tuple[dict[str, Any], list]:
    from metrolab.engine.forms import parse_submission

    defn = package.definition()
    return actions.evaluate_form(defn, parse_submission(defn, await request.form()))


@post(
    "/ledger/customers/{customer_id:int}/application/compute",
    opt=perm(
        "ledger.manage", api="POST /api/v1/ledger/customers/{customer_id}/application/compute"
    ),
    include_in_schema=False,
)
async def application_compute(request: Request, customer_id: Id) -> Template:
    data, problems = await _application_posted(request)
    return await _application_page(customer_id, data, problems)


@post(
    "/ledger/customers/{customer_id:int}/application",
    opt=perm("ledger.manage", api="PUT /api/v1/ledger/customers/{customer_id}/application"),
    include_in_schema=False,
)
async def application_save(request: Request, customer_id: Id) -> Response:
    await _station(customer_id)
    data, problems = await _application_posted(request)
    try:
        await actions.save_application(customer_id, data, problems, request.user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        return await _application_page(customer_id, data, problems, 400, "请修改标红的项目后再保存")
    return see_other(f"/ledger/customers/{customer_id}/application?saved=1")


@get(
    "/ledger/customers/{customer_id:int}/application.docx",
    opt=perm("ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/application.docx"),
    include_in_schema=False,
)
async def application_docx(customer_id: Id) -> Response:
    return (await downloads.application(customer_id)).response()


@get(
    "/ledger/customers/{customer_id:int}/application-package.zip",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def application_package(request: Request, customer_id: Id, pdf: bool = True) -> Response:
    c = await _station(customer_id)
    data, draft = await package.build_package(customer_id, include_pdf=pdf)
    await record(
        "ledger.application_package",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"draft": draft},
    )
    name = f"{c['name']}_诚信计量示范单位申报材料{'（草稿）' if draft else ''}.zip"
    return download(data, name, "application/zip")


handlers = [
    customer_page,
    customer_export_xlsx,
    customer_export_csv,
    record_add,
    record_delete,
    licence_scan_upload,
    licence_scan,
    station_page,
    station_equipment_xlsx,
    station_equipment_docx,
    self_check_new,
    self_check_compute,
    self_check_save,
    self_check_view,
    portal_self_check,
    portal_self_check_compute,
    portal_self_check_save,
    application_page,
    application_compute,
    application_save,
    application_docx,
    application_package,
]
