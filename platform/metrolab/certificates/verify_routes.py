"""The public verification pages (§5.3 证书核查, §7.2.3 二维码): no login."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from metrolab.certificates import verification
from metrolab.certificates.tables import VerificationScan
from metrolab.settings import get_settings
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
        dcc=verification.offers_dcc(info),
    )


@post("/verify/{token:str}/check", opt=PUBLIC, include_in_schema=False)
async def verify_check(request: Request, token: str) -> Template:
    info = await verification.verify_status(token)
    if not info["genuine"]:
        await _log_scan(request, token, info, "not_genuine")
        return _not_genuine()
    data, _name = await read_upload(request)
    if not data:
        check = {"ok": False, "message": _("请选择要核对的 PDF 文件")}
    elif len(data) > get_settings().upload_max_bytes:
        check = {"ok": False, "message": _("文件过大")}
    else:
        digest = hashlib.sha256(data).hexdigest()
        ok = digest == info["pdf_sha256"]
        check = {
            "ok": ok,
            "sha256": digest,
            "message": _("一致：该文件就是本机构出具的证书 PDF")
            if ok
            else _("不一致：该文件不是本机构出具的这份证书 PDF，或已被修改"),
        }
    await _log_scan(request, token, info, "pdf_match" if check["ok"] else "pdf_mismatch")
    return page(
        "certificates/verify.html",
        status_code=200 if check["ok"] else 400,
        title=_("证书查询"),
        info=info,
        token=token,
        check=check,
        dcc=verification.offers_dcc(info),
    )


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


router = Router(path="/", route_handlers=[verify_page, verify_check, verify_dcc, verify_lookup])
