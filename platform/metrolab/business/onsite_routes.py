"""Pages of 安排下厂 / 下厂单 (§5.7.5) and 完成入库 (§5.7.6); their API twins are in onsite_api.py."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab.business import onsite, services, storage_in
from metrolab.business.routes import _date, _int
from metrolab.web.errors import UserError, said
from metrolab.web.i18n import _
from metrolab.web.pages import page, see_other
from metrolab.web.params import Id
from metrolab.web.permissions import perm


async def _onsite_page(
    entrustment_id: int, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Template:
    return page(
        "business/onsite_form.html",
        status_code=status_code,
        title=_("安排下厂"),
        e=await services.get_entrustment(entrustment_id),
        tasks=await services.tasks_of(entrustment_id),
        verifiers=await services.verifiers(),
        values=values,
        errors=errors,
    )


@get(
    "/entrustments/{entrustment_id:int}/onsite",
    opt=perm("business.entrust"),
    include_in_schema=False,
)
async def onsite_form(entrustment_id: Id) -> Template:
    return await _onsite_page(entrustment_id, await onsite.defaults(entrustment_id), {})


@post(
    "/entrustments/{entrustment_id:int}/onsite",
    opt=perm("business.entrust", api="POST /api/v1/entrustments/{entrustment_id}/onsite"),
    include_in_schema=False,
)
async def onsite_schedule(request: Request, entrustment_id: Id) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    values["staff"] = [str(v) for v in form.getall("staff", [])]
    try:
        await onsite.schedule(
            entrustment_id,
            request.user,
            staff=[i for i in (_int(v) for v in values["staff"]) if i and i > 0],
            planned_date=_date(values.get("planned_date", "")),
            return_date=_date(values.get("return_date", "")),
            vehicle=values.get("vehicle", ""),
            address=values.get("address", ""),
            site_contact=values.get("site_contact", ""),
            site_phone=values.get("site_phone", ""),
            remarks=values.get("remarks", ""),
            expected_lock=_int(values.get("lock_version")),
        )
    except onsite.OrderProblems as exc:
        return await _onsite_page(entrustment_id, values, exc.said(), 400)
    except UserError as exc:
        if exc.status_code != 400:
            raise
        return await _onsite_page(entrustment_id, values, {"_": said(exc)}, 400)
    return see_other(f"/entrustments/{entrustment_id}")


@get(
    "/entrustments/{entrustment_id:int}/onsite/slip",
    opt=perm("business.view", api="GET /api/v1/entrustments/{entrustment_id}/onsite"),
    include_in_schema=False,
)
async def onsite_slip(entrustment_id: Id) -> Template:
    """下厂单: the printable on-site order, with the entrustment number's QR."""
    from metrolab.engine.documents.qr import qr_png

    order = await onsite.get_order(entrustment_id)
    e = await services.get_entrustment(entrustment_id)
    return page(
        "business/onsite_slip.html",
        title=_("下厂单 {n}", n=e["number"]),
        e=e,
        o=order,
        tasks=await services.tasks_of(entrustment_id),
        qr=base64.b64encode(qr_png(e["number"])).decode(),
    )


@post(
    "/entrustments/{entrustment_id:int}/onsite/print",
    opt=perm("business.view", api="POST /api/v1/entrustments/{entrustment_id}/onsite/print"),
    include_in_schema=False,
)
async def onsite_print(request: Request, entrustment_id: Id) -> Response:
    await onsite.print_order(entrustment_id, request.user)
    return see_other(f"/entrustments/{entrustment_id}/onsite/slip?print=1")


async def _store_page(
    entrustment_id: int, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Template:
    return page(
        "business/storage_form.html",
        status_code=status_code,
        title=_("完成入库"),
        e=await services.get_entrustment(entrustment_id),
        tasks=await services.tasks_of(entrustment_id),
        verifiers=await services.verifiers(),
        received=await storage_in.received_count(entrustment_id),
        values=values,
        errors=errors,
    )


@get(
    "/entrustments/{entrustment_id:int}/store",
    opt=perm("business.receive"),
    include_in_schema=False,
)
async def store_form(request: Request, entrustment_id: Id) -> Template:
    received = await storage_in.received_count(entrustment_id)
    return await _store_page(
        entrustment_id, {"count": str(received), "receiver": str(request.user.id)}, {}
    )


@post(
    "/entrustments/{entrustment_id:int}/store",
    opt=perm("business.receive", api="POST /api/v1/entrustments/{entrustment_id}/store"),
    include_in_schema=False,
)
async def store_do(request: Request, entrustment_id: Id) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    try:
        await storage_in.store(
            entrustment_id,
            request.user,
            location=values.get("location", ""),
            receiver=_int(values.get("receiver")),
            count=_int(values.get("count")),
            remarks=values.get("remarks", ""),
            expected_lock=_int(values.get("lock_version")),
        )
    except onsite.OrderProblems as exc:
        return await _store_page(entrustment_id, values, exc.said(), 400)
    except UserError as exc:  # 还有证书未批准: the page again, what was typed kept
        if exc.status_code not in (400, 409):
            raise
        return await _store_page(entrustment_id, values, {"_": said(exc)}, exc.status_code)
    return see_other(f"/entrustments/{entrustment_id}")


HANDLERS = [onsite_form, onsite_schedule, onsite_slip, onsite_print, store_form, store_do]
