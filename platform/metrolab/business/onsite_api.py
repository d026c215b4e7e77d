"""JSON twins under /api/v1 of the 安排下厂 / 下厂单 / 完成入库 pages (onsite_routes.py): the same
service functions, permissions and 中文 field problems (in ``errors``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post

from metrolab.business import onsite, services, storage_in
from metrolab.business.api import TAGS, _entrustment
from metrolab.web.api import errors
from metrolab.web.params import Id, StructId
from metrolab.web.permissions import perm

Text100 = Annotated[str, msgspec.Meta(max_length=100)]
Text300 = Annotated[str, msgspec.Meta(max_length=300)]
Text2000 = Annotated[str, msgspec.Meta(max_length=services.MAX_TEXT)]


class OnsiteIn(msgspec.Struct, forbid_unknown_fields=True):
    staff: Annotated[list[StructId], msgspec.Meta(max_length=onsite.MAX_STAFF)]
    planned_date: date
    return_date: date | None = None
    vehicle: Annotated[str, msgspec.Meta(max_length=20)] = ""
    address: Text300 = ""
    site_contact: Text100 = ""
    site_phone: Annotated[str, msgspec.Meta(max_length=50)] = ""
    remarks: Text2000 = ""
    lock_version: StructId | None = None


class StoreIn(msgspec.Struct, forbid_unknown_fields=True):
    location: Text100
    receiver: StructId
    count: Annotated[int, msgspec.Meta(ge=0, le=services.MAX_QUANTITY * 200)]
    remarks: Text2000 = ""
    lock_version: StructId | None = None


async def _with_onsite(entrustment_id: int) -> dict[str, Any]:
    e = await _entrustment(entrustment_id)
    e["onsite_order"] = await onsite.order_of(entrustment_id)
    e["storage"] = await storage_in.storage_of(entrustment_id)
    e["archived_records"] = sorted(await storage_in.archived_records(entrustment_id))
    return e


@post(
    "/api/v1/entrustments/{entrustment_id:int}/onsite",
    opt=perm("business.entrust"),
    tags=TAGS,
    summary="安排下厂：下厂人员（检定员）、计划下厂/返回日期、车辆、现场地址与联系人、备注",
    status_code=200,
    responses=errors(404, 409),
)
async def api_onsite_schedule(
    request: Request, entrustment_id: Id, data: OnsiteIn
) -> dict[str, Any]:
    await onsite.schedule(
        entrustment_id,
        request.user,
        staff=list(data.staff),
        planned_date=data.planned_date,
        return_date=data.return_date,
        vehicle=data.vehicle,
        address=data.address,
        site_contact=data.site_contact,
        site_phone=data.site_phone,
        remarks=data.remarks,
        expected_lock=data.lock_version,
    )
    return await _with_onsite(entrustment_id)


@get(
    "/api/v1/entrustments/{entrustment_id:int}/onsite",
    opt=perm("business.view"),
    tags=TAGS,
    summary="下厂单的内容：委托单、下厂人员、日期、车辆、现场地址与联系人、器具",
    responses=errors(404),
)
async def api_onsite_order(entrustment_id: Id) -> dict[str, Any]:
    order = await onsite.get_order(entrustment_id)
    order["entrustment_row"] = await services.get_entrustment(entrustment_id)
    order["tasks"] = await services.tasks_of(entrustment_id)
    return order


@post(
    "/api/v1/entrustments/{entrustment_id:int}/onsite/print",
    opt=perm("business.view"),
    tags=TAGS,
    summary="打印下厂单（科室确认后为流转步骤“打印下厂单”，记入流转记录）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_onsite_print(request: Request, entrustment_id: Id) -> dict[str, Any]:
    await onsite.print_order(entrustment_id, request.user)
    return await _with_onsite(entrustment_id)


@post(
    "/api/v1/entrustments/{entrustment_id:int}/store",
    opt=perm("business.receive"),
    tags=TAGS,
    summary="完成入库：存放位置、接收人、件数（不超过接收数量）、备注；原始记录随仪表归档",
    status_code=200,
    responses=errors(404, 409),
)
async def api_store(request: Request, entrustment_id: Id, data: StoreIn) -> dict[str, Any]:
    await storage_in.store(
        entrustment_id,
        request.user,
        location=data.location,
        receiver=data.receiver,
        count=data.count,
        remarks=data.remarks,
        expected_lock=data.lock_version,
    )
    return await _with_onsite(entrustment_id)


HANDLERS = [api_onsite_schedule, api_onsite_order, api_onsite_print, api_store]
