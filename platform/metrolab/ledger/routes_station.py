"""Pages of the customer dossier (§5.9: statistics, 证价, 证照, 合同 + 收费, 拜访) and of a gas station's
compliance with T/ZBMS 005 (self-checks, staff, the demonstration-unit application and its package)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab.audit.log import record
from metrolab.ledger import compliance, dossier, exports, package, services
from metrolab.ledger.routes import DOCX, XLSX, download
from metrolab.ledger.tables import STATUSES, SelfCheck
from metrolab.web.errors import UserError
from metrolab.web.i18n import _, current_language
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.permissions import PUBLIC, perm

GAS_STATION = "加油站"


# ── the customer dossier (客户明细查询) ─────────────────────────────────────────────────────────


async def _dossier(
    request: Request,
    customer_id: int,
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
async def customer_page(request: Request, customer_id: int) -> Template:
    return await _dossier(request, customer_id)


CUSTOMER_COLUMNS = [
    ("分类", "category"),
    ("在用", "in_use"),
    ("停用", "idle"),
    ("报废", "scrapped"),
    ("合计", "total"),
]


@get(
    [
        "/ledger/customers/{customer_id:int}/export.xlsx",
        "/ledger/customers/{customer_id:int}/export.csv",
    ],
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def customer_export(request: Request, customer_id: int) -> Response:
    """The customer's ledger (xlsx: + a statistics sheet; csv: the ledger only)."""
    c = await services.customer(customer_id)
    rows = exports.instrument_rows(
        await services.search(customer_id=customer_id, limit=None),
        await services.instrument_types(),
    )
    if request.url.path.endswith(".csv"):
        return download(
            exports.csv_bytes(exports.INSTRUMENT_COLUMNS, rows),
            f"{c['name']}_计量器具台账.csv",
            "text/csv",
        )
    import io

    from openpyxl import load_workbook

    wb = load_workbook(
        io.BytesIO(exports.xlsx(exports.INSTRUMENT_COLUMNS, rows, sheet="计量器具台账"))
    )
    stats = await dossier.statistics(customer_id)
    ws = wb.create_sheet("统计")
    ws.append(["客户", c["name"]])
    ws.append(["器具总数", stats["instruments"]])
    ws.append(["已超期", stats["due"]["overdue"]])
    for days in services.WINDOWS:
        ws.append([f"{days} 天内到期", stats["due"][f"d{days}"]])
    ws.append(["合同数", stats["contracts"]])
    ws.append(["合同金额", float(stats["contract_total"])])
    ws.append(["已收费", float(stats["charged_total"])])
    ws.append([])
    ws.append([h for h, _ in CUSTOMER_COLUMNS])
    for cat, counts in stats["by_category"].items():
        ws.append([cat, counts["in_use"], counts["idle"], counts["scrapped"], counts["total"]])
    buf = io.BytesIO()
    wb.save(buf)
    return download(buf.getvalue(), f"{c['name']}_客户明细.xlsx", XLSX)


@post(
    "/ledger/customers/{customer_id:int}/records/{kind:str}",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def record_add(request: Request, customer_id: int, kind: str) -> Response:
    spec = dossier.KINDS.get(kind)
    if spec is None:
        raise UserError(status_code=404, detail="页面不存在")
    if not request.user.can(spec.permission):
        raise UserError(status_code=403, detail="没有权限")
    await services.customer(customer_id)
    values = await form_dict(request)
    try:
        row_id = await dossier.add(spec, customer_id, values, request.user)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        errors = {e["key"]: e["message"] for e in exc.extra or []}
        return await _dossier(request, customer_id, {kind: errors}, {kind: values}, 400)
    await record(
        f"ledger.{kind}_added",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"id": row_id},
    )
    return see_other(f"/ledger/customers/{customer_id}#{kind}")


@post(
    "/ledger/customers/{customer_id:int}/records/{kind:str}/{row_id:int}/delete",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def record_delete(request: Request, customer_id: int, kind: str, row_id: int) -> Response:
    spec = dossier.KINDS.get(kind)
    if spec is None:
        raise UserError(status_code=404, detail="页面不存在")
    if not request.user.can(spec.permission):
        raise UserError(status_code=403, detail="没有权限")
    await dossier.delete(spec, customer_id, row_id)
    await record(
        f"ledger.{kind}_deleted",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"id": row_id},
    )
    return see_other(f"/ledger/customers/{customer_id}#{kind}")


@post(
    "/ledger/customers/{customer_id:int}/licences/{licence_id:int}/scan",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def licence_scan_upload(request: Request, customer_id: int, licence_id: int) -> Response:
    from metrolab import storage
    from metrolab.ledger.routes import _upload
    from metrolab.ledger.tables import Licence

    if not await Licence.exists().where(
        (Licence.id == licence_id) & (Licence.customer == customer_id)
    ):
        raise UserError(status_code=404, detail="证照不存在")
    content, _name, _values = await _upload(request, "scan")
    try:
        kind = services.sniff_scan(content)
    except UserError as exc:
        return await _dossier(
            request, customer_id, {"licences": {"scan": str(exc.detail)}}, {}, 400
        )
    digest = storage.put(content)
    await Licence.update({Licence.scan_sha256: digest, Licence.scan_type: kind}).where(
        Licence.id == licence_id
    )
    await record(
        "ledger.licence_scan",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"licence": licence_id, "sha256": digest},
    )
    return see_other(f"/ledger/customers/{customer_id}#licences")


@get(
    "/ledger/customers/{customer_id:int}/licences/{licence_id:int}/scan",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def licence_scan(customer_id: int, licence_id: int) -> Response:
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


async def _station(customer_id: int) -> dict[str, Any]:
    c = await services.customer(customer_id)
    if c["category"] != GAS_STATION:
        raise UserError(
            status_code=409, detail="只有类别为“加油站”的客户才有诚信计量示范单位达标情况"
        )
    return c


@get(
    "/ledger/customers/{customer_id:int}/station", opt=perm("ledger.view"), include_in_schema=False
)
async def station_page(request: Request, customer_id: int) -> Template:
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
    [
        "/ledger/customers/{customer_id:int}/station/equipment.xlsx",
        "/ledger/customers/{customer_id:int}/station/equipment.docx",
    ],
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def station_equipment(request: Request, customer_id: int) -> Response:
    c = await _station(customer_id)
    rows = await package.equipment(customer_id)
    if request.url.path.endswith(".docx"):
        return download(
            exports.equipment_docx(c["name"], rows, date.today()),
            "在用计量器具配备情况一览表.docx",
            DOCX,
        )
    data = exports.xlsx(
        exports.EQUIPMENT_COLUMNS,
        rows,
        title=f"{c['name']} 在用计量器具配备情况一览表",
        sheet="在用计量器具",
    )
    return download(data, "在用计量器具配备情况一览表.xlsx", XLSX)


# ── monthly self-checks (gas_station_self_check form) ────────────────────────────────────────


def _self_check_form() -> Any:
    from metrolab.engine.forms import load_definition
    from metrolab.paths import data_folder

    return load_definition(
        (data_folder("form_schemas") / f"{compliance.SELF_CHECK_FORM}.json").read_bytes()
    )


async def _self_check_page(
    instrument_id: int,
    data: dict[str, Any],
    problems: list,
    month: str,
    status_code: int = 200,
    message: str = "",
    action: str = "",
) -> Template:
    from metrolab.engine.forms import render_form

    r = await services.get_instrument(instrument_id)
    if r["instrument_type"] != compliance.DISPENSER:
        raise UserError(status_code=409, detail="月度自校记录只适用于燃油加油机")
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
async def self_check_new(instrument_id: int) -> Template:
    return await _blank_self_check(instrument_id)


async def _posted(request: Request) -> tuple[Any, dict[str, Any], list, str]:
    from metrolab.engine.forms import (
        apply_row_action,
        compute,
        parse_submission,
        validate_submission,
    )

    defn = _self_check_form()
    form = await request.form()
    data = parse_submission(defn, form)
    action = form.get("_action")
    if isinstance(action, str) and action:
        data = apply_row_action(defn, data, action)
    problems = validate_submission(defn, data)
    result = compute(defn, data)
    return defn, result.data, problems + list(result.problems), str(form.get("month") or "")


@post(
    "/ledger/instruments/{instrument_id:int}/self-check/compute",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def self_check_compute(request: Request, instrument_id: int) -> Template:
    _defn, data, problems, month = await _posted(request)
    return await _self_check_page(instrument_id, data, problems, month)


async def _save_self_check(
    request: Request, instrument_id: int, user: Any, action: str = ""
) -> Template | int:
    """The new SelfCheck's id, or the form again (400) with the problems."""
    _defn, data, problems, month = await _posted(request)
    errors = [p for p in problems if p.severity == "error"]
    try:
        month = date.fromisoformat(f"{month}-01").strftime("%Y-%m")
    except ValueError:
        return await _self_check_page(
            instrument_id, data, problems, month, 400, "月份格式应为 YYYY-MM", action
        )
    if errors:
        return await _self_check_page(
            instrument_id, data, problems, month, 400, "请修改标红的项目后再保存", action
        )
    check = SelfCheck(
        instrument=instrument_id,
        month=month,
        data=data,
        conclusion=str(data.get("conclusion") or ""),
        filled_by=getattr(user, "id", None),
    )
    await check.save()
    await record(
        "ledger.self_check",
        actor=user,
        target_type="ledger_instrument",
        target_id=instrument_id,
        details={
            "month": month,
            "conclusion": check.conclusion,
            "checker": str(data.get("checker") or ""),
            "via": "portal" if user is None else "lab",
        },
    )
    return check.id


@post(
    "/ledger/instruments/{instrument_id:int}/self-check",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def self_check_save(request: Request, instrument_id: int) -> Response:
    saved = await _save_self_check(request, instrument_id, request.user)
    return saved if isinstance(saved, Template) else see_other(f"/ledger/self-checks/{saved}")


# The station's metrologist fills the self-check through the station's portal link (no lab account).


async def _portal_dispenser(token: str, instrument_id: int) -> str:
    customer_id = await services.customer_for_token(token)
    r = await services.get_instrument(instrument_id) if customer_id else None
    if r is None or r["customer"] != customer_id or r["instrument_type"] != compliance.DISPENSER:
        raise UserError(status_code=404, detail="链接无效或已失效，请向检定机构索取新的链接")
    return f"/portal/{token}/self-check/{instrument_id}"


@get("/portal/{token:str}/self-check/{instrument_id:int}", opt=PUBLIC, include_in_schema=False)
async def portal_self_check(token: str, instrument_id: int) -> Template:
    return await _blank_self_check(instrument_id, await _portal_dispenser(token, instrument_id))


@post(
    "/portal/{token:str}/self-check/{instrument_id:int}/compute",
    opt=PUBLIC,
    include_in_schema=False,
)
async def portal_self_check_compute(request: Request, token: str, instrument_id: int) -> Template:
    action = await _portal_dispenser(token, instrument_id)
    _defn, data, problems, month = await _posted(request)
    return await _self_check_page(instrument_id, data, problems, month, action=action)


@post("/portal/{token:str}/self-check/{instrument_id:int}", opt=PUBLIC, include_in_schema=False)
async def portal_self_check_save(request: Request, token: str, instrument_id: int) -> Response:
    action = await _portal_dispenser(token, instrument_id)
    saved = await _save_self_check(request, instrument_id, None, action)
    return (
        saved
        if isinstance(saved, Template)
        else see_other(f"/portal/{token}?self_check={saved}#self-checks")
    )


@get("/ledger/self-checks/{check_id:int}", opt=perm("ledger.view"), include_in_schema=False)
async def self_check_view(check_id: int) -> Template:
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
    customer_id: int,
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
async def application_page(customer_id: int, refill: bool = False) -> Template:
    data = await (
        package.prefill(customer_id) if refill else package.saved_or_prefilled(customer_id)
    )
    return await _application_page(customer_id, data, [])


async def _application_posted(request: Request) -> tuple[dict[str, Any], list]:
    from metrolab.engine.forms import compute, parse_submission, validate_submission

    defn = package.definition()
    data = parse_submission(defn, await request.form())
    result = compute(defn, data)
    return result.data, validate_submission(defn, data) + list(result.problems)


@post(
    "/ledger/customers/{customer_id:int}/application/compute",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def application_compute(request: Request, customer_id: int) -> Template:
    data, problems = await _application_posted(request)
    return await _application_page(customer_id, data, problems)


@post(
    "/ledger/customers/{customer_id:int}/application",
    opt=perm("ledger.manage"),
    include_in_schema=False,
)
async def application_save(request: Request, customer_id: int) -> Response:
    await _station(customer_id)
    data, problems = await _application_posted(request)
    if any(p.severity == "error" for p in problems):
        return await _application_page(customer_id, data, problems, 400, "请修改标红的项目后再保存")
    await package.save(customer_id, data)
    await record(
        "ledger.application_saved",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
    )
    return see_other(f"/ledger/customers/{customer_id}/application?saved=1")


@get(
    "/ledger/customers/{customer_id:int}/application.docx",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def application_docx(customer_id: int) -> Response:
    await _station(customer_id)
    return download(
        await package.application_docx(customer_id), "诚信计量示范单位申请书.docx", DOCX
    )


@get(
    "/ledger/customers/{customer_id:int}/application-package.zip",
    opt=perm("ledger.view"),
    include_in_schema=False,
)
async def application_package(request: Request, customer_id: int, pdf: bool = True) -> Response:
    c = await _station(customer_id)
    data = await package.build_package(customer_id, include_pdf=pdf)
    await record(
        "ledger.application_package",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
    )
    return download(data, f"{c['name']}_诚信计量示范单位申报材料.zip", "application/zip")


@get(
    "/api/v1/ledger/customers/{customer_id:int}/compliance",
    opt=perm("ledger.view"),
    tags=["ledger"],
    summary="加油站诚信计量示范单位达标情况",
)
async def api_compliance(customer_id: int) -> dict[str, Any]:
    await _station(customer_id)
    return {
        "requirements": [
            vars(r) | {"evidence": [vars(e) for e in r.evidence]}
            for r in await compliance.evaluate(customer_id)
        ]
    }


@post(
    "/api/v1/ledger/customers/{customer_id:int}/records/{kind:str}",
    opt=perm("ledger.view"),
    tags=["ledger"],
    summary="登记客户证价、证照、合同、收费、拜访、站内人员",
    status_code=201,
)
async def api_record_add(
    request: Request, customer_id: int, kind: str, data: dict[str, Any]
) -> dict[str, Any]:
    spec = dossier.KINDS.get(kind)
    if spec is None:
        raise UserError(status_code=404, detail=f"未知的记录类别：{kind}")
    if not request.user.can(spec.permission):
        raise UserError(status_code=403, detail="没有权限")
    await services.customer(customer_id)
    row_id = await dossier.add(
        spec, customer_id, {k: "" if v is None else str(v) for k, v in data.items()}, request.user
    )
    await record(
        f"ledger.{kind}_added",
        actor=request.user,
        target_type="customer",
        target_id=customer_id,
        details={"id": row_id},
    )
    return {"id": row_id, "kind": kind}


handlers = [
    customer_page,
    customer_export,
    record_add,
    record_delete,
    licence_scan_upload,
    licence_scan,
    api_record_add,
    station_page,
    station_equipment,
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
    api_compliance,
]
