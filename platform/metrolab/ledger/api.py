"""JSON API of the ledger under /api/v1/ledger: the same functions (ledger.actions, ledger.downloads,
ledger.services) and audit rows as the pages. Files travel as multipart fields (`file`, `scan`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put

from metrolab.ledger import actions, compliance, downloads, package, services
from metrolab.ledger.routes import _filters, _upload
from metrolab.web.api import errors
from metrolab.web.errors import UserError
from metrolab.web.params import Code, Days, Id, LongText, OptionalId, SearchText, ShortText
from metrolab.web.permissions import perm

TAGS = ["ledger"]
VIEW, MANAGE = perm("ledger.view"), perm("ledger.manage")

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# A filled form's values are free JSON (the form definition says what they are): bounded here,
# checked field by field by the form engine.
Values = Annotated[dict[Key, Any], msgspec.Meta(max_length=2000)]
# A dossier row (证价, 证照, 合同, 收费, 拜访, 站内人员): its fields are data (dossier.KINDS).
RecordValue = LongText | Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)] | None
RecordValues = Annotated[dict[Key, RecordValue], msgspec.Meta(max_length=50)]


class InstrumentIn(msgspec.Struct, forbid_unknown_fields=True):
    instrument_type: ShortText = ""
    serial: ShortText = ""
    name: ShortText = ""
    model: ShortText = ""
    manufacturer: ShortText = ""
    location: ShortText = ""
    status: ShortText = ""  # in_use | idle | scrapped (or 在用 / 停用 / 报废)
    compulsory: bool | ShortText = "default"  # default: as the instrument type says
    nozzles: Annotated[int, msgspec.Meta(ge=0, le=64)] | None = None
    last_verified_on: date | None = None
    last_conclusion: ShortText = ""
    last_certificate: ShortText = ""
    remarks: LongText = ""


class Filled(msgspec.Struct, forbid_unknown_fields=True):
    data: Values = {}


class SelfCheckIn(msgspec.Struct, forbid_unknown_fields=True):
    month: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$")]
    data: Values = {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value.isoformat() if isinstance(value, date) else str(value)


async def _save(
    request: Request, customer_id: int, data: InstrumentIn, instrument_id: int | None
) -> dict[str, Any]:
    values = {k: _text(v) for k, v in msgspec.structs.asdict(data).items()}
    clean, problems = services.check_instrument(values, await services.instrument_types())
    if problems:
        raise UserError(
            status_code=400,
            detail="；".join(problems.values()),
            extra=[{"key": k, "message": v} for k, v in problems.items()],
        )
    instrument_id = await services.save_instrument(
        customer_id, clean, instrument_id, user=request.user
    )
    return await services.get_instrument(instrument_id)


def _evaluated(data: dict[str, Any], problems: list[Any]) -> dict[str, Any]:
    return {
        "data": data,
        "problems": [
            {
                "path": p.path,
                "label_zh": p.label_zh,
                "message_zh": p.message_zh,
                "severity": p.severity,
                "code": p.code,
            }
            for p in problems
        ],
    }


# ── 器具明细查询, due dates, exports ───────────────────────────────────────────────────────────


@get("/api/v1/ledger", opt=VIEW, tags=TAGS, summary="器具明细查询", responses=errors())
async def api_ledger(
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> dict[str, Any]:
    rows = await services.search(
        **_filters(customer, category, instrument_type, status, due, q), limit=2000
    )
    return {"items": rows, "total": len(rows)}


@get(
    "/api/v1/ledger/due",
    opt=VIEW,
    tags=TAGS,
    summary="到期预警（within：天数，含已超期）",
    responses=errors(),
)
async def api_due(within: Days = 30, customer: OptionalId = None) -> dict[str, Any]:
    return {
        "items": await services.due(within, customer, limit=5000),
        "by_customer": await services.due_by_customer(within),
    }


async def _export(fmt: str, *filters: Any) -> Response:
    return (await downloads.ledger(_filters(*filters), fmt)).response()


@get(
    "/api/v1/ledger/export.xlsx",
    opt=VIEW,
    tags=TAGS,
    summary="导出器具明细（xlsx）",
    media_type=downloads.XLSX,
    responses=errors(),
)
async def api_export_xlsx(
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> Response:
    return await _export("xlsx", customer, category, instrument_type, status, due, q)


@get(
    "/api/v1/ledger/export.csv",
    opt=VIEW,
    tags=TAGS,
    summary="导出器具明细（csv）",
    media_type=downloads.CSV,
    responses=errors(),
)
async def api_export_csv(
    customer: OptionalId = None,
    category: SearchText = "",
    instrument_type: SearchText = "",
    status: SearchText = "",
    due: SearchText = "",
    q: SearchText = "",
) -> Response:
    return await _export("csv", customer, category, instrument_type, status, due, q)


@post(
    "/api/v1/ledger/sync",
    opt=MANAGE,
    tags=TAGS,
    summary="从已出具证书更新台账",
    status_code=200,
    responses=errors(),
)
async def api_sync(request: Request) -> dict[str, int]:
    return {"certificates": await actions.sync(request.user)}


# ── instruments and external certificates ─────────────────────────────────────────────────────


@post(
    "/api/v1/ledger/customers/{customer_id:int}/instruments",
    opt=MANAGE,
    tags=TAGS,
    summary="新增台账器具",
    status_code=201,
    responses=errors(404, 409),
)
async def api_instrument_create(
    request: Request, customer_id: Id, data: InstrumentIn
) -> dict[str, Any]:
    await services.customer(customer_id)
    return await _save(request, customer_id, data, None)


@get(
    "/api/v1/ledger/instruments/{instrument_id:int}",
    opt=VIEW,
    tags=TAGS,
    summary="台账器具（含外检证书）",
    responses=errors(404),
)
async def api_instrument(instrument_id: Id) -> dict[str, Any]:
    r = await services.get_instrument(instrument_id)
    r["external_certificates"] = await services.external_certificates(instrument_id)
    return r


@put(
    "/api/v1/ledger/instruments/{instrument_id:int}",
    opt=MANAGE,
    tags=TAGS,
    summary="修改台账器具",
    responses=errors(404, 409),
)
async def api_instrument_update(
    request: Request, instrument_id: Id, data: InstrumentIn
) -> dict[str, Any]:
    r = await services.get_instrument(instrument_id)
    return await _save(request, r["customer"], data, instrument_id)


@post(
    "/api/v1/ledger/instruments/{instrument_id:int}/external",
    opt=MANAGE,
    tags=TAGS,
    summary="外检证书登记（multipart：scan 文件 + number, issued_by, verified_on, valid_until, conclusion）",
    status_code=201,
    responses=errors(404, 413),
)
async def api_external(request: Request, instrument_id: Id) -> dict[str, Any]:
    scan, filename, values = await _upload(request, "scan")
    return await services.register_external(instrument_id, values, scan, filename, request.user)


# ── import ────────────────────────────────────────────────────────────────────────────────────


@get(
    "/api/v1/ledger/import-template.xlsx",
    opt=VIEW,
    tags=TAGS,
    summary="台账导入模板（xlsx）",
    media_type=downloads.XLSX,
    responses=errors(),
)
async def api_import_template() -> Response:
    return downloads.import_template().response()


@post(
    "/api/v1/ledger/customers/{customer_id:int}/import",
    opt=MANAGE,
    tags=TAGS,
    summary="导入台账（multipart：file=xlsx；dry_run=true 只预览；有被拒绝的行时整份不导入）",
    status_code=200,
    responses=errors(404, 413),
)
async def api_import(request: Request, customer_id: Id, dry_run: bool = False) -> dict[str, Any]:
    from metrolab.ledger import importing

    content, _name, _values = await _upload(request, "file", importing.MAX_IMPORT_BYTES)
    return await actions.import_file(customer_id, content, request.user, dry_run)


# ── the customer: notice, portal link, exports, dossier rows, licences ────────────────────────


@get(
    "/api/v1/ledger/customers/{customer_id:int}/notice.xlsx",
    opt=VIEW,
    tags=TAGS,
    summary="检定到期通知书（xlsx）",
    media_type=downloads.XLSX,
    responses=errors(404),
)
async def api_notice(customer_id: Id) -> Response:
    return (await downloads.notice(await services.customer(customer_id))).response()


@post(
    "/api/v1/ledger/customers/{customer_id:int}/portal",
    opt=MANAGE,
    tags=TAGS,
    summary="重新生成客户查询链接（旧链接失效）",
    status_code=200,
    responses=errors(404),
)
async def api_portal(request: Request, customer_id: Id) -> dict[str, str]:
    await services.customer(customer_id)
    token = await services.regenerate_portal(customer_id, request.user)
    return {"url": f"{request.base_url}".rstrip("/") + f"/portal/{token}", "token": token}


@get(
    "/api/v1/ledger/customers/{customer_id:int}/export.xlsx",
    opt=VIEW,
    tags=TAGS,
    summary="导出客户台账与统计（xlsx）",
    media_type=downloads.XLSX,
    responses=errors(404),
)
async def api_customer_xlsx(customer_id: Id) -> Response:
    return (await downloads.customer_ledger(customer_id, "xlsx")).response()


@get(
    "/api/v1/ledger/customers/{customer_id:int}/export.csv",
    opt=VIEW,
    tags=TAGS,
    summary="导出客户台账（csv）",
    media_type=downloads.CSV,
    responses=errors(404),
)
async def api_customer_csv(customer_id: Id) -> Response:
    return (await downloads.customer_ledger(customer_id, "csv")).response()


@post(
    "/api/v1/ledger/customers/{customer_id:int}/records/{kind:str}",
    opt=VIEW,
    tags=TAGS,
    summary="登记客户证价、证照、合同、收费、拜访、站内人员（kind：prices, licences, contracts, charges, visits, staff）",
    status_code=201,
    responses=errors(404),
)
async def api_record_add(
    request: Request, customer_id: Id, kind: Code, data: RecordValues
) -> dict[str, Any]:
    values = {k: _text(v) for k, v in data.items()}
    row_id = await actions.add_record(kind, customer_id, values, request.user)
    return {"id": row_id, "kind": kind}


@delete(
    "/api/v1/ledger/customers/{customer_id:int}/records/{kind:str}/{row_id:int}",
    opt=VIEW,
    tags=TAGS,
    summary="删除客户证价、证照、合同、收费、拜访、站内人员记录",
    status_code=200,
    responses=errors(404),
)
async def api_record_delete(
    request: Request, customer_id: Id, kind: Code, row_id: Id
) -> dict[str, Any]:
    await actions.delete_record(kind, customer_id, row_id, request.user)
    return {"id": row_id, "kind": kind, "deleted": True}


@post(
    "/api/v1/ledger/customers/{customer_id:int}/licences/{licence_id:int}/scan",
    opt=MANAGE,
    tags=TAGS,
    summary="上传证照扫描件（multipart：scan，PDF 或图片）",
    status_code=200,
    responses=errors(404, 413),
)
async def api_licence_scan(request: Request, customer_id: Id, licence_id: Id) -> dict[str, Any]:
    content, _name, _values = await _upload(request, "scan")
    return await actions.licence_scan(customer_id, licence_id, content, request.user)


# ── gas stations: compliance, equipment list, self-checks, the application ───────────────────


@get(
    "/api/v1/ledger/customers/{customer_id:int}/compliance",
    opt=VIEW,
    tags=TAGS,
    summary="加油站诚信计量示范单位达标情况",
    responses=errors(404, 409),
)
async def api_compliance(customer_id: Id) -> dict[str, Any]:
    await actions.station(customer_id)
    return {
        "requirements": [
            vars(r) | {"evidence": [vars(e) for e in r.evidence]}
            for r in await compliance.evaluate(customer_id)
        ]
    }


@get(
    "/api/v1/ledger/customers/{customer_id:int}/station/equipment.xlsx",
    opt=VIEW,
    tags=TAGS,
    summary="在用计量器具配备情况一览表（xlsx）",
    media_type=downloads.XLSX,
    responses=errors(404, 409),
)
async def api_equipment_xlsx(customer_id: Id) -> Response:
    return (await downloads.station_equipment(customer_id, "xlsx")).response()


@get(
    "/api/v1/ledger/customers/{customer_id:int}/station/equipment.docx",
    opt=VIEW,
    tags=TAGS,
    summary="在用计量器具配备情况一览表（docx）",
    media_type=downloads.DOCX,
    responses=errors(404, 409),
)
async def api_equipment_docx(customer_id: Id) -> Response:
    return (await downloads.station_equipment(customer_id, "docx")).response()


@post(
    "/api/v1/ledger/instruments/{instrument_id:int}/self-check/compute",
    opt=MANAGE,
    tags=TAGS,
    summary="加油机月度自校记录：计算（{data} → 计算值与问题）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_self_check_compute(instrument_id: Id, data: Filled) -> dict[str, Any]:
    await actions.dispenser(instrument_id)
    return _evaluated(*actions.evaluate_form(compliance.self_check_form(), data.data))


@post(
    "/api/v1/ledger/instruments/{instrument_id:int}/self-check",
    opt=MANAGE,
    tags=TAGS,
    summary="保存加油机月度自校记录（{month: YYYY-MM, data}）",
    status_code=201,
    responses=errors(404, 409),
)
async def api_self_check_save(
    request: Request, instrument_id: Id, data: SelfCheckIn
) -> dict[str, Any]:
    values, problems = actions.evaluate_form(compliance.self_check_form(), data.data)
    check_id = await actions.save_self_check(
        instrument_id, data.month, values, problems, request.user
    )
    return {"id": check_id, "instrument": instrument_id, "month": data.month, "data": values}


@post(
    "/api/v1/ledger/customers/{customer_id:int}/application/compute",
    opt=MANAGE,
    tags=TAGS,
    summary="诚信计量示范单位申请书：计算（{data} → 计算值与问题）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_application_compute(customer_id: Id, data: Filled) -> dict[str, Any]:
    await actions.station(customer_id)
    return _evaluated(*actions.evaluate_form(package.definition(), data.data))


@get(
    "/api/v1/ledger/customers/{customer_id:int}/application",
    opt=VIEW,
    tags=TAGS,
    summary="诚信计量示范单位申请书（已保存的，或按台账预填的）",
    responses=errors(404, 409),
)
async def api_application(customer_id: Id) -> dict[str, Any]:
    await actions.station(customer_id)
    return {"data": await package.saved_or_prefilled(customer_id)}


@put(
    "/api/v1/ledger/customers/{customer_id:int}/application",
    opt=MANAGE,
    tags=TAGS,
    summary="保存诚信计量示范单位申请书（{data}）",
    responses=errors(404, 409),
)
async def api_application_save(request: Request, customer_id: Id, data: Filled) -> dict[str, Any]:
    values, problems = actions.evaluate_form(package.definition(), data.data)
    await actions.save_application(customer_id, values, problems, request.user)
    return {"data": values}


@get(
    "/api/v1/ledger/customers/{customer_id:int}/application.docx",
    opt=VIEW,
    tags=TAGS,
    summary="诚信计量示范单位申请书（docx）",
    media_type=downloads.DOCX,
    responses=errors(404, 409),
)
async def api_application_docx(customer_id: Id) -> Response:
    return (await downloads.application(customer_id)).response()


handlers = [
    api_ledger,
    api_due,
    api_export_xlsx,
    api_export_csv,
    api_sync,
    api_instrument_create,
    api_instrument,
    api_instrument_update,
    api_external,
    api_import_template,
    api_import,
    api_notice,
    api_portal,
    api_customer_xlsx,
    api_customer_csv,
    api_record_add,
    api_record_delete,
    api_licence_scan,
    api_compliance,
    api_equipment_xlsx,
    api_equipment_docx,
    api_self_check_compute,
    api_self_check_save,
    api_application_compute,
    api_application,
    api_application_save,
    api_application_docx,
]
