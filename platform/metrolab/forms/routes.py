"""Pages of the forms feature (the JSON API is in api.py): list, versions, diff, preview, import/export, review."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.engine.forms import DefinitionInvalid, load_definition, sample_data
from metrolab.forms import catalogue as indicators
from metrolab.forms import services
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import page, see_other
from metrolab.web.params import Code, Id, OptionalId
from metrolab.web.permissions import perm

STATUS_ZH = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已停用"}


def _actions(version: dict[str, Any], user: Any) -> dict[str, bool]:
    status = version["status"]
    own = user.id in (version["author"], version["submitted_by"])
    return {
        "save": status == "draft" and user.can("forms.design"),
        "submit": status == "draft" and user.can("forms.design"),
        "approve": status == "in_review" and user.can("forms.review") and not own,
        "return": status == "in_review" and user.can("forms.review"),
        "retire": status == "published" and user.can("forms.design"),
        "new_draft": user.can("forms.design"),
    }


async def _preview(raw: dict[str, Any]) -> tuple[Any, Any, dict, list[str]]:
    """(definition, catalogue, sample data, problems) for the engine's preview."""
    cat = await indicators.get_catalogue(raw.get("catalogue") or "")
    try:
        defn = load_definition(raw, cat)
    except DefinitionInvalid as exc:
        return None, cat, {}, [f"{p.place}：{p.message_zh}" for p in exc.problems]
    return defn, cat, sample_data(defn, cat), []


async def _detail(
    request: Request,
    key: str,
    version_id: int | None = None,
    error: str = "",
    status_code: int = 200,
    editor_text: str | None = None,
) -> Template:
    form = await services.get_definition(key)
    if form is None:
        raise UserError(status_code=404, detail="表单不存在")
    versions = await services.versions_of(key)
    version = next((v for v in versions if v["id"] == version_id), None) or (
        versions[0] if versions else None
    )
    base, changes = None, []
    preview: tuple[Any, Any, dict, list[str]] = (None, None, {}, [])
    if version:
        base = await services.previous_published(version)
        changes = services.diff(base, version) if base else []
        preview = await _preview(version["definition"])
    return page(
        "forms/detail.html",
        status_code=status_code,
        title=form["title_zh"] or key,
        form=form,
        versions=versions,
        version=version,
        base=base,
        changes=changes,
        status_zh=STATUS_ZH,
        defn=preview[0],
        catalogue=preview[1],
        sample=preview[2],
        preview_problems=preview[3],
        actions=_actions(version, request.user) if version else {},
        error=error,
        json_text=json.dumps(version["definition"], ensure_ascii=False, indent=2)
        if version
        else "",
        editor_text=editor_text,
    )


async def _key_of(version_id: int) -> str:
    version = await services.get_version(version_id)
    if version is None:
        raise UserError(status_code=404, detail="表单版本不存在")
    return version["form_key"]


@get("/forms", opt=perm("forms.view"), include_in_schema=False)
async def form_list(request: Request) -> Template:
    return page(
        "forms/list.html",
        title=_("表单定义"),
        forms=await services.list_definitions(),
        status_zh=STATUS_ZH,
        error="",
    )


@get("/forms/review", opt=perm("forms.review"), include_in_schema=False)
async def review_list(request: Request) -> Template:
    rows = [
        v
        for f in await services.list_definitions()
        for v in await services.versions_of(f["key"])
        if v["status"] == "in_review"
    ]
    return page("forms/tasks.html", title=_("待审核的表单模板"), rows=rows, status_zh=STATUS_ZH)


@get("/forms/returned", opt=perm("forms.design"), include_in_schema=False)
async def returned_list(request: Request) -> Template:
    rows = [
        v
        for f in await services.list_definitions()
        for v in await services.versions_of(f["key"])
        if v["status"] == "draft" and v["review_reason"] and v["author"] == request.user.id
    ]
    return page("forms/tasks.html", title=_("被退回的表单草稿"), rows=rows, status_zh=STATUS_ZH)


@get("/forms/{key:str}", opt=perm("forms.view"), include_in_schema=False)
async def form_detail(request: Request, key: Code, v: OptionalId = None) -> Template:
    return await _detail(request, key, v)


@post(
    "/forms/import",
    opt=perm("forms.design", api="POST /api/v1/forms"),
    include_in_schema=False,
)
async def form_import(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str):
            raise UserError(status_code=400, detail="请选择要导入的 JSON 文件")
        content = await upload.read(services.MAX_IMPORT_BYTES + 1)
        version = await services.import_recorded(content, request.user)
    except UserError as exc:
        return page(
            "forms/list.html",
            status_code=exc.status_code,
            title=_("表单定义"),
            forms=await services.list_definitions(),
            status_zh=STATUS_ZH,
            error=exc.detail,
        )
    return see_other(f"/forms/{version['form_key']}?v={version['id']}")


@get(
    "/forms/versions/{version_id:int}/export",
    opt=perm("forms.view", api="GET /api/v1/forms/versions/{version_id}/export"),
    include_in_schema=False,
)
async def form_export(version_id: Id) -> Response:
    version = await services.get_version(version_id)
    if version is None:
        raise UserError(status_code=404, detail="表单版本不存在")
    name = f"{version['form_key']}_v{version['number']}.json"
    return Response(
        content=services.export_json(version),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def _page_action(request: Request, version_id: int, action: str) -> Response:
    """Run one lifecycle action from the definition page; a refusal re-renders the page with it."""
    key = await _key_of(version_id)
    form = await request.form()
    try:
        version = await _do(action, version_id, request.user, form)
    except UserError as exc:
        text = form.get("definition") if action == "save" else None
        return await _detail(
            request,
            key,
            version_id,
            error=exc.detail,
            status_code=exc.status_code,
            editor_text=text,
        )
    return see_other(f"/forms/{key}?v={version['id']}")


async def _do(action: str, version_id: int, user: Any, form: Any) -> dict[str, Any]:
    """The page's form fields → the service action."""
    try:
        revision = int(form.get("revision") or 0) if action == "save" else 0
    except ValueError as exc:
        raise UserError(status_code=400, detail="revision 应为整数") from exc
    definition = form.get("definition") if action == "save" else None
    return await services.act(
        action,
        version_id,
        user,
        definition=definition.encode() if isinstance(definition, str) else None,
        revision=revision,
        password=str(form.get("password") or ""),
        reason=str(form.get("reason") or ""),
        note=str(form.get("note") or ""),
    )


@post(
    "/forms/versions/{version_id:int}/save",
    opt=perm("forms.design", api="PUT /api/v1/forms/versions/{version_id}"),
    include_in_schema=False,
)
async def page_save(request: Request, version_id: Id) -> Response:
    return await _page_action(request, version_id, "save")


@post(
    "/forms/versions/{version_id:int}/submit",
    opt=perm("forms.design", api="POST /api/v1/forms/versions/{version_id}/submit"),
    include_in_schema=False,
)
async def page_submit(request: Request, version_id: Id) -> Response:
    return await _page_action(request, version_id, "submit")


@post(
    "/forms/versions/{version_id:int}/approve",
    opt=perm("forms.review", api="POST /api/v1/forms/versions/{version_id}/approve"),
    include_in_schema=False,
)
async def page_approve(request: Request, version_id: Id) -> Response:
    return await _page_action(request, version_id, "approve")


@post(
    "/forms/versions/{version_id:int}/return",
    opt=perm("forms.review", api="POST /api/v1/forms/versions/{version_id}/return"),
    include_in_schema=False,
)
async def page_return(request: Request, version_id: Id) -> Response:
    return await _page_action(request, version_id, "return")


@post(
    "/forms/versions/{version_id:int}/retire",
    opt=perm("forms.design", api="POST /api/v1/forms/versions/{version_id}/retire"),
    include_in_schema=False,
)
async def page_retire(request: Request, version_id: Id) -> Response:
    return await _page_action(request, version_id, "retire")


@post(
    "/forms/{key:str}/drafts",
    opt=perm("forms.design", api="POST /api/v1/forms/{key}/drafts"),
    include_in_schema=False,
)
async def page_new_draft(request: Request, key: Code) -> Response:
    version = await services.open_draft(key, request.user)
    return see_other(f"/forms/{key}?v={version['id']}")


def _router() -> Router:
    from metrolab.forms import api

    return Router(
        path="/",
        route_handlers=[
            form_list,
            review_list,
            returned_list,
            form_detail,
            form_import,
            form_export,
            page_save,
            page_submit,
            page_approve,
            page_return,
            page_retire,
            page_new_draft,
            *api.HANDLERS,
        ],
    )


router = _router()
