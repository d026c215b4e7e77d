"""Pages of the public 业务服务 portal (§5.3, no login) and the clerk's 检定申请 pages; the JSON twins
of the staff actions are in api.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.kernel.errors import Refused
from metrolab.services import api, documents, services
from metrolab.settings import get_settings
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, read_upload, see_other
from metrolab.web.params import Id, SearchText
from metrolab.web.permissions import PUBLIC, perm

LINES = 5  # instrument rows on the application form
HONEYPOT = "website"  # hidden from people; a robot filling every field fills it
MAX_FORM_FIELDS = 60
# Public pages a reception desk prints as QR codes: (slug, path, label).
QR_PAGES = [
    ("services", "/services", "业务服务"),
    ("apply", "/services/apply", "检定申请"),
    ("status", "/services/status", "申请进度查询"),
    ("verify", "/verify", "证书核查"),
    ("standards", "/services/standards", "标准查询"),
    ("documents", "/services/documents", "资料下载"),
]


def _address(request: Request) -> str:
    return (request.client.host if request.client else "")[:64]


@get("/services", opt=PUBLIC, include_in_schema=False)
async def portal_home() -> Template:
    return page("services/home.html", title=_("业务服务"))


async def _apply_page(
    values: dict[str, Any],
    lines: list[dict[str, Any]],
    errors: dict[str, services.Problem],
    types: dict[str, str],
    status_code: int = 200,
    message: str = "",
) -> Template:
    rows = lines + [{} for _i in range(max(0, LINES - len(lines)))]
    serial_required = await services.serial_required()  # as the 委托受理单 asks
    return page(
        "services/apply.html",
        status_code=status_code,
        title=_("检定申请"),
        values=values,
        lines=rows,
        errors={k: _(m, **kw) for k, (m, kw) in errors.items()},
        types=sorted(types.items(), key=lambda kv: kv[1]),
        message=message,
        honeypot=HONEYPOT,
        serial_required=serial_required,
    )


@get("/services/apply", opt=PUBLIC, include_in_schema=False)
async def apply_form() -> Template:
    return await _apply_page({}, [], {}, await services.instrument_types())


@post("/services/apply", opt=PUBLIC, include_in_schema=False)
async def apply_submit(request: Request) -> Response:
    form = await request.form()
    types = await services.instrument_types()
    if len(form) > MAX_FORM_FIELDS:
        return await _apply_page({}, [], {}, types, 413, _("提交的内容过多"))
    values = {k: v for k, v in form.items() if isinstance(v, str) and not k.startswith("lines.")}
    lines = [
        {
            "instrument_type": str(form.get(f"lines.{i}.instrument_type") or ""),
            "quantity": str(form.get(f"lines.{i}.quantity") or ""),
            "serial": str(form.get(f"lines.{i}.serial") or ""),
        }
        for i in range(services.MAX_LINES + 1)
        if f"lines.{i}.instrument_type" in form or f"lines.{i}.quantity" in form
    ]
    if values.get(HONEYPOT):
        return await _apply_page(values, lines, {}, types, 400, _("提交失败，请稍后再试"))
    try:
        saved = await services.submit(values, lines, _address(request))
    except services.ApplicationProblems as exc:
        return await _apply_page(values, lines, exc.errors, types, 400, _("请按提示修改后再提交"))
    except services.TooMany as exc:
        return await _apply_page(
            values,
            lines,
            {},
            types,
            exc.status_code,
            _(
                "提交过于频繁：同一地址 1 小时内至多提交 {limit} 份申请，请稍后再试",
                limit=services.PER_IP_LIMIT,
            ),
        )
    return page("services/applied.html", title=_("申请已提交"), app=saved)


@get("/services/status", opt=PUBLIC, include_in_schema=False)
async def status_lookup(number: SearchText = "", phone: SearchText = "") -> Template:
    values = {"number": number, "phone": phone}
    if not number and not phone:
        return page("services/status.html", title=_("申请进度查询"), values=values, found=None)
    found = await services.progress(number, phone)
    return page(
        "services/status.html",
        status_code=200 if found else 404,
        title=_("申请进度查询"),
        values=values,
        found=found,
        message="" if found else _("没有找到该申请：请核对申请编号和联系电话"),
    )


@get("/services/standards", opt=PUBLIC, include_in_schema=False)
async def standards_page(q: SearchText = "") -> Template:
    return page(
        "services/standards.html",
        title=_("标准查询"),
        q=q,
        regulations=await services.regulations(q),
        standards=await services.standards(q),
    )


@get("/services/qr", opt=PUBLIC, include_in_schema=False)
async def qr_page() -> Template:
    base = get_settings().base_url
    return page(
        "services/qr.html",
        title=_("二维码下载"),
        pages=[(slug, base + path, label) for slug, path, label in QR_PAGES],
    )


@get("/services/qr/{name:str}", opt=PUBLIC, include_in_schema=False)
async def qr_download(name: str) -> Response:
    """`apply.svg`, `verify.png`…: the page's address as a QR code to print."""
    from metrolab.engine.documents.qr import qr_png, qr_svg

    slug, _dot, kind = name.partition(".")
    paths = {s: p for s, p, _label in QR_PAGES}
    if slug not in paths or kind not in {"svg", "png"}:
        from metrolab.kernel.errors import NotFound

        raise NotFound("没有这个二维码")
    url = get_settings().base_url + paths[slug]
    return Response(
        qr_svg(url) if kind == "svg" else qr_png(url),
        media_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={"content-disposition": f'attachment; filename="qr-{slug}.{kind}"'},
    )


# ── 资料下载 ──────────────────────────────────────────────────────────────────────────────


@get("/services/documents", opt=PUBLIC, include_in_schema=False)
async def document_list() -> Template:
    return page(
        "services/documents.html",
        title=_("资料下载"),
        rows=await documents.listed(),
        size_text=documents.size_text,
    )


@get("/services/documents/{doc_id:int}/download", opt=PUBLIC, include_in_schema=False)
async def document_download(doc_id: Id) -> Response:
    doc, data = await documents.download(doc_id)
    quoted = quote(doc["filename"])
    return Response(
        data,
        media_type=doc["media_type"],
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quoted}",
            "x-content-type-options": "nosniff",
        },
    )


def _manage_page(
    values: dict[str, Any] | None = None, error: str = "", status_code: int = 200
) -> Any:
    async def render() -> Template:
        return page(
            "services/documents_manage.html",
            status_code=status_code,
            title=_("发布资料"),
            rows=await documents.listed(include_withdrawn=True),
            categories=documents.CATEGORIES,
            values=values or {},
            error=error,
            size_text=documents.size_text,
            limit_mb=get_settings().upload_max_bytes // 1024 // 1024,
        )

    return render()


@get("/services/documents/manage", opt=perm("services.documents"), include_in_schema=False)
async def document_manage() -> Template:
    return await _manage_page()


@post(
    "/services/documents",
    opt=perm("services.documents", api="POST /api/v1/services/documents"),
    include_in_schema=False,
    request_max_body_size=get_settings().upload_max_bytes + 1024 * 1024,
)
async def document_publish(request: Request) -> Response:
    form = await form_dict(request)
    data, name = await read_upload(request)
    values = {k: form.get(k, "") for k in ("title", "category")}
    try:
        await documents.publish(values["title"], values["category"], data, name, request.user)
    except Refused as exc:
        return await _manage_page(values, exc.detail, exc.status_code)
    return see_other("/services/documents/manage")


@post(
    "/services/documents/{doc_id:int}/withdraw",
    opt=perm("services.documents", api="POST /api/v1/services/documents/{doc_id}/withdraw"),
    include_in_schema=False,
)
async def document_withdraw(request: Request, doc_id: Id) -> Response:
    await documents.withdraw(doc_id, request.user)
    return see_other("/services/documents/manage")


# ── 业务室: 待受理的检定申请 ────────────────────────────────────────────────────────────────


@get("/services/applications", opt=perm("services.applications"), include_in_schema=False)
async def application_list(status: SearchText = "submitted") -> Template:
    status = status if status in {"submitted", "accepted", "declined"} else "submitted"
    return page(
        "services/applications.html",
        title=_("检定申请"),
        rows=await services.applications(status),
        status=status,
    )


async def _detail(
    application_id: int,
    errors: dict[str, services.Problem] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    app = await services.get(application_id)
    return page(
        "services/application.html",
        status_code=400 if errors else 200,
        title=_("检定申请 {number}", number=app["number"]),
        app=app,
        known=await services.known_customer(app["unit"]),
        errors={k: _(m, **kw) for k, (m, kw) in (errors or {}).items()},
        values=values or {"customer": app["unit"]},
    )


@get(
    "/services/applications/{application_id:int}",
    opt=perm("services.applications"),
    include_in_schema=False,
)
async def application_detail(application_id: Id) -> Template:
    return await _detail(application_id)


@post(
    "/services/applications/{application_id:int}/accept",
    opt=perm(
        "services.applications",
        api="POST /api/v1/services/applications/{application_id}/accept",
    ),
    include_in_schema=False,
)
async def application_accept(request: Request, application_id: Id) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k in {"customer", "new_customer", "reason"}}
    try:
        saved = await services.accept(
            application_id,
            request.user,
            values.get("customer", ""),
            values.get("new_customer") == "1",
        )
    except services.ApplicationProblems as exc:
        return await _detail(application_id, exc.errors, values)
    return see_other(f"/entrustments/{saved['entrustment']}")


@post(
    "/services/applications/{application_id:int}/decline",
    opt=perm(
        "services.applications",
        api="POST /api/v1/services/applications/{application_id}/decline",
    ),
    include_in_schema=False,
)
async def application_decline(request: Request, application_id: Id) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k in {"customer", "reason"}}
    try:
        await services.decline(application_id, request.user, values.get("reason", ""))
    except services.ApplicationProblems as exc:
        return await _detail(application_id, exc.errors, values)
    return see_other("/services/applications")


router = Router(
    path="/",
    route_handlers=[
        portal_home,
        apply_form,
        apply_submit,
        status_lookup,
        standards_page,
        qr_page,
        qr_download,
        document_list,
        document_download,
        document_manage,
        document_publish,
        document_withdraw,
        application_list,
        application_detail,
        application_accept,
        application_decline,
        *api.HANDLERS,
    ],
)
