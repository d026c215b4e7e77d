"""The public verification pages (§5.3 证书核查, §7.2.3 二维码): no login."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from metrolab.certificates import signing, verification
from metrolab.certificates.tables import VerificationScan
from metrolab.kernel.errors import NotFound, Refused
from metrolab.settings import get_settings
from metrolab.web.api import errors
from metrolab.web.i18n import _
from metrolab.web.pages import page, read_upload, see_other
from metrolab.web.permissions import PUBLIC

NOT_GENUINE = "证书不存在或二维码不是本机构签发的"


def _address(request: Request) -> str:
    return (request.client.host if request.client else "")[:64]


async def _log_scan(request: Request, token: str, info: dict[str, Any], result: str) -> None:
    await VerificationScan.insert(
        VerificationScan(
            token=token[:300],
            certificate=info.get("id"),
            ip=_address(request),
            user_agent=request.headers.get("user-agent", "")[:300],
            result=result,
        )
    )


async def _seal(info: dict[str, Any]) -> dict[str, Any] | None:
    """The certificate's SM2 seal, verified now over the stored file's SM3 digest."""
    from metrolab import storage

    seal = (info.get("signature") or {}).get("sm2")
    if not seal or not storage.exists(info["pdf_sha256"]):
        return None
    pdf = await anyio.to_thread.run_sync(storage.get, info["pdf_sha256"])
    return {**seal, "valid": await anyio.to_thread.run_sync(signing.seal_valid, pdf, seal)}


def _not_genuine() -> Template:
    return page(
        "certificates/not_genuine.html",
        status_code=404,
        title=_(NOT_GENUINE),
        message=_(NOT_GENUINE),
    )


@get("/verify/{token:str}", opt=PUBLIC, include_in_schema=False)
async def verify_page(request: Request, token: str) -> Template:
    info = await verification.verify_status(token)
    await _log_scan(request, token, info, info["state"])
    if not info["genuine"]:
        return _not_genuine()
    return page(
        "certificates/verify.html",
        title=_("证书查询"),
        info=info,
        token=token,
        check=None,
        seal=await _seal(info),
        dcc=verification.offers_dcc(info),
    )


async def check_file(info: dict[str, Any], data: bytes) -> tuple[int, dict[str, Any]]:
    """(status, result) of checking an uploaded file against this certificate: is it the issued
    file (SHA-256), is the lab's PAdES signature intact, does the SM2 seal verify. Junk, empty and
    oversized input are answered in 中文 with a 4xx, never a server error."""
    limit = get_settings().upload_max_bytes
    if not data:
        return 400, {"ok": False, "message": _("请选择要核对的 PDF 文件")}
    if len(data) > limit:
        from metrolab.web.templating import upload_max_mb

        return 413, {
            "ok": False,
            "message": _("文件过大：上传的文件不能超过 {limit}", limit=upload_max_mb()),
        }
    if not signing.looks_like_pdf(data):
        return 415, {"ok": False, "message": _("该文件不是 PDF 文件：请上传您收到的证书 PDF")}
    digest = hashlib.sha256(data).hexdigest()
    match = digest == info["pdf_sha256"]
    seal = (info.get("signature") or {}).get("sm2")
    sig = await anyio.to_thread.run_sync(signing.check_pdf, data, seal)
    if not sig.get("readable", True):
        return 422, {
            "ok": False,
            "sha256": digest,
            "message": _("无法读取该 PDF 文件：文件已损坏或不完整"),
        }
    return (200 if match else 400), {
        "ok": match,
        "match": match,
        "sha256": digest,
        "expected_sha256": info["pdf_sha256"],
        "message": _("一致：该文件就是本机构出具的证书 PDF")
        if match
        else _("不一致：该文件不是本机构出具的这份证书 PDF，或已被修改"),
        "signature": _signature_view(sig),
        "sm2": {"present": sig["sm2"]["present"], "valid": sig["sm2"]["valid"]},
    }


def _signature_view(sig: dict[str, Any]) -> dict[str, Any]:
    keys = ("ok", "label", "signed", "intact", "valid", "trusted", "whole_file", "signer",
            "reason", "location", "signed_at", "timestamp")  # fmt: skip
    view = {k: sig.get(k) for k in keys}
    label = str(sig["label"])  # one of signing's N_() labels
    view["label"] = _(label)
    return view


@post("/verify/{token:str}/check", opt=PUBLIC, include_in_schema=False)
async def verify_check(request: Request, token: str) -> Template:
    info = await verification.verify_status(token)
    if not info["genuine"]:
        await _log_scan(request, token, info, "not_genuine")
        return _not_genuine()
    data, _name = await read_upload(request)
    status, check = await check_file(info, data)
    await _log_scan(request, token, info, "pdf_match" if check["ok"] else "pdf_mismatch")
    return page(
        "certificates/verify.html",
        status_code=status,
        title=_("证书查询"),
        info=info,
        token=token,
        check=check,
        seal=await _seal(info),
        dcc=verification.offers_dcc(info),
    )


@dataclass
class CheckUpload:
    """multipart/form-data: the certificate PDF to check in ``file``."""

    file: UploadFile


@post(
    "/api/v1/verify/{token:str}/check",
    opt={**PUBLIC, "exclude_from_csrf": True},  # no login, so no ambient credential to forge
    tags=["verify"],
    summary="核验证书文件（公开）：是否本机构出具的这份证书，签名是否完好",
    responses=errors(404, 413, 415, 422),
    status_code=200,
)
async def api_verify_check(
    request: Request,
    token: str,
    data: Annotated[CheckUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response:
    info = await verification.verify_status(token)
    if not info["genuine"]:
        await _log_scan(request, token, info, "not_genuine")
        raise NotFound(NOT_GENUINE)
    body = b""
    if isinstance(data.file, UploadFile):
        body = await data.file.read(get_settings().upload_max_bytes + 1)
    status, check = await check_file(info, body)
    await _log_scan(request, token, info, "pdf_match" if check["ok"] else "pdf_mismatch")
    if status >= 400 and "match" not in check:
        raise Refused(check["message"], status_code=status)
    return Response(content=check, status_code=status, media_type="application/json")


@get("/verify/{token:str}/dcc.xml", opt=PUBLIC, include_in_schema=False)
async def verify_dcc(request: Request, token: str) -> Response:
    """The DCC of an issued, standing certificate, for whoever holds its QR code."""
    from metrolab.certificates import services

    info = await verification.verify_status(token)
    if not info["genuine"]:
        await _log_scan(request, token, info, "not_genuine")
        return _not_genuine()
    if not verification.offers_dcc(info):
        await _log_scan(request, token, info, "dcc_refused")
        label = info["status"]
        message = _("该证书{status}，不提供数字证书（DCC）", status=_(label))
        return page(
            "certificates/not_genuine.html", status_code=404, title=message, message=message
        )
    data, filename = await services.dcc_of(info["id"])
    await _log_scan(request, token, info, "dcc")
    return Response(
        content=data,
        media_type="application/xml",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@get("/verify", opt=PUBLIC, include_in_schema=False)
async def verify_lookup(request: Request, number: str = "", serial: str = "") -> Response:
    """§5.3 证书核查: certificate number + last 4 characters of the 出厂编号."""
    if not number and not serial:
        return page("certificates/lookup.html", title=_("证书核查"), values={}, message="")
    values = {"number": number, "serial": serial}
    try:
        found = await verification.throttled_lookup(number, serial, _address(request))
    except verification.LookupThrottled as exc:
        await _log_scan(request, f"lookup:{number}"[:300], {}, "lookup_throttled")
        return Template(
            template_name="certificates/lookup.html",
            context={
                "title": _("证书核查"),
                "values": values,
                "message": _(
                    "查询过于频繁：同一地址 {minutes} 分钟内最多 {limit} 次未找到证书的查询，"
                    "请 {seconds} 秒后再试",
                    minutes=verification.LOOKUP_WINDOW.seconds // 60,
                    limit=verification.LOOKUP_FAILURES,
                    seconds=exc.retry_after,
                ),
            },
            status_code=exc.status_code,
            headers={"retry-after": str(exc.retry_after)},
        )
    await _log_scan(
        request, f"lookup:{number}"[:300], {}, "lookup_found" if found else "lookup_none"
    )
    if found:
        return see_other(f"/verify/{found['verify_token']}")
    return page(
        "certificates/lookup.html",
        status_code=404,
        title=_("证书核查"),
        values=values,
        message=_("没有找到该证书：请核对证书编号和出厂编号后 4 位"),
    )


router = Router(
    path="/",
    route_handlers=[verify_page, verify_check, api_verify_check, verify_dcc, verify_lookup],
)
