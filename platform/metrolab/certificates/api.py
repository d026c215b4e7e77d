"""JSON API of the certificates feature under /api/v1: the twins of the template, certificate,
printing and number pages (routes.py), on the same service functions. The public verification pages
are in verify_routes.py; the certificate workflow's steps and approvals are the business feature's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from metrolab.certificates import compiler_edits as ce
from metrolab.certificates import numbers, printing, services
from metrolab.certificates import template_versions as tv
from metrolab.certificates.tables import KINDS
from metrolab.kernel.errors import Refused
from metrolab.web.api import errors
from metrolab.web.params import Id, PageNo, Password, SearchText, ShortText, StructId
from metrolab.web.permissions import perm

TAGS = ["certificates"]
PDF = "application/pdf"
XML = "application/xml"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
Kind = Literal["", "检定证书", "检定结果通知书"]
PrintStatus = Literal["", "待打印", "已打印"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


def file_response(data: bytes, media_type: str, filename: str, *, inline: bool = True) -> Response:
    how = "inline" if inline else "attachment"
    return Response(
        content=data,
        media_type=media_type,
        status_code=200,
        headers={"content-disposition": f'{how}; filename="{filename}"'},
    )


# ── certificate templates ─────────────────────────────────────────────────────────────────


@dataclass
class TemplateUpload:
    """multipart/form-data: the .docx in ``file``; ``key``/``name``/``kind`` for a new template."""

    file: UploadFile
    key: str = ""
    name: str = ""
    kind: str = ""


async def _upload_bytes(upload: UploadFile) -> tuple[bytes, str]:
    from metrolab.settings import get_settings

    data = await upload.read(get_settings().upload_max_bytes + 1)
    return data, (upload.filename or "")[:255]


def _refused(exc: tv.TemplateRefused) -> Refused:
    return Refused(
        exc.detail, status_code=400, extra=[{"key": "file", "message": p} for p in exc.problems]
    )


@get(
    "/api/v1/certificate-templates",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书模板列表（含各版本与已发布版本）",
    responses=errors(),
)
async def api_templates() -> list[dict[str, Any]]:
    return await tv.templates()


@post(
    "/api/v1/certificate-templates",
    opt=perm("templates.design"),
    tags=TAGS,
    summary="上传新证书模板（.docx，得到草稿版本 1）",
    status_code=201,
    responses=errors(413),
)
async def api_template_create(
    request: Request,
    data: Annotated[TemplateUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    content, filename = await _upload_bytes(data.file)
    try:
        return await tv.upload(
            content,
            filename,
            request.user,
            key=str(data.key)[:100],
            name=str(data.name)[:200],
            kind=str(data.kind)[:20],
        )
    except tv.TemplateRefused as exc:
        raise _refused(exc) from exc


@get(
    "/api/v1/certificate-templates/{template_id:int}",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书模板详情（版本、使用它的器具类型）",
    responses=errors(404),
)
async def api_template(template_id: Id) -> dict[str, Any]:
    tpl = await tv.get_template(template_id)
    return {
        **tpl,
        "versions": await tv.versions(template_id),
        "used_by": await tv.types_using(tpl["key"], tpl["kind"]),
    }


@post(
    "/api/v1/certificate-templates/{template_id:int}/versions",
    opt=perm("templates.design"),
    tags=TAGS,
    summary="上传证书模板的新版本（.docx，草稿）",
    status_code=201,
    responses=errors(404, 413),
)
async def api_template_version_upload(
    request: Request,
    template_id: Id,
    data: Annotated[TemplateUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    await tv.get_template(template_id)
    content, filename = await _upload_bytes(data.file)
    try:
        return await tv.upload(content, filename, request.user, template_id=template_id)
    except tv.TemplateRefused as exc:
        raise _refused(exc) from exc


@get(
    "/api/v1/certificate-templates/versions/{version_id:int}",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书模板版本详情",
    responses=errors(404),
)
async def api_template_version(version_id: Id) -> dict[str, Any]:
    return await tv.get_version(version_id)


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class ReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


@post(
    "/api/v1/certificate-templates/versions/{version_id:int}/submit",
    opt=perm("templates.design"),
    tags=TAGS,
    summary="提交证书模板版本审核",
    status_code=200,
    responses=errors(404, 409),
)
async def api_template_submit(request: Request, version_id: Id) -> dict[str, Any]:
    await tv.submit(version_id, request.user)
    return await tv.get_version(version_id)


@post(
    "/api/v1/certificate-templates/versions/{version_id:int}/approve",
    opt=perm("templates.review"),
    tags=TAGS,
    summary="批准发布证书模板版本（审核人签名：请求体带密码；不能审批自己上传的模板）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_template_approve(request: Request, version_id: Id, data: ReviewIn) -> dict[str, Any]:
    await tv.approve(version_id, request.user, data.password)
    return await tv.get_version(version_id)


@post(
    "/api/v1/certificate-templates/versions/{version_id:int}/return",
    opt=perm("templates.review"),
    tags=TAGS,
    summary="退回证书模板版本（须填写原因）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_template_return(request: Request, version_id: Id, data: ReturnIn) -> dict[str, Any]:
    await tv.return_version(version_id, request.user, data.reason)
    return await tv.get_version(version_id)


@post(
    "/api/v1/certificate-templates/versions/{version_id:int}/retire",
    opt=perm("templates.design"),
    tags=TAGS,
    summary="停用已发布的证书模板版本（仍被器具类型使用的唯一已发布版本不能停用）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_template_retire(request: Request, version_id: Id) -> dict[str, Any]:
    await tv.retire(version_id, request.user)
    return await tv.get_version(version_id)


@get(
    "/api/v1/certificate-templates/versions/{version_id:int}/preview.pdf",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书模板版本预览（用示例数据生成的 PDF）",
    media_type=PDF,
    responses=errors(404, 422),
)
async def api_template_preview(version_id: Id) -> Response:
    version = await tv.get_version(version_id)
    pdf = await tv.preview_pdf(version_id)
    return file_response(pdf, PDF, f"preview-{version['template_key']}-v{version['number']}.pdf")


@get(
    "/api/v1/certificate-templates/versions/{version_id:int}/template.docx",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="下载证书模板版本的 .docx",
    media_type=DOCX,
    responses=errors(404),
)
async def api_template_download(version_id: Id) -> Response:
    data, filename = await tv.docx_of(version_id)
    return file_response(data, DOCX, filename, inline=False)


# ── certificates ──────────────────────────────────────────────────────────────────────────


async def _search(
    print_status: str, q: str, kind: str, page_no: int, *, printable_only: bool
) -> dict[str, Any]:
    rows, total, pages = await printing.search(
        print_status, q, kind, page_no, printable_only=printable_only
    )
    return {"items": rows, **total.as_json(), "pages": int(pages), "page": page_no}


@get(
    "/api/v1/certificates",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书查询（已出具；按证书编号、送检单位、出厂编号检索）",
    responses=errors(),
)
async def api_certificates(
    q: SearchText = "", kind: Kind = "", print_status: PrintStatus = "", page_no: PageNo = 1
) -> dict[str, Any]:
    return await _search(print_status, q, kind, page_no, printable_only=False)


ExportFormat = Literal["xlsx", "csv"]


async def issued_export(q: str, kind: str, print_status: str, fmt: str) -> Response:
    """证书查询 as xlsx/csv: the same search as the list, every page of it."""
    from metrolab.certificates import list_export
    from metrolab.workflows import services as wf

    rows, _t, _p = await printing.search(
        print_status, q, kind, 1, printable_only=False, per_page=list_export.MAX_EXPORT
    )
    return await list_export.response(
        [r["id"] for r in rows],
        fmt,
        "证书查询",
        "certificates",
        await wf.state_labels("certificate"),
    )


@get(
    "/api/v1/certificates/export",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书查询导出（xlsx / csv，检索条件同证书查询）",
    responses=errors(),
)
async def api_certificates_export(
    q: SearchText = "",
    kind: Kind = "",
    print_status: PrintStatus = "",
    format: ExportFormat = "xlsx",
) -> Response:
    return await issued_export(q, kind, print_status, format)


async def print_export(q: str, kind: str, print_status: str, fmt: str) -> Response:
    """证书打印 as xlsx/csv: the same search as the print queue (printable certificates only)."""
    from metrolab.certificates import list_export
    from metrolab.workflows import services as wf

    rows, _t, _p = await printing.search(
        print_status, q, kind, 1, printable_only=True, per_page=list_export.MAX_EXPORT
    )
    return await list_export.response(
        [r["id"] for r in rows],
        fmt,
        "证书打印",
        "certificates-to-print",
        await wf.state_labels("certificate"),
    )


@get(
    "/api/v1/certificates/to-print/export",
    opt=perm("certificates.print"),
    tags=TAGS,
    summary="证书打印列表导出（xlsx / csv，检索条件同证书打印）",
    responses=errors(),
)
async def api_print_list_export(
    q: SearchText = "",
    kind: Kind = "",
    print_status: PrintStatus = "待打印",
    format: ExportFormat = "xlsx",
) -> Response:
    return await print_export(q, kind, print_status, format)


@get(
    "/api/v1/certificates/to-print",
    opt=perm("certificates.print"),
    tags=TAGS,
    summary="证书打印列表（待打印 / 已打印，不含已撤回、被替代、作废的）",
    responses=errors(),
)
async def api_print_list(
    q: SearchText = "", kind: Kind = "", print_status: PrintStatus = "待打印", page_no: PageNo = 1
) -> dict[str, Any]:
    return await _search(print_status, q, kind, page_no, printable_only=True)


@get(
    "/api/v1/certificates/{certificate_id:int}",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书详情",
    responses=errors(404),
)
async def api_certificate(certificate_id: Id) -> dict[str, Any]:
    return await services.get_certificate(certificate_id)


async def content_body(request: Request, certificate_id: int) -> dict[str, Any]:
    """The certificate's content (derived from its record while 编制中) and who may edit it."""
    from metrolab.engine.documents.render import to_plain
    from metrolab.workflows import services as wf

    cert = await ce.certificate(certificate_id)
    content, problem = await ce.current_content(cert)
    refusal = await ce.refusal(cert, request.user)
    return {
        "id": cert["id"],
        "status": cert["status"],
        "status_label": (await wf.state_labels("certificate")).get(cert["status"], ""),
        "editable": refusal is None,
        "refusal": refusal or "",
        "problem": problem,
        "content": to_plain(content),
        "compiler_edits": cert.get("compiler_edits") or {},
        "fields": {
            k: {"label": f.label, "max_chars": f.max_chars, "max_lines": f.max_lines}
            for k, f in ce.FIELDS.items()
        },
    }


@get(
    "/api/v1/certificates/{certificate_id:int}/content",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书内容（由原始记录得出）与编制人的编辑",
    responses=errors(404),
)
async def api_certificate_content(request: Request, certificate_id: Id) -> dict[str, Any]:
    return await content_body(request, certificate_id)


@put(
    "/api/v1/certificates/{certificate_id:int}/compiler-edits",
    opt=perm("business.compile"),
    tags=TAGS,
    summary="编制人编辑证书（备注、送检单位地址、检定地点；仅编制中）",
    request_max_body_size=64 * 1024,
    responses=errors(404, 409, 413),
)
async def api_compiler_edits(
    request: Request, certificate_id: Id, data: dict[str, Any]
) -> dict[str, Any]:
    # A small free object: ce.validate names each unknown or record-owned key in 中文.
    await ce.save(certificate_id, request.user, data, replace=True)
    return await content_body(request, certificate_id)


@get(
    "/api/v1/certificates/{certificate_id:int}/pdf",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="下载已出具证书的 PDF",
    media_type=PDF,
    responses=errors(404),
)
async def api_certificate_pdf(certificate_id: Id) -> Response:
    data, filename = await services.pdf_of(certificate_id)
    return file_response(data, PDF, filename)


@get(
    "/api/v1/certificates/{certificate_id:int}/dcc.xml",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="下载已出具证书的数字校准证书（DCC XML，PTB DCC 3.1.2）",
    description="由证书出具时的内容生成，并已按随附的 dcc.xsd 3.1.2 / SI_Format.xsd 2.1.0 校验；"
    "未通过校验时返回 422，不提供文件。",
    media_type=XML,
    responses=errors(404, 409, 422),
)
async def api_certificate_dcc(certificate_id: Id) -> Response:
    data, filename = await services.dcc_of(certificate_id)
    return file_response(data, XML, filename, inline=False)


@get(
    "/api/v1/certificates/{certificate_id:int}/signature",
    opt=perm("certificates.view"),
    tags=TAGS,
    summary="证书 PDF 的签名状态（PAdES 签名、时间戳、国密 SM2 签章，当场校验）",
    responses=errors(404),
)
async def api_certificate_signature(certificate_id: Id) -> dict[str, Any]:
    from metrolab.certificates import signing

    cert = await services.get_certificate(certificate_id)
    return await signing.certificate_status(cert)


@post(
    "/api/v1/certificates/{certificate_id:int}/issue",
    opt=perm("certificates.issue"),
    tags=TAGS,
    summary="出具证书（仅已批准、尚无 PDF 的证书：编号、二维码、PDF；失败后重试）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_issue(request: Request, certificate_id: Id) -> dict[str, Any]:
    return await services.issue(certificate_id, user=request.user)


class RecallIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    password: Password


@post(
    "/api/v1/certificates/{certificate_id:int}/recall",
    opt=perm("certificates.void"),
    tags=TAGS,
    summary="撤回证书（签名：请求体带密码；公开查询页显示“已撤回”）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_recall(request: Request, certificate_id: Id, data: RecallIn) -> dict[str, Any]:
    await services.recall(certificate_id, data.reason, request.user, data.password)
    return await services.get_certificate(certificate_id)


# ── printing ──────────────────────────────────────────────────────────────────────────────


class PrintIn(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[StructId], msgspec.Meta(min_length=1, max_length=printing.MAX_BATCH)]
    reason: ShortText = ""  # required when one of them was printed before (补打)


@post(
    "/api/v1/certificates/print",
    opt=perm("certificates.print"),
    tags=TAGS,
    summary="打印证书（合并的 PDF；已打印过的须填写补打原因）",
    status_code=200,
    media_type=PDF,
    responses=errors(404, 409),
)
async def api_print(request: Request, data: PrintIn) -> Response:
    pdf = await printing.print_pdf(list(data.ids), request.user, data.reason)
    return file_response(pdf, PDF, printing.print_filename(list(data.ids)))


@get(
    "/api/v1/certificates/records/{record_id:int}/print",
    opt=perm("certificates.print"),
    tags=TAGS,
    summary="可打印的原始记录（按其表单版本呈现的 HTML）",
    responses=errors(404),
)
async def api_record_print(record_id: Id) -> dict[str, Any]:
    from metrolab.certificates.record_view import printable_record

    view = await printable_record(record_id)
    rec = view["record"]
    return {
        "record_id": rec["id"],
        "number": rec.get("number"),
        "title": view["title"],
        "html": str(view["html"]),
    }


# ── numbers ───────────────────────────────────────────────────────────────────────────────


class VoidNumberIn(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"^[\w.\-/]+$")]
    reason: Reason
    # Needed when a certificate holds the number: it is voided by the signed 作废 step.
    password: Annotated[str, msgspec.Meta(max_length=200)] | None = None


@get(
    "/api/v1/certificates/numbers/voided",
    opt=perm("certificates.void"),
    tags=TAGS,
    summary="已作废的证书编号",
    responses=errors(),
)
async def api_voided_numbers() -> list[dict[str, Any]]:
    return await numbers.voided_numbers()


@post(
    "/api/v1/certificates/numbers/void",
    opt=perm("certificates.void"),
    tags=TAGS,
    summary="作废证书编号（须填写原因）",
    status_code=200,
    responses=errors(409),
)
async def api_void_number(request: Request, data: VoidNumberIn) -> dict[str, Any]:
    await services.void_number(data.number, data.reason, request.user, password=data.password)
    return {"number": data.number.strip(), "voided": True}


HANDLERS = [
    api_templates,
    api_template_create,
    api_template,
    api_template_version_upload,
    api_template_version,
    api_template_submit,
    api_template_approve,
    api_template_return,
    api_template_retire,
    api_template_preview,
    api_template_download,
    api_certificates,
    api_certificates_export,
    api_print_list,
    api_print_list_export,
    api_certificate,
    api_certificate_content,
    api_compiler_edits,
    api_certificate_pdf,
    api_certificate_dcc,
    api_certificate_signature,
    api_issue,
    api_recall,
    api_print,
    api_record_print,
    api_voided_numbers,
    api_void_number,
]
__all__ = ["HANDLERS", "KINDS", "content_body", "file_response"]
