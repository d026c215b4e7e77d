"""Pages of the instrument ledger: queries and exports (§5.9.6–§5.9.7), instruments by hand, xlsx import,
external certificates (§5.8.12), due-date warnings, recall notices and the customer portal."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab import storage
from metrolab.ledger import actions, downloads, exports, importing, services
from metrolab.ledger.tables import STATUSES, ExternalCertificate, SelfCheck
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.params import Days, Id, OptionalId, SearchText
from metrolab.web.permissions import PUBLIC, perm

XLSX, DOCX = downloads.XLSX, downloads.DOCX


def download(data: bytes, filename: str, media_type: str) -> Response:
    return downloads.File(data, filename, media_type).response()


async def _upload(
    request: Request, name: str, limit: int = services.MAX_SCAN_BYTES
) -> tuple[bytes, str, dict[str, str]]:
    """The uploaded file (read up to ``limit`` + 1 bytes), its name and the other form fields."""
    form = await request.form()
    upload = form.get(name)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    if upload is None or isinstance(upload, str):
        return b"", "", values
    content = await upload.read(
        limit + 1
    )  # one byte more: the service refuses it, naming the limit
    return content, upload.filename or "", values


def _filters(
    customer: int | None, category: str, instrument_type: str, status: str, due: str, q: str
) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "category": category,
        "instrument_type": instrument_type,
        "status": status,
        "due": due,
        "q": q,
    }


# ── 器具明细查询 + export ──────────────────────────────────────────────────────────────────────


@get("/ledger", opt=perm("ledger.view"), include_in_schema=False)
async def ledger_query(
    request: Request,
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> Template:
    filters = _filters(customer, category, instrument_type, status, due, q)
    types = await services.instrument_types()
    rows = exports.instrument_rows(await services.search(**filters, limit=500), types)
    query = request.url.query
    template = "ledger/_rows.html" if request.headers.get("hx-request") else "ledger/query.html"
    return page(
        template,
        title=_("器具明细查询"),
        rows=rows,
        types=types,
        filters=filters,
        query=query,
        categories=sorted({t.get("category", "") for t in types.values()} - {""}),
        statuses=STATUSES,
        today=date.today(),
        due_labels=services.DUE_LABELS,
        due_state=services.due_state,
    )


async def _ledger_export(fmt: str, *filters: Any) -> Response:
    return (await downloads.ledger(_filters(*filters), fmt)).response()


@get(
    "/ledger/export.xlsx",
    opt=perm("ledger.view", api="GET /api/v1/ledger/export.xlsx"),
    include_in_schema=False,
)
async def ledger_export_xlsx(
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> Response:
    return await _ledger_export("xlsx", customer, category, instrument_type, status, due, q)


@get(
    "/ledger/export.csv",
    opt=perm("ledger.view", api="GET /api/v1/ledger/export.csv"),
    include_in_schema=False,
)
async def ledger_export_csv(
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> Response:
    return await _ledger_export("csv", customer, category, instrument_type, status, due, q)


# ── instruments by hand ───────────────────────────────────────────────────────────────────────


async def _editor(
    customer_id: int, values: dict, errors: dict, instrument_id: int | None, status_code: int = 200
) -> Template:
    return page(
        "ledger/instrument_form.html",
        status_code=status_code,
        title=_("编辑器具") if instrument_id else _("新增器具"),
        c=await services.customer(customer_id),
        values=values,
        errors=errors,
        instrument_id=instrument_id,
        types=await services.instrument_types(),
        statuses=STATUSES,
    )


@get(
    "/ledger/customers/{customer_id:int}/instruments/new",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def instrument_new(customer_id: Id) -> Template:
    return await _editor(customer_id, {"status": "in_use", "compulsory": "default"}, {}, None)


async def _save(request: Request, customer_id: int, instrument_id: int | None) -> Response:
    values = await form_dict(request)
    clean, errors = services.check_instrument(values, await services.instrument_types())
    if errors:
        return await _editor(customer_id, values, errors, instrument_id, 400)
    try:
        instrument_id = await services.save_instrument(
            customer_id, clean, instrument_id, user=request.user
        )
    except UserError as exc:
        return await _editor(customer_id, values, {"serial": str(exc.detail)}, instrument_id, 400)
    return see_other(f"/ledger/instruments/{instrument_id}")


@post(
    "/ledger/customers/{customer_id:int}/instruments",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/customers/{customer_id}/instruments"),
    include_in_schema=False,
)
async def instrument_create(request: Request, customer_id: Id) -> Response:
    await services.customer(customer_id)
    return await _save(request, customer_id, None)


@get("/ledger/instruments/{instrument_id:int}", opt=perm("ledger.view"), include_in_schema=False)
async def instrument_detail(instrument_id: Id) -> Template:
    return await _instrument_page(instrument_id)


async def _instrument_page(
    instrument_id: int,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    r = await services.get_instrument(instrument_id)
    types = await services.instrument_types()
    checks = (
        await SelfCheck.select(
            SelfCheck.id, SelfCheck.month, SelfCheck.conclusion, SelfCheck.created_at
        )
        .where(SelfCheck.instrument == instrument_id)
        .order_by(SelfCheck.month, ascending=False)
    )
    return page(
        "ledger/instrument.html",
        status_code=status_code,
        title=f"{services.type_name(types, r['instrument_type'])} {r['serial']}",
        r=exports.instrument_rows([r], types)[0],
        external=await services.external_certificates(instrument_id),
        self_checks=checks,
        errors=errors or {},
        values=values or {},
        today=date.today(),
        due_labels=services.DUE_LABELS,
        due_state=services.due_state,
    )


@get(
    "/ledger/instruments/{instrument_id:int}/edit",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def instrument_edit(instrument_id: Id) -> Template:
    r = await services.get_instrument(instrument_id)
    values = {k: ("" if r.get(k) is None else r[k]) for k in services.FIELDS}
    values["compulsory"] = "1" if r["compulsory"] else "0"
    return await _editor(r["customer"], values, {}, instrument_id)


@post(
    "/ledger/instruments/{instrument_id:int}",
    opt=perm("ledger.manage", api="PUT /api/v1/ledger/instruments/{instrument_id}"),
    include_in_schema=False,
)
async def instrument_update(request: Request, instrument_id: Id) -> Response:
    r = await services.get_instrument(instrument_id)
    return await _save(request, r["customer"], instrument_id)


# ── 外检证书登记 ───────────────────────────────────────────────────────────────────────────────


@post(
    "/ledger/instruments/{instrument_id:int}/external",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/instruments/{instrument_id}/external"),
    include_in_schema=False,
)
async def external_register(request: Request, instrument_id: Id) -> Response:
    scan, filename, values = await _upload(request, "scan")
    try:
        await services.register_external(instrument_id, values, scan, filename, request.user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        errors = {e["key"]: e["message"] for e in (exc.extra or [])} or {"scan": str(exc.detail)}
        return await _instrument_page(instrument_id, errors=errors, values=values, status_code=400)
    return see_other(f"/ledger/instruments/{instrument_id}")


@get("/ledger/external/{certificate_id:int}/scan", opt=perm("ledger.view"), include_in_schema=False)
async def external_scan(certificate_id: Id) -> Response:
    row = await ExternalCertificate.select().where(ExternalCertificate.id == certificate_id).first()
    if row is None or not storage.exists(row["scan_sha256"]):
        raise UserError(status_code=404, detail="扫描件不存在")
    return Response(
        content=storage.get(row["scan_sha256"]),
        media_type=services.SCAN_MEDIA[row["scan_type"]],
        headers={
            "x-content-type-options": "nosniff",
            "content-disposition": f'inline; filename="external-{certificate_id}{services.SCAN_SUFFIX[row["scan_type"]]}"',
        },
    )


# ── xlsx import ───────────────────────────────────────────────────────────────────────────────


@get(
    "/ledger/import-template.xlsx",
    opt=perm("ledger.view", api="GET /api/v1/ledger/import-template.xlsx"),
    include_in_schema=False,
)
async def import_template() -> Response:
    return downloads.import_template().response()


@get(
    "/ledger/customers/{customer_id:int}/import", opt=perm("ledger.manage"), include_in_schema=False
)
async def import_page(customer_id: Id) -> Template:
    return page(
        "ledger/import.html",
        title=_("导入计量器具台账"),
        c=await services.customer(customer_id),
        preview=None,
        ticket="",
        problem="",
    )


@post(
    "/ledger/customers/{customer_id:int}/import",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/customers/{customer_id}/import"),
    include_in_schema=False,
)
async def import_preview(request: Request, customer_id: Id) -> Template:
    c = await services.customer(customer_id)
    content, filename, _values = await _upload(request, "file", importing.MAX_IMPORT_BYTES)
    if not content:
        return page(
            "ledger/import.html",
            status_code=400,
            title=_("导入计量器具台账"),
            c=c,
            preview=None,
            ticket="",
            problem=_("请选择 xlsx 文件"),
        )
    preview, ticket = await importing.preview(customer_id, content, filename)
    status_code = 400 if preview.problem or preview.rejected else 200
    return page(
        "ledger/import.html",
        status_code=status_code,
        title=_("导入计量器具台账"),
        c=c,
        preview=preview,
        ticket=ticket,
        problem=preview.problem,
    )


@post(
    "/ledger/customers/{customer_id:int}/import/confirm",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/customers/{customer_id}/import"),
    include_in_schema=False,
)
async def import_confirm(request: Request, customer_id: Id) -> Response:
    form = await form_dict(request)
    n = await actions.confirm_import(customer_id, form.get("ticket", ""), request.user)
    return see_other(f"/ledger/customers/{customer_id}?imported={n}")


# ── due-date warnings, recall notice, portal ─────────────────────────────────────────────────


DUE_PAGE_ROWS = 500


@get("/ledger/due", opt=perm("ledger.view"), include_in_schema=False)
async def due_page(within: Days = 30) -> Template:
    within = within if within in services.WINDOWS else 30
    today = date.today()
    return page(
        "ledger/due.html",
        title=_("到期预警"),
        within=within,
        windows=services.WINDOWS,
        today=today,
        customers=await services.due_by_customer(within, today),
        rows=await services.due(within, today=today, limit=DUE_PAGE_ROWS),
        total=await services.count_due(within, today),
        types=await services.instrument_types(),
        type_name=services.type_name,
        due_labels=services.DUE_LABELS,
        due_state=services.due_state,
    )


NOTICE_DAYS = downloads.NOTICE_DAYS


@get("/ledger/customers/{customer_id:int}/notice", opt=perm("ledger.view"), include_in_schema=False)
async def notice_page(customer_id: Id) -> Template:
    return page(
        "ledger/notice.html",
        title=_("检定到期通知书"),
        c=await services.customer(customer_id),
        rows=await downloads.notice_rows(customer_id),
        today=date.today(),
        days=NOTICE_DAYS,
        portal=None,
    )


@get(
    "/ledger/customers/{customer_id:int}/notice.xlsx",
    opt=perm("ledger.view", api="GET /api/v1/ledger/customers/{customer_id}/notice.xlsx"),
    include_in_schema=False,
)
async def notice_xlsx(customer_id: Id) -> Response:
    return (await downloads.notice(await services.customer(customer_id))).response()


@post(
    "/ledger/customers/{customer_id:int}/portal",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/customers/{customer_id}/portal"),
    include_in_schema=False,
)
async def portal_regenerate(request: Request, customer_id: Id) -> Response:
    await services.customer(customer_id)
    await services.regenerate_portal(customer_id, request.user)
    return see_other(f"/ledger/customers/{customer_id}#portal")


async def _portal_customer(token: str) -> dict[str, Any]:
    customer_id = await services.customer_for_token(token)
    if customer_id is None:
        raise UserError(status_code=404, detail="链接无效或已失效，请向检定机构索取新的链接")
    return await services.customer(customer_id)


@get("/portal/{token:str}", opt=PUBLIC, include_in_schema=False)
async def portal(token: str) -> Template:
    c = await _portal_customer(token)
    today = date.today()
    types = await services.instrument_types()
    rows = exports.instrument_rows(await services.search(customer_id=c["id"], limit=None), types)
    for r in rows:
        r["due_zh"] = (
            services.DUE_LABELS[services.due_state(r, today)] if r["status"] == "in_use" else ""
        )
        r["due_key"] = services.due_state(r, today)
    checks = await SelfCheck.select(SelfCheck.instrument, SelfCheck.month).where(
        SelfCheck.instrument.is_in(
            [r["id"] for r in rows if r["instrument_type"] == "fuel_dispenser"] or [-1]
        )
    )
    last_checks: dict[int, str] = {}
    for ch in checks:
        last_checks[ch["instrument"]] = max(last_checks.get(ch["instrument"], ""), ch["month"])
    return page(
        "ledger/portal.html",
        title=_("计量器具检定有效期查询"),
        c=c,
        rows=rows,
        today=today,
        token=token,
        last_checks=last_checks,
    )


@get("/portal/{token:str}/notice.xlsx", opt=PUBLIC, include_in_schema=False)
async def portal_notice(token: str) -> Response:
    return (await downloads.notice(await _portal_customer(token))).response()


@post(
    "/ledger/sync",
    opt=perm("ledger.manage", api="POST /api/v1/ledger/sync"),
    include_in_schema=False,
)
async def sync(request: Request) -> Response:
    await actions.sync(request.user)
    return see_other("/ledger/due")


handlers = [
    ledger_query,
    ledger_export_xlsx,
    ledger_export_csv,
    instrument_new,
    instrument_create,
    instrument_detail,
    instrument_edit,
    instrument_update,
    external_register,
    external_scan,
    import_template,
    import_page,
    import_preview,
    import_confirm,
    due_page,
    notice_page,
    notice_xlsx,
    portal_regenerate,
    portal,
    portal_notice,
    sync,
]
