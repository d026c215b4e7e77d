"""Pages and endpoints of the form designer: the page, expression checks, previews, imports."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import anyio
from litestar import Request, Response, Router, get, post
from litestar.response import Template
from litestar.static_files import create_static_files_router

from metrolab.designer import services
from metrolab.designer.texts import texts
from metrolab.paths import data_folder
from metrolab.web.errors import UserError
from metrolab.web.i18n import current_language
from metrolab.web.pages import page, see_other
from metrolab.web.permissions import PUBLIC, perm

DESIGN = perm("forms.design")
MAX_BODY = 8 * 1024 * 1024


def _forms() -> tuple[
    ModuleType, ModuleType
]:  # the forms feature's services, imported when first needed
    from metrolab.forms import catalogue
    from metrolab.forms import services as forms

    return forms, catalogue


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(status_code=400, detail="请求体应为 JSON 对象")
    return data


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


@post("/designer/open/{key:str}", opt=DESIGN, include_in_schema=False)
async def designer_open(request: Request, key: str) -> Response:
    """在设计器中修改: a draft of ``key`` (new, or the one already open) and its designer page."""
    forms, _ = _forms()
    from metrolab.audit.log import record

    version = await forms.new_draft(key, request.user)
    await record(
        "form.draft_opened_in_designer",
        actor=request.user,
        target_type="form_version",
        target_id=version["id"],
        details={"key": key, "number": version["number"]},
    )
    return see_other(f"/forms/versions/{version['id']}/designer")


@get("/forms/versions/{version_id:int}/designer", opt=DESIGN, include_in_schema=False)
async def designer_page(version_id: int) -> Template:
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


@post(
    "/designer/check-expression",
    opt=DESIGN,
    status_code=200,
    tags=["designer"],
    summary="检查表达式（语法、白名单、名称）",
)
async def check_expression(data: Any) -> dict[str, Any]:
    body = _body(data)
    return services.check_expression(body.get("expression"), body.get("known_names"))


@post(
    "/designer/preview",
    opt=DESIGN,
    status_code=200,
    tags=["designer"],
    summary="预览表单定义（示例数据，服务器计算）",
    request_max_body_size=MAX_BODY,
)
async def preview(data: Any) -> dict[str, Any]:
    body = _body(data)
    raw = body.get("definition")
    lang: str = body["lang"] if body.get("lang") in ("zh", "en") else current_language()
    if not isinstance(raw, dict):
        return {
            "ok": False,
            "html": "",
            "problems": [{"place": "（根）", "message": "定义必须是 JSON 对象"}],
        }
    _, catalogue = _forms()
    codes = {raw.get("catalogue")} | _indicator_codes(raw.get("layout"))
    types = {
        c: t for c in codes if isinstance(c, str) and c and (t := await catalogue.get_catalogue(c))
    }
    return await anyio.to_thread.run_sync(services.preview, raw, types or None, lang)


@post(
    "/designer/validate",
    opt=DESIGN,
    status_code=200,
    tags=["designer"],
    summary="检查要导入的表单定义文件",
    request_max_body_size=MAX_BODY,
)
async def validate(data: Any, key: str | None = None) -> dict[str, Any]:
    body = _body(data)
    return services.validate_import(body.get("text"), key)


def _indicator_codes(nodes: Any) -> set[str]:
    out: set[str] = set()
    stack = [nodes]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "indicator_table" and isinstance(item.get("catalogue"), str):
                out.add(item["catalogue"])
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
    return out


static = create_static_files_router(
    path="/static/designer",
    directories=[data_folder("designer")],
    opt=PUBLIC,
    name="designer-static",
    send_as_attachment=False,
)

router = Router(
    path="/",
    route_handlers=[
        static,
        designer_index,
        designer_open,
        designer_page,
        check_expression,
        preview,
        validate,
    ],
)
