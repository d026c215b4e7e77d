"""Pages of the certificates feature: templates (§5.8.15), certificates, printing (§5.8.11); their
JSON twins are in api.py, the public verification pages in verify_routes.py."""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab import jobs
from metrolab.certificates import api, numbers, printing, services, signing, verify_routes
from metrolab.certificates import compiler_edits as ce
from metrolab.certificates import template_versions as tv
from metrolab.certificates.tables import KINDS
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import form_dict, page, read_upload, see_other
from metrolab.web.params import PageNo, SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services as wf


def _pdf(data: bytes, filename: str) -> Response:
    return api.file_response(data, api.PDF, filename)


# ── certificate templates ─────────────────────────────────────────────────────────────────


@get("/certificate-templates", opt=perm("certificates.view"), include_in_schema=False)
async def template_list() -> Template:
    return page(
        "certificates/templates.html",
        title=_("证书模板"),
        templates=await tv.templates(),
        labels=tv.STATUS_LABELS,
    )


@get("/certificate-templates/new", opt=perm("templates.design"), include_in_schema=False)
async def template_new() -> Template:
    return page(
        "certificates/template_new.html",
        title=_("上传证书模板"),
        values={},
        problems=[],
        kinds=await tv.kinds(),
    )


@post(
    "/certificate-templates",
    opt=perm("templates.design", api="POST /api/v1/certificate-templates"),
    include_in_schema=False,
)
async def template_create(request: Request) -> Response:
    form = await request.form()
    values = {k: form.get(k) or "" for k in ("key", "name", "kind")}
    values = {k: v if isinstance(v, str) else "" for k, v in values.items()}
    data, filename = await read_upload(request)
    try:
        version = await tv.upload(
            data,
            filename,
            request.user,
            key=values["key"],
            name=values["name"],
            kind=values["kind"],
        )
    except tv.TemplateRefused as exc:
        return page(
            "certificates/template_new.html",
            status_code=400,
            title=_("上传证书模板"),
            values=values,
            problems=exc.problems,
            kinds=await tv.kinds(),
        )
    return see_other(f"/certificate-templates/{version['template']}")


async def _template_page(
    template_id: int, problems: list[str] | None = None, status_code: int = 200
) -> Template:
    tpl = await tv.get_template(template_id)
    return page(
        "certificates/template_detail.html",
        status_code=status_code,
        title=tpl["name"],
        t=tpl,
        versions=await tv.versions(template_id),
        used_by=await tv.types_using(tpl["key"], tpl["kind"]),
        labels=tv.STATUS_LABELS,
        problems=problems or [],
    )


@get(
    "/certificate-templates/{template_id:int}",
    opt=perm("certificates.view"),
    include_in_schema=False,
)
async def template_detail(template_id: int) -> Template:
    return await _template_page(template_id)


@post(
    "/certificate-templates/{template_id:int}/versions",
    opt=perm("templates.design", api="POST /api/v1/certificate-templates/{template_id}/versions"),
    include_in_schema=False,
)
async def template_version_upload(request: Request, template_id: int) -> Response:
    await tv.get_template(template_id)
    data, filename = await read_upload(request)
    try:
        await tv.upload(data, filename, request.user, template_id=template_id)
    except tv.TemplateRefused as exc:
        return await _template_page(template_id, exc.problems, 400)
    return see_other(f"/certificate-templates/{template_id}")


@post(
    "/certificate-templates/versions/{version_id:int}/submit",
    opt=perm(
        "templates.design", api="POST /api/v1/certificate-templates/versions/{version_id}/submit"
    ),
    include_in_schema=False,
)
async def template_submit(request: Request, version_id: int) -> Response:
    await tv.submit(version_id, request.user)
    return see_other(f"/certificate-templates/{(await tv.get_version(version_id))['template']}")


@post(
    "/certificate-templates/versions/{version_id:int}/approve",
    opt=perm(
        "templates.review", api="POST /api/v1/certificate-templates/versions/{version_id}/approve"
    ),
    include_in_schema=False,
)
async def template_approve(request: Request, version_id: int) -> Response:
    form = await form_dict(request)
    await tv.approve(version_id, request.user, form.get("password", ""))
    return see_other(f"/certificate-templates/{(await tv.get_version(version_id))['template']}")


@post(
    "/certificate-templates/versions/{version_id:int}/return",
    opt=perm(
        "templates.review", api="POST /api/v1/certificate-templates/versions/{version_id}/return"
    ),
    include_in_schema=False,
)
async def template_return(request: Request, version_id: int) -> Response:
    form = await form_dict(request)
    await tv.return_version(version_id, request.user, form.get("reason", ""))
    return see_other(f"/certificate-templates/{(await tv.get_version(version_id))['template']}")


@post(
    "/certificate-templates/versions/{version_id:int}/retire",
    opt=perm(
        "templates.design", api="POST /api/v1/certificate-templates/versions/{version_id}/retire"
    ),
    include_in_schema=False,
)
async def template_retire(request: Request, version_id: int) -> Response | Template:
    template_id = (await tv.get_version(version_id))["template"]
    try:
        await tv.retire(version_id, request.user)
    except UserError as exc:  # still used by instrument types: say which, on the template's page
        return await _template_page(template_id, [str(exc.detail)], exc.status_code)
    return see_other(f"/certificate-templates/{template_id}")


@get(
    "/certificate-templates/versions/{version_id:int}/preview.pdf",
    opt=perm(
        "certificates.view",
        api="GET /api/v1/certificate-templates/versions/{version_id}/preview.pdf",
    ),
    include_in_schema=False,
)
async def template_preview(version_id: int) -> Response:
    version = await tv.get_version(version_id)
    pdf = await tv.preview_pdf(version_id)
    return _pdf(pdf, f"preview-{version['template_key']}-v{version['number']}.pdf")


@get(
    "/certificate-templates/versions/{version_id:int}/template.docx",
    opt=perm(
        "certificates.view",
        api="GET /api/v1/certificate-templates/versions/{version_id}/template.docx",
    ),
    include_in_schema=False,
)
async def template_download(version_id: int) -> Response:
    data, filename = await tv.docx_of(version_id)
    return api.file_response(data, api.DOCX, filename, inline=False)


# ── certificates ──────────────────────────────────────────────────────────────────────────


@get("/certificates", opt=perm("certificates.view"), include_in_schema=False)
async def certificate_list(
    request: Request,
    q: SearchText = "",
    kind: SearchText = "",
    print_status: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    rows, total, pages = await printing.search(print_status, q, kind, page_no, printable_only=False)
    return page(
        "certificates/list.html",
        labels=await wf.state_labels("certificate"),
        print_status=printing.print_status,
        title=_("证书查询"),
        rows=rows,
        total=total,
        pages=pages,
        page_no=page_no,
        query={"q": q, "kind": kind},
        kinds=KINDS,
    )


@get(
    "/certificates/export",
    opt=perm("certificates.view", api="GET /api/v1/certificates/export"),
    include_in_schema=False,
)
async def certificate_list_export(
    q: SearchText = "",
    kind: SearchText = "",
    print_status: SearchText = "",
    format: SearchText = "",
) -> Response:
    return await api.issued_export(q, kind, print_status, format)


@get("/certificates/{certificate_id:int}", opt=perm("certificates.view"), include_in_schema=False)
async def certificate_detail(request: Request, certificate_id: int) -> Template:
    """The one certificate page (§7.1): this tab is its overview — issued info, print log, withdraw."""
    return await _tab_page(request, certificate_id, "overview")


# ── the §7.1 editing screens: tabs of the certificate page ──────────────────────────────────────


async def _record_info(cert: dict[str, Any]) -> dict[str, Any] | None:
    """The certificate's original record: number, and either where to edit it or why it is locked."""
    from metrolab import hooks
    from metrolab.records.tables import OriginalRecord

    if not cert.get("record"):
        return None
    row = (
        await OriginalRecord.select(OriginalRecord.id, OriginalRecord.number)
        .where(OriginalRecord.id == cert["record"])
        .first()
    )
    if row is None:
        return None
    lock = await hooks.first("record.locked_by", row["id"])
    return {**row, "lock": lock, "edit_href": None if lock else f"/records/{row['id']}/edit"}


async def _customer_address(cert: dict[str, Any]) -> str:
    from metrolab.customers.tables import Customer

    if not cert.get("customer"):
        return ""
    row = await Customer.select(Customer.address).where(Customer.id == cert["customer"]).first()
    return (row or {}).get("address") or ""


async def _tab_page(
    request: Request,
    certificate_id: int,
    tab: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status_code: int = 200,
    flash: str = "",
) -> Template:
    from metrolab.engine.documents.render import to_plain

    cert = await ce.certificate(certificate_id)
    content, problem = await ce.current_content(cert)
    stored = cert.get("compiler_edits") or {}
    extra: dict[str, Any] = {}
    if tab == "overview":
        extra = {
            "state": await services.status_of(cert) if cert["pdf_sha256"] else ("", ""),
            "prints": await printing.print_log(certificate_id),
            "verify_url": services.verify_url(cert["verify_token"]) if cert["verify_token"] else "",
            "print_status": printing.print_status,
            "signature": await signing.certificate_status(cert),
            # approved, PDF not yet made: where its render job is (todo 排队中 / doing 生成中)
            "rendering": await jobs.render_state(certificate_id)
            if cert["status"] == "issued" and not cert["pdf_sha256"]
            else "",
        }
    elif tab == "cover":
        extra = {"file_address": await _customer_address(cert)}
    return page(
        "certificates/detail.html" if tab == "overview" else f"certificates/tab_{tab}.html",
        status_code=status_code,
        title=f"{cert['kind']} {cert['number'] or _('（未编号）')}",
        tab=tab,
        c=cert,
        ctx=to_plain(content),
        problem=problem,
        record=await _record_info(cert),
        refusal=await ce.refusal(cert, request.user),
        edits=stored,
        values=stored if values is None else values,
        errors=errors or {},
        message=message,
        fields=ce.FIELDS,
        labels=await wf.state_labels("certificate"),
        flash=flash,
        **extra,
    )


@get(
    "/certificates/{certificate_id:int}/cover",
    opt=perm("certificates.view"),
    include_in_schema=False,
)
async def certificate_cover(request: Request, certificate_id: int, saved: str = "") -> Template:
    """送检单位信息: the cover as the record gives it; 送检单位地址 and 检定地点 as the compiler states."""
    return await _tab_page(request, certificate_id, "cover", flash=_("已保存") if saved else "")


@get(
    "/certificates/{certificate_id:int}/standards",
    opt=perm("certificates.view"),
    include_in_schema=False,
)
async def certificate_standards(request: Request, certificate_id: int) -> Template:
    """检定结果信息: 计量标准装置, 主要计量标准器 (certificate numbers, validity), 环境条件."""
    return await _tab_page(request, certificate_id, "standards")


@get(
    "/certificates/{certificate_id:int}/results",
    opt=perm("certificates.view"),
    include_in_schema=False,
)
async def certificate_results(request: Request, certificate_id: int, saved: str = "") -> Template:
    """检定结果页: the results rows from the record; 备注 as the compiler states."""
    return await _tab_page(request, certificate_id, "results", flash=_("已保存") if saved else "")


@get(
    "/certificates/{certificate_id:int}/view",
    opt=perm("certificates.view"),
    include_in_schema=False,
)
async def certificate_view(request: Request, certificate_id: int) -> Template:
    """证书查看: the real PDF (the preview while it is being compiled)."""
    return await _tab_page(request, certificate_id, "view")


@post(
    "/certificates/{certificate_id:int}/compiler-edits",
    opt=perm("business.compile", api="PUT /api/v1/certificates/{certificate_id}/compiler-edits"),
    include_in_schema=False,
)
async def certificate_edits_save(request: Request, certificate_id: int) -> Response:
    """One tab's form: only its fields change; a refusal re-renders the tab with what was typed."""
    form = await request.form()
    tab = "results" if form.get("tab") == "results" else "cover"
    values = {k: form.get(k) for k, f in ce.FIELDS.items() if f.tab == tab and k in form}
    try:
        await ce.save(certificate_id, request.user, values, replace=False)
    except UserError as exc:
        if exc.status_code not in (400, 409):
            raise
        errors = {str(p["key"]): str(p["message"]) for p in exc.extra or [] if isinstance(p, dict)}
        return await _tab_page(
            request,
            certificate_id,
            tab,
            values=values,
            errors=errors,
            message=str(exc.detail),
            status_code=exc.status_code,
        )
    return see_other(f"/certificates/{certificate_id}/{tab}?saved=1")


@get(
    "/certificates/{certificate_id:int}/pdf",
    opt=perm("certificates.view", api="GET /api/v1/certificates/{certificate_id}/pdf"),
    include_in_schema=False,
)
async def certificate_pdf(certificate_id: int) -> Response:
    return _pdf(*await services.pdf_of(certificate_id))


@get(
    "/certificates/{certificate_id:int}/dcc.xml",
    opt=perm("certificates.view", api="GET /api/v1/certificates/{certificate_id}/dcc.xml"),
    include_in_schema=False,
)
async def certificate_dcc(certificate_id: int) -> Response:
    data, filename = await services.dcc_of(certificate_id)
    return api.file_response(data, api.XML, filename, inline=False)


@post(
    "/certificates/{certificate_id:int}/issue",
    opt=perm("certificates.issue", api="POST /api/v1/certificates/{certificate_id}/issue"),
    include_in_schema=False,
)
async def certificate_issue(request: Request, certificate_id: int) -> Response:
    with contextlib.suppress(services.IssueFailed):  # the page shows issue_error and "retry"
        await services.issue(certificate_id, user=request.user)
    return see_other(f"/certificates/{certificate_id}")


@post(
    "/certificates/{certificate_id:int}/recall",
    opt=perm("certificates.void", api="POST /api/v1/certificates/{certificate_id}/recall"),
    include_in_schema=False,
)
async def certificate_recall(request: Request, certificate_id: int) -> Response:
    form = await form_dict(request)
    await services.recall(
        certificate_id, form.get("reason", ""), request.user, form.get("password")
    )
    return see_other(f"/certificates/{certificate_id}")


# ── printing (§5.8.11) ────────────────────────────────────────────────────────────────────


@get(
    "/certificates/print",
    opt=perm("certificates.print", api="GET /api/v1/certificates/to-print"),
    include_in_schema=False,
)
async def print_list(
    request: Request,
    print_status: SearchText = "待打印",
    q: SearchText = "",
    kind: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    rows, total, pages = await printing.search(print_status, q, kind, page_no)
    return page(
        "certificates/print.html",
        print_status=printing.print_status,
        title=_("证书打印"),
        rows=rows,
        total=total,
        pages=pages,
        page_no=page_no,
        kinds=KINDS,
        query={"print_status": print_status, "q": q, "kind": kind},
        record_print=_record_print_available(),
    )


@get(
    "/certificates/print/export",
    opt=perm("certificates.print", api="GET /api/v1/certificates/to-print/export"),
    include_in_schema=False,
)
async def print_list_export(
    print_status: SearchText = "待打印",
    q: SearchText = "",
    kind: SearchText = "",
    format: SearchText = "",
) -> Response:
    return await api.print_export(q, kind, print_status, format)


@post(
    "/certificates/print",
    opt=perm("certificates.print", api="POST /api/v1/certificates/print"),
    include_in_schema=False,
    status_code=200,
)
async def print_many(request: Request) -> Response:
    form = await request.form()
    one = str(form.get("one") or "")
    if one.isdigit():  # a row's own button: just that certificate, whatever else is ticked
        ids = [int(one)]
    else:
        ids = [int(v) for v in form.getall("ids") if str(v).isdigit()] if "ids" in form else []
    ids = ids[: printing.MAX_BATCH + 1]  # print_pdf refuses more than MAX_BATCH, naming the limit
    pdf = await printing.print_pdf(ids, request.user, str(form.get("reason") or ""))
    return _pdf(pdf, printing.print_filename(ids))


def _record_print_available() -> bool:
    try:
        from metrolab.records.tables import OriginalRecord  # noqa: F401
    except ImportError:
        return False
    return True


@get(
    "/certificates/records/{record_id:int}/print",
    opt=perm("certificates.print", api="GET /api/v1/certificates/records/{record_id}/print"),
    include_in_schema=False,
)
async def record_print(record_id: int) -> Template:
    """A printable original record (the form engine's "view" mode under its pinned version)."""
    from metrolab.certificates.record_view import printable_record

    view = await printable_record(record_id)
    return page("certificates/record_print.html", title=view["title"], v=view)


# ── numbers ───────────────────────────────────────────────────────────────────────────────


@get("/certificates/numbers", opt=perm("certificates.void"), include_in_schema=False)
async def numbers_page() -> Template:
    return page(
        "certificates/numbers.html",
        title=_("作废证书编号"),
        rows=await numbers.voided_numbers(),
        values={},
        errors={},
    )


@post(
    "/certificates/numbers/void",
    opt=perm("certificates.void", api="POST /api/v1/certificates/numbers/void"),
    include_in_schema=False,
)
async def number_void(request: Request) -> Response:
    form = await form_dict(request)
    try:
        await services.void_number(
            form.get("number", ""),
            form.get("reason", ""),
            request.user,
            password=form.get("password") or None,
        )
    except UserError as exc:
        return page(
            "certificates/numbers.html",
            status_code=exc.status_code,
            title=_("作废证书编号"),
            rows=await numbers.voided_numbers(),
            values=form,
            errors={_refused_field(exc, "number"): exc.detail},
        )
    return see_other("/certificates/numbers")


def _refused_field(exc: UserError, default: str) -> str:
    """The input a refusal is about: the signing password's own, else ``default``."""
    from metrolab.kernel.errors import PasswordProblem

    return "password" if isinstance(exc, PasswordProblem) else default


router = Router(
    path="/",
    route_handlers=[
        template_list,
        template_new,
        template_create,
        template_detail,
        template_version_upload,
        template_submit,
        template_approve,
        template_return,
        template_retire,
        template_preview,
        template_download,
        certificate_list,
        certificate_list_export,
        certificate_detail,
        certificate_cover,
        certificate_standards,
        certificate_results,
        certificate_view,
        certificate_edits_save,
        certificate_pdf,
        certificate_dcc,
        certificate_issue,
        certificate_recall,
        print_list,
        print_list_export,
        print_many,
        record_print,
        numbers_page,
        number_void,
        *api.HANDLERS,
        verify_routes.router,
    ],
)
