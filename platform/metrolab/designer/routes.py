"""Pages and endpoints of the form designer: the page, expression checks, previews, imports."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template
from litestar.static_files import create_static_files_router

from metrolab.designer import services
from metrolab.designer.starters import NewFormRefused, create_form, starter_list
from metrolab.designer.texts import texts
from metrolab.paths import data_folder
from metrolab.web.errors import UserError
from metrolab.web.i18n import current_language
from metrolab.web.pages import page, see_other
from metrolab.web.params import Code, Id, OptionalCode
from metrolab.web.permissions import PUBLIC, perm

DESIGN = perm("forms.design")


def _forms() -> tuple[
    ModuleType, ModuleType
]:  # the forms feature's services, imported when first needed
    from metrolab.forms import catalogue
    from metrolab.forms import services as forms

    return forms, catalogue


@get("/designer", opt=DESIGN, include_in_schema=False)
async def designer_index() -> Template:
    forms, _ = _forms()
    lang = current_language()
    return page(
        "designer/index.html",
        title=texts(lang)["index_title"],
        t=texts(lang),
        forms=await forms.list_definitions(),
    )


async def _new_page(
    lang: str, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    _, catalogue = _forms()
    types = services.catalogue_summary(await catalogue.list_types(), lang)
    t = texts(lang)
    return page(
        "designer/new.html",
        status_code=status,
        title=t["new_title"],
        t=t,
        starters=starter_list(lang),
        types=types,
        typed=typed,
        errors=errors,
    )


@get("/designer/new", opt=DESIGN, include_in_schema=False)
async def designer_new() -> Template:
    return await _new_page(current_language(), {"starter": "blank", "kind": "record"}, {})


@post(
    "/designer/new",
    opt=perm("forms.design", api="POST /api/v1/designer/forms"),
    include_in_schema=False,
)
async def designer_create(request: Request) -> Response | Template:
    """新建表单: version 1 as a draft, opened in the designer; a wrong field is shown beside it."""
    form = await request.form()
    names = ("starter", "key", "title_zh", "title_en", "kind", "catalogue")
    typed = {n: str(form.get(n) or "")[:200] for n in names}
    try:
        version = await create_form(**typed, user=request.user)
    except NewFormRefused as exc:
        return await _new_page(current_language(), typed, exc.extra or {}, status=400)
    return see_other(f"/forms/versions/{version['id']}/designer")


@post(
    "/designer/open/{key:str}",
    opt=perm("forms.design", api="POST /api/v1/designer/open/{key}"),
    include_in_schema=False,
)
async def designer_open(request: Request, key: Code) -> Response:
    """在设计器中修改: a draft of ``key`` (new, or the one already open) and its designer page."""
    version = await services.open_in_designer(key, request.user)
    return see_other(f"/forms/versions/{version['id']}/designer")


@get("/forms/versions/{version_id:int}/designer", opt=DESIGN, include_in_schema=False)
async def designer_page(version_id: Id) -> Template:
    forms, catalogue = _forms()
    version = await forms.get_version(version_id)
    if version is None:
        raise UserError(status_code=404, detail="表单版本不存在")
    lang = current_language()
    t = texts(lang)
    types = await catalogue.list_types()
    updated = version.get("updated_at")
    boot = {
        "version_id": version_id,
        "number": version["number"],
        "revision": version["revision"],
        "status": version["status"],
        "editable": version["status"] == "draft",
        "definition": version["definition"],
        "problems": await forms.draft_problems(version["definition"])
        if version["status"] == "draft"
        else [],
        "lang": lang,
        "T": t,
        "saved_at": updated.isoformat() if hasattr(updated, "isoformat") else None,
        "catalogue": services.catalogue_summary(types, lang),
        "functions": services.function_names(),
        "function_help": services.function_help(lang),
        "controls": services.controls(),
        "urls": {
            "version": f"/api/v1/forms/versions/{version_id}",
            "submit": f"/api/v1/forms/versions/{version_id}/submit",
            "check": "/designer/check-expression",
            "preview": "/designer/preview",
            "validate": f"/designer/validate?key={version['form_key']}",
        },
    }
    title = (version["definition"].get("title") or {}).get(lang) or version["form_key"]
    return page(
        "designer/designer.html",
        title=f"{t['designer']} · {title}",
        t=t,
        boot=boot,
        version=version,
        form_title=title,
    )


# The designer page calls these with its session; /api/v1/designer/… (api.py) are their twins.


@post(
    "/designer/check-expression",
    opt=perm("forms.design", api="POST /api/v1/designer/check-expression"),
    status_code=200,
    include_in_schema=False,
)
async def check_expression(data: services.CheckIn) -> dict[str, Any]:
    return services.check_expression(data.expression, data.known_names)


@post(
    "/designer/preview",
    opt=perm("forms.design", api="POST /api/v1/designer/preview"),
    status_code=200,
    include_in_schema=False,
    request_max_body_size=services.MAX_BODY,
)
async def preview(data: services.PreviewIn) -> dict[str, Any]:
    return await services.preview_draft(data, current_language())


@post(
    "/designer/validate",
    opt=perm("forms.design", api="POST /api/v1/designer/validate"),
    status_code=200,
    include_in_schema=False,
    request_max_body_size=services.MAX_BODY,
)
async def validate(data: services.ValidateIn, key: OptionalCode = None) -> dict[str, Any]:
    return services.validate_import(data.text, key)


static = create_static_files_router(
    path="/static/designer",
    directories=[data_folder("designer")],
    opt=PUBLIC,
    name="designer-static",
    send_as_attachment=False,
)


def _router() -> Router:
    from metrolab.designer import api

    return Router(
        path="/",
        route_handlers=[
            static,
            designer_index,
            designer_new,
            designer_create,
            designer_open,
            designer_page,
            check_expression,
            preview,
            validate,
            *api.HANDLERS,
        ],
    )


router = _router()
