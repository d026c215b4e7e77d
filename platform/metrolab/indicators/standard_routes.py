"""Pages for the lab's measurement standards (计量标准装置 and 标准器): list, expiry warnings, editor,
import and export."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab import storage
from metrolab.indicators import services
from metrolab.indicators.catalogue import KINDS
from metrolab.indicators.routes import MANAGE, VIEW, download, read_upload
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import is_htmx, page, see_other
from metrolab.web.params import Code, Days, SearchText
from metrolab.web.permissions import perm

FIELDS = (
    "kind",
    "code",
    "name",
    "name_en",
    "model",
    "serial_no",
    "measuring_range",
    "uncertainty",
    "certificate_no",
    "calibrated_by",
    "valid_until",
    "department",
    "facility",
    "notes",
)
# The certificate's U and k as numbers (for uncertainty budgets): inputs cal_U, cal_k, …
CALIBRATION_FIELDS = ("U", "k", "unit", "dof", "quantity")


@get("/standards", opt=VIEW, include_in_schema=False)
async def standard_list(
    request: Request, q: SearchText = "", kind: SearchText = "", inactive: bool = False
) -> Template:
    rows = await services.list_standards(q.strip(), kind, include_inactive=inactive)
    template = (
        "indicators/_standard_rows.html" if is_htmx(request) else "indicators/standard_list.html"
    )
    return page(
        template,
        title=_("标准器"),
        rows=rows,
        kinds=KINDS,
        warning_days=services.EXPIRY_WARNING_DAYS,
        warnings=await services.expiring_standards(),
        query={"q": q, "kind": kind, "inactive": inactive},
    )


@get("/standards/expiring", opt=VIEW, include_in_schema=False)
async def standard_expiring(days: Days = services.EXPIRY_WARNING_DAYS) -> Template:
    days = max(0, min(days, 3650))
    return page(
        "indicators/standard_expiring.html",
        title=_("标准器到期预警"),
        days=days,
        rows=await services.expiring_standards(days),
    )


async def _editor(
    values: dict[str, Any], errors: dict[str, str], code: str | None, status_code: int = 200
) -> Template:
    from metrolab.accounts.tables import Department

    departments = [
        d["name"] for d in await Department.select(Department.name).order_by(Department.name)
    ]
    return page(
        "indicators/standard_form.html",
        status_code=status_code,
        title=_("编辑标准器") if code else _("新建标准器"),
        values=values,
        errors=errors,
        code=code,
        kinds=KINDS,
        devices=await services.list_standards(kind="device", include_inactive=True),
        types=await services.search_types(include_inactive=True),
        departments=departments,
    )


@get("/standards/new", opt=MANAGE, include_in_schema=False)
async def standard_new() -> Template:
    return await _editor({"kind": "instrument", "active": True, "for_types": []}, {}, None)


async def _save(request: Request, code: str | None) -> Response | Template:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in FIELDS}
    values["for_types"] = [str(t) for t in form.getall("for_types")] if "for_types" in form else []
    values["active"] = form.get("active") in ("1", "on", "true")
    for key in CALIBRATION_FIELDS:
        values[f"cal_{key}"] = str(form.get(f"cal_{key}") or "").strip()
    values["cal_relative"] = form.get("cal_relative") in ("1", "on", "true")
    calibration: dict[str, Any] = {
        k: values[f"cal_{k}"] for k in CALIBRATION_FIELDS if values[f"cal_{k}"]
    }
    if calibration:
        calibration["relative"] = values["cal_relative"]
    values["calibration"] = calibration
    if code is not None:
        values["code"] = code
    if values["kind"] == "device":
        values["facility"] = ""
    mode = "update" if code else "create"
    _checked, problems, _exists = await services.check_new_standard(values, mode, code)
    problems = {
        (f"cal_{k.split('.', 1)[1]}" if k.startswith("calibration.") else k): v
        for k, v in problems.items()
    }
    if problems:
        return await _editor(values, problems, code, status_code=400)
    await services.save_standard(values, request.user, mode=mode, original_code=code)
    return see_other("/standards")


@post(
    "/standards",
    opt=perm("indicators.manage", api="POST /api/v1/standards"),
    include_in_schema=False,
)
async def standard_create(request: Request) -> Response | Template:
    return await _save(request, None)


@get(
    "/standards/export",
    opt=perm("indicators.view", api="GET /api/v1/standards/export"),
    include_in_schema=False,
)
async def standard_export(code: list[str] | None = None) -> Response:
    return download(await services.export_standards(services.checked_codes(code)), "standards.json")


@get("/standards/import", opt=MANAGE, include_in_schema=False)
async def standard_import_form() -> Template:
    return page(
        "indicators/import.html", title=_("导入标准器"), what="standards", result=None, digest=""
    )


@post(
    "/standards/import",
    opt=perm("indicators.manage", api="POST /api/v1/standards/import"),
    include_in_schema=False,
)
async def standard_import_preview(request: Request) -> Template:
    data = await read_upload(request)
    result = await services.import_standards(data, dry_run=True)
    return page(
        "indicators/import.html",
        status_code=200 if result.ok else 400,
        title=_("导入标准器"),
        what="standards",
        result=result,
        digest=storage.put(data) if result.ok else "",
    )


@post(
    "/standards/import/confirm",
    opt=perm("indicators.manage", api="POST /api/v1/standards/import"),
    include_in_schema=False,
)
async def standard_import_confirm(request: Request) -> Response | Template:
    digest = str((await request.form()).get("digest", ""))
    if not storage.exists(digest):
        raise UserError(status_code=400, detail="导入文件已失效，请重新上传")
    result = await services.import_standards(storage.get(digest), actor=request.user)
    if not result.ok:
        return page(
            "indicators/import.html",
            status_code=409,
            title=_("导入标准器"),
            what="standards",
            result=result,
            digest="",
        )
    return see_other("/standards")


@get("/standards/{code:str}/edit", opt=MANAGE, include_in_schema=False)
async def standard_edit(code: Code) -> Template:
    found = await services.get_standard(code)
    if found is None:
        raise UserError(status_code=404, detail=f"标准器“{code}”不存在")
    values = {
        **found,
        "valid_until": found["valid_until"].isoformat() if found["valid_until"] else "",
        **{f"cal_{k}": (found.get("calibration") or {}).get(k, "") for k in CALIBRATION_FIELDS},
        "cal_relative": bool((found.get("calibration") or {}).get("relative")),
    }
    return await _editor(values, {}, code)


@post(
    "/standards/{code:str}",
    opt=perm("indicators.manage", api="PUT /api/v1/standards/{code}"),
    include_in_schema=False,
)
async def standard_update(request: Request, code: Code) -> Response | Template:
    if await services.get_standard(code) is None:
        raise UserError(status_code=404, detail=f"标准器“{code}”不存在")
    return await _save(request, code)


HANDLERS = [
    standard_list,
    standard_expiring,
    standard_new,
    standard_create,
    standard_export,
    standard_import_form,
    standard_import_preview,
    standard_import_confirm,
    standard_edit,
    standard_update,
]
