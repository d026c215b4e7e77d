"""Pages of the instrument ledger: queries and exports (§5.9.6–§5.9.7), instruments by hand, xlsx import,
external certificates (§5.8.12), due-date warnings, recall notices and the customer portal."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post, put
from litestar.response import Template

from metrolab import storage
from metrolab.audit.log import record
from metrolab.ledger import exports, importing, services
from metrolab.ledger.tables import STATUSES, ExternalCertificate, SelfCheck
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.permissions import PUBLIC, perm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def download(data: bytes, filename: str, media_type: str) -> Response:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content=data, media_type=media_type, headers={"content-disposition": disposition}
    )


async def _upload(request: Request, name: str) -> tuple[bytes, str, dict[str, str]]:
    form = await request.form()
    upload = form.get(name)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    if upload is None or isinstance(upload, str):
        return b"", "", values
    return await upload.read(), upload.filename or "", values


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
    customer: int | None = None,
    category: str = "",
    instrument_type: str = "",
    status: str = "",
    due: str = "",
    q: str = "",
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


@get(
    ["/ledger/export.xlsx", "/ledger/export.csv"], opt=perm("ledger.view"), include_in_schema=False
)
async def ledger_export(
    request: Request,
    customer: int | None = None,
    category: str = "",
    instrument_type: str = "",
    status: str = "",
    due: str = "",
    q: str = "",
) -> Response:
    types = await services.instrument_types()
    rows = exports.instrument_rows(
        await services.search(
            **_filters(customer, category, instrument_type, status, due, q), limit=None
        ),
        types,
    )
    if request.url.path.endswith(".csv"):
        return download(
            exports.csv_bytes(exports.INSTRUMENT_COLUMNS, rows), "计量器具台账.csv", "text/csv"
        )
    return download(
        exports.xlsx(exports.INSTRUMENT_COLUMNS, rows, sheet="计量器具台账"),
        "计量器具台账.xlsx",
        XLSX,
    )


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
async def instrument_new(customer_id: int) -> Template:
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
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def instrument_create(request: Request, customer_id: int) -> Response:
    await services.customer(customer_id)
    return await _save(request, customer_id, None)


@get("/ledger/instruments/{instrument_id:int}", opt=perm("ledger.view"), include_in_schema=False)
async def instrument_detail(instrument_id: int) -> Template:
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
async def instrument_edit(instrument_id: int) -> Template:
    r = await services.get_instrument(instrument_id)
    values = {k: ("" if r.get(k) is None else r[k]) for k in services.FIELDS}
    values["compulsory"] = "1" if r["compulsory"] else "0"
    return await _editor(r["customer"], values, {}, instrument_id)


@post("/ledger/instruments/{instrument_id:int}", opt=perm("ledger.manage"), include_in_schema=False)
async def instrument_update(request: Request, instrument_id: int) -> Response:
    r = await services.get_instrument(instrument_id)
    return await _save(request, r["customer"], instrument_id)


# ── 外检证书登记 ───────────────────────────────────────────────────────────────────────────────


@post(
    "/ledger/instruments/{instrument_id:int}/external",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def external_register(request: Request, instrument_id: int) -> Response:
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
async def external_scan(certificate_id: int) -> Response:
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


@get("/ledger/import-template.xlsx", opt=perm("ledger.view"), include_in_schema=False)
async def import_template() -> Response:
    return download(importing.template(), "计量器具台账导入模板.xlsx", XLSX)


@get(
    "/ledger/customers/{customer_id:int}/import", opt=perm("ledger.manage"), include_in_schema=False
)
async def import_page(customer_id: int) -> Template:
    return page(
        "ledger/import.html",
        title=_("导入计量器具台账"),
        c=await services.customer(customer_id),
        preview=None,
        ticket="",
        problem="",
    )


@post(
    "/ledger/customers/{customer_id:int}/import", opt=perm("ledger.manage"), include_in_schema=False
)
async def import_preview(request: Request, customer_id: int) -> Template:
    c = await services.customer(customer_id)
    content, _filename, _values = await _upload(request, "file")
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
    preview, ticket = await importing.preview(customer_id, content)
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
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def import_confirm(request: Request, customer_id: int) -> Response:
    await services.customer(customer_id)
    form = await form_dict(request)
    n = await importing.confirm(customer_id, form.get("ticket", ""), request.user)
    await record(
        "ledger.imported",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"rows": n},
    )
    return see_other(f"/ledger/customers/{customer_id}?imported={n}")


# ── due-date warnings, recall notice, portal ─────────────────────────────────────────────────


DUE_PAGE_ROWS = 500


@get("/ledger/due", opt=perm("ledger.view"), include_in_schema=False)
async def due_page(within: int = 30) -> Template:
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


NOTICE_COLUMNS = [
    ("器具名称", "type_name"),
    ("型号规格", "model"),
    ("出厂编号", "serial"),
    ("安装位置", "location"),
    ("最近检定日期", "last_verified_on"),
    ("有效期至", "next_due_on"),
    ("状态", "due_zh"),
]
NOTICE_DAYS = 90


async def _notice_rows(customer_id: int) -> list[dict[str, Any]]:
    today = date.today()
    types = await services.instrument_types()
    rows = exports.instrument_rows(await services.due(NOTICE_DAYS, customer_id, today), types)
    for r in rows:
        r["due_zh"] = services.DUE_LABELS[services.due_state(r, today)]
    return rows


@get("/ledger/customers/{customer_id:int}/notice", opt=perm("ledger.view"), include_in_schema=False)
async def notice_page(customer_id: int) -> Template:
    return page(
        "ledger/notice.html",
        title=_("检定到期通知书"),
        c=await services.customer(customer_id),
        rows=await _notice_rows(customer_id),
        today=date.today(),
        days=NOTICE_DAYS,
        portal=None,
    )


def _notice_xlsx(customer: dict[str, Any], rows: list[dict[str, Any]]) -> Response:
    data = exports.xlsx(
        NOTICE_COLUMNS,
        rows,
        title=f"检定到期通知书 — {customer['name']}（{date.today()}）",
        sheet="检定到期通知书",
    )
    return download(data, f"检定到期通知书_{customer['name']}.xlsx", XLSX)


@get(
    "/ledger/customers/{customer_id:int}/notice.xlsx",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def notice_xlsx(customer_id: int) -> Response:
    return _notice_xlsx(await services.customer(customer_id), await _notice_rows(customer_id))


@post(
    "/ledger/customers/{customer_id:int}/portal", opt=perm("ledger.manage"), include_in_schema=False
)
async def portal_regenerate(request: Request, customer_id: int) -> Response:
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
    c = await _portal_customer(token)
    return _notice_xlsx(c, await _notice_rows(c["id"]))


@post("/ledger/sync", opt=perm("ledger.manage"), include_in_schema=False)
async def sync(request: Request) -> Response:
    n = await services.sync_from_certificates()
    await record("ledger.synced", actor=request.user, details={"certificates": n})
    return see_other("/ledger/due")


# ── JSON API ──────────────────────────────────────────────────────────────────────────────────


@get("/api/v1/ledger", opt=perm("ledger.view"), tags=["ledger"], summary="器具明细查询")
async def api_ledger(
    customer: int | None = None,
    category: str = "",
    instrument_type: str = "",
    status: str = "",
    due: str = "",
    q: str = "",
) -> dict[str, Any]:
    rows = await services.search(
        **_filters(customer, category, instrument_type, status, due, q), limit=2000
    )
    return {"items": rows, "total": len(rows)}


@get("/api/v1/ledger/due", opt=perm("ledger.view"), tags=["ledger"], summary="到期预警")
async def api_due(within: int = 30, customer: int | None = None) -> dict[str, Any]:
    return {
        "items": await services.due(within, customer, limit=5000),
        "by_customer": await services.due_by_customer(within),
    }


@post(
    "/api/v1/ledger/sync",
    opt=perm("ledger.manage"),
    tags=["ledger"],
    summary="从已出具证书更新台账",
)
async def api_sync() -> dict[str, int]:
    return {"certificates": await services.sync_from_certificates()}


async def _api_save(
    request: Request, customer_id: int, data: dict[str, Any], instrument_id: int | None
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(status_code=400, detail="请求体应为 JSON 对象")
    values = {k: "" if v is None else str(v) for k, v in data.items()}
    values.setdefault("compulsory", "default")
    clean, errors = services.check_instrument(values, await services.instrument_types())
    if errors:
        raise UserError(
            status_code=400,
            detail="；".join(errors.values()),
            extra=[{"key": k, "message": v} for k, v in errors.items()],
        )
    instrument_id = await services.save_instrument(
        customer_id, clean, instrument_id, user=request.user
    )
    return await services.get_instrument(instrument_id)


@post(
    "/api/v1/ledger/customers/{customer_id:int}/instruments",
    opt=perm("ledger.manage"),
    tags=["ledger"],
    summary="新增台账器具",
    status_code=201,
)
async def api_instrument_create(
    request: Request, customer_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    await services.customer(customer_id)
    return await _api_save(request, customer_id, data, None)


@get(
    "/api/v1/ledger/instruments/{instrument_id:int}",
    opt=perm("ledger.view"),
    tags=["ledger"],
    summary="台账器具",
)
async def api_instrument(instrument_id: int) -> dict[str, Any]:
    r = await services.get_instrument(instrument_id)
    r["external_certificates"] = await services.external_certificates(instrument_id)
    return r


@put(
    "/api/v1/ledger/instruments/{instrument_id:int}",
    opt=perm("ledger.manage"),
    tags=["ledger"],
    summary="修改台账器具",
)
async def api_instrument_update(
    request: Request, instrument_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    r = await services.get_instrument(instrument_id)
    return await _api_save(request, r["customer"], data, instrument_id)


@post(
    "/api/v1/ledger/instruments/{instrument_id:int}/external",
    opt=perm("ledger.manage"),
    tags=["ledger"],
    summary="外检证书登记（multipart：scan 文件 + 字段）",
    status_code=201,
)
async def api_external(request: Request, instrument_id: int) -> dict[str, Any]:
    scan, filename, values = await _upload(request, "scan")
    return await services.register_external(instrument_id, values, scan, filename, request.user)


handlers = [
    api_instrument_create,
    api_instrument,
    api_instrument_update,
    api_external,
    ledger_query,
    ledger_export,
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
    api_ledger,
    api_due,
    api_sync,
]
