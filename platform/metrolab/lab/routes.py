"""The lab's public service platform (§5.2), the home page "我的检定任务" (§5.5) and health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.audit.log import record
from metrolab.lab.settings_routes import ROUTES as SETTINGS_ROUTES
from metrolab.lab.tables import PublicPage
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.navigation import task_counts
from metrolab.web.pages import form_dict, page, see_other
from metrolab.web.permissions import AUTHENTICATED, PUBLIC, perm


async def _pages() -> list[dict[str, Any]]:
    return await PublicPage.select().order_by(PublicPage.position)


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
        {"key": c.key, "label": _(c.label_zh), "count": n, "href": c.href}
        for c, n in await task_counts(request.user)
    ]


@get("/lab/pages", opt=perm("lab.manage"), include_in_schema=False)
async def pages_admin() -> Template:
    return page("lab/pages_admin.html", title=_("公共服务页面"), pages=await _pages(), errors={})


@post("/lab/pages/{slug:str}", opt=perm("lab.manage"), include_in_schema=False)
async def page_save(request: Request, slug: str) -> Response:
    form = await form_dict(request)
    if not form.get("title_zh"):
        raise UserError(status_code=400, detail="标题（中文）不能为空")
    values = {
        PublicPage.title_zh: form["title_zh"][:100],
        PublicPage.title_en: form.get("title_en", "")[:100],
        PublicPage.body_zh: form.get("body_zh", ""),
        PublicPage.body_en: form.get("body_en", ""),
        PublicPage.updated_at: datetime.now(UTC),
    }
    if await PublicPage.exists().where(PublicPage.slug == slug):
        await PublicPage.update(values).where(PublicPage.slug == slug)  # type: ignore[arg-type]  # Piccolo: update() takes str keys; its dict type is invariant
    else:
        count = await PublicPage.count()
        # Piccolo: **columns go to untyped **kwargs; mypy matches them to _data
        await PublicPage.insert(
            PublicPage(slug=slug, position=count, **{c._meta.name: v for c, v in values.items()})  # type: ignore[arg-type]
        )
    await record("public_page.saved", actor=request.user, target_type="public_page", target_id=slug)
    return see_other("/lab/pages")


@get("/healthz", opt=PUBLIC, tags=["lab"], summary="健康检查（含数据库状态）")
async def healthz() -> Response:
    from metrolab.piccolo_conf import DB

    try:
        await DB.run_ddl("SELECT 1")
        return Response({"status": "ok", "database": "ok"})
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
    ],
)
