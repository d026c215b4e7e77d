"""Pages of the indicator database: instrument types (list, detail, editor, import/export).
Standards' pages are in `standard_routes.py`, the JSON API in `api.py`; `router` wires all three."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template

from metrolab import storage
from metrolab.indicators import editor, services, type_templates
from metrolab.indicators.catalogue import ENVIRONMENT_LIMITS
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import is_htmx, page, see_other
from metrolab.web.params import Code, SearchText
from metrolab.web.permissions import perm

VIEW, MANAGE = perm("indicators.view"), perm("indicators.manage")
DECISION_RULE_CHOICES = (
    ("", "简单接受（默认）"),
    ("simple", "简单接受"),
    ("jjf1094", "JJF 1094（U95 ≤ MPEV/3）"),
    ("guard_band", "ILAC-G8 保护带（接受区间 = 允许误差限 − U）"),
)


def download(content: bytes, filename: str) -> Response:
    return Response(
        content=content,
        media_type="application/json; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def read_upload(request: Request) -> bytes:
    """The uploaded file's bytes (refused when missing or too large)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise UserError(status_code=400, detail="请选择要导入的 JSON 文件")
    data = await upload.read(services.MAX_IMPORT_BYTES + 1)
    if len(data) > services.MAX_IMPORT_BYTES:
        raise UserError(status_code=413, detail="文件过大（不得超过 5 MB）")
    return data


async def _type_or_404(code: str) -> dict[str, Any]:
    found = await services.get_type(code)
    if found is None:
        raise UserError(status_code=404, detail=f"器具类型“{code}”不存在")
    return found


@get("/instrument-types", opt=VIEW, include_in_schema=False)
async def type_list(
    request: Request, q: SearchText = "", category: SearchText = "", inactive: bool = False
) -> Template:
    rows = await services.search_types(q.strip(), category, include_inactive=inactive)
    templates = await type_templates.known()
    for row in rows:
        row["templates"] = type_templates.in_use(row, templates)
    template = "indicators/_type_rows.html" if is_htmx(request) else "indicators/type_list.html"
    return page(
        template,
        title=_("器具类型"),
        rows=rows,
        categories=await services.categories(),
        query={"q": q, "category": category, "inactive": inactive},
    )


async def _editor(
    values: dict[str, Any], errors: dict[str, str], code: str | None, status_code: int = 200
) -> Template:
    return page(
        "indicators/type_form.html",
        status_code=status_code,
        title=_("编辑器具类型") if code else _("新建器具类型"),
        values=values,
        errors=errors,
        code=code,
        record_forms=await services.known_record_forms(),
        template_choices=await type_templates.choices(),
        templates_in_use=await type_templates.in_use_of(values),
        categories=await services.categories(),
        limits=ENVIRONMENT_LIMITS,
        decision_rules=DECISION_RULE_CHOICES,
    )


@get("/instrument-types/new", opt=MANAGE, include_in_schema=False)
async def type_new() -> Template:
    return await _editor(editor.new_values(), {}, None)


async def _save(request: Request, code: str | None) -> Response | Template:
    form = await request.form()
    values = editor.parse_form(form)
    if code is not None:
        values["code"] = code  # the code of an existing type is not editable (records refer to it)
    action = form.get("_action")
    if action:  # add / remove a row: show the editor again, nothing is saved
        editor.apply_action(values, str(action))
        return await _editor(values, {}, code)
    editor.compact(values)
    catalogue, errors = editor.values_to_catalogue(values)
    mode = "update" if code else "create"
    _checked, problems, _exists = await services.check_new_type(catalogue, mode, code)
    if errors or problems:
        return await _editor(values, {**problems, **errors}, code, status_code=400)
    saved = await services.save_type(catalogue, request.user, mode=mode, original_code=code)
    return see_other(f"/instrument-types/{saved['code']}")


@post(
    "/instrument-types",
    opt=perm("indicators.manage", api="POST /api/v1/instrument-types"),
    include_in_schema=False,
)
async def type_create(request: Request) -> Response | Template:
    return await _save(request, None)


@get(
    "/instrument-types/export",
    opt=perm("indicators.view", api="GET /api/v1/instrument-types/export"),
    include_in_schema=False,
)
async def type_export(code: list[str] | None = None) -> Response:
    content = await services.export_types(services.checked_codes(code))
    name = (
        f"instrument_types_{code[0]}.json" if code and len(code) == 1 else "instrument_types.json"
    )
    return download(content, name)


@get("/instrument-types/import", opt=MANAGE, include_in_schema=False)
async def type_import_form() -> Template:
    return page(
        "indicators/import.html",
        title=_("导入器具类型"),
        what="instrument-types",
        result=None,
        digest="",
    )


@post(
    "/instrument-types/import",
    opt=perm("indicators.manage", api="POST /api/v1/instrument-types/import"),
    include_in_schema=False,
)
async def type_import_preview(request: Request) -> Template:
    data = await read_upload(request)
    result = await services.import_types(data, dry_run=True)
    status = 200 if result.ok else 400
    return page(
        "indicators/import.html",
        status_code=status,
        title=_("导入器具类型"),
        what="instrument-types",
        result=result,
        digest=storage.put(data) if result.ok else "",
    )


@post(
    "/instrument-types/import/confirm",
    opt=perm("indicators.manage", api="POST /api/v1/instrument-types/import"),
    include_in_schema=False,
)
async def type_import_confirm(request: Request) -> Response | Template:
    digest = str((await request.form()).get("digest", ""))
    if not storage.exists(digest):
        raise UserError(status_code=400, detail="导入文件已失效，请重新上传")
    result = await services.import_types(storage.get(digest), actor=request.user)
    if not result.ok:  # the database changed since the preview
        return page(
            "indicators/import.html",
            status_code=409,
            title=_("导入器具类型"),
            what="instrument-types",
            result=result,
            digest="",
        )
    return see_other("/instrument-types")


@get("/instrument-types/{code:str}", opt=VIEW, include_in_schema=False)
async def type_detail(code: Code) -> Template:
    t = await _type_or_404(code)
    return page(
        "indicators/type_detail.html",
        title=t["name"]["zh"],
        t=t,
        templates_in_use=await type_templates.in_use_of(t),
    )


@get("/instrument-types/{code:str}/edit", opt=MANAGE, include_in_schema=False)
async def type_edit(code: Code) -> Template:
    t = await _type_or_404(code)
    return await _editor(editor.catalogue_to_values(t, t["active"]), {}, code)


@post(
    "/instrument-types/{code:str}",
    opt=perm("indicators.manage", api="PUT /api/v1/instrument-types/{code}"),
    include_in_schema=False,
)
async def type_update(request: Request, code: Code) -> Response | Template:
    await _type_or_404(code)
    return await _save(request, code)


@post(
    "/instrument-types/{code:str}/active",
    opt=perm("indicators.manage", api="POST /api/v1/instrument-types/{code}/active"),
    include_in_schema=False,
)
async def type_set_active(request: Request, code: Code) -> Response:
    t = await _type_or_404(code)
    await services.set_type_active(code, not t["active"], request.user)
    return see_other(f"/instrument-types/{code}")


def _router() -> Router:
    from metrolab.indicators import api, standard_routes

    return Router(
        path="/",
        route_handlers=[
            type_list,
            type_new,
            type_create,
            type_export,
            type_import_form,
            type_import_preview,
            type_import_confirm,
            type_detail,
            type_edit,
            type_update,
            type_set_active,
            *standard_routes.HANDLERS,
            *api.HANDLERS,
        ],
    )


router = _router()
