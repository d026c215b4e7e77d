"""The lab's public service platform (§5.2), the home page "我的检定任务" (§5.5) and health."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.lab import api, services
from metrolab.lab.settings_routes import ROUTES as SETTINGS_ROUTES
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.navigation import task_counts
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.permissions import AUTHENTICATED, PUBLIC, perm

_pages = services.public_pages


@get("/", opt=PUBLIC, include_in_schema=False)
async def public_home() -> Template:
    pages = await _pages()
    return page(
        "lab/public.html", title=_("机构介绍"), pages=pages, current=pages[0] if pages else None
    )


@get("/about/{slug:str}", opt=PUBLIC, include_in_schema=False)
async def public_page(slug: str) -> Template:
    pages = await _pages()
    current = next((p for p in pages if p["slug"] == slug), None)
    if current is None:
        raise UserError(status_code=404, detail="页面不存在")
    return page("lab/public.html", title=current["title_zh"], pages=pages, current=current)


@get("/home", opt=AUTHENTICATED, include_in_schema=False)
async def home(request: Request) -> Template:
    return page("lab/home.html", title=_("我的检定任务"), tasks=await task_counts(request.user))


@get("/api/v1/tasks", opt=AUTHENTICATED, tags=["lab"], summary="我的检定任务（各类任务数量）")
async def api_tasks(request: Request) -> list[dict[str, Any]]:
    return [
        {"key": c.key, "label": _(c.label_zh), **n.as_json("count"), "href": c.href}
        for c, n in await task_counts(request.user)
    ]


@get("/lab/pages", opt=perm("lab.manage"), include_in_schema=False)
async def pages_admin() -> Template:
    return page("lab/pages_admin.html", title=_("公共服务页面"), pages=await _pages(), errors={})


@post(
    "/lab/pages/{slug:str}",
    opt=perm("lab.manage", api="PUT /api/v1/lab/pages/{slug}"),
    include_in_schema=False,
)
async def page_save(request: Request, slug: str) -> Response:
    form = await form_dict(request)
    await services.save_public_page(slug, form, request.user)
    return see_other("/lab/pages")


@get(
    "/healthz",
    opt=PUBLIC,
    tags=["lab"],
    summary="健康检查（数据库；本进程的出证工作进程：starting / ready / stopped）",
)
async def healthz() -> Response:
    from metrolab import jobs
    from metrolab.piccolo_conf import DB

    try:
        await DB.run_ddl("SELECT 1")
        worker = {"render_worker": state} if (state := jobs.worker_state()) else {}
        return Response({"status": "ok", "database": "ok", **worker})
    except Exception as exc:  # noqa: BLE001 - any driver error is "down"
        return Response(
            {"status": "error", "database": f"{exc.__class__.__name__}"}, status_code=503
        )


router = Router(
    path="/",
    route_handlers=[
        public_home,
        public_page,
        home,
        api_tasks,
        pages_admin,
        page_save,
        healthz,
        *SETTINGS_ROUTES,
        *api.HANDLERS,
    ],
)
