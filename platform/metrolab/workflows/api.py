"""JSON API of the workflows feature under /api/v1: delay requests (§5.8.10) — the twins of the
/delays pages, on the same service functions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post

from metrolab.engine import workflow as engine
from metrolab.web.api import errors
from metrolab.web.params import Code, Id, Password, SearchText
from metrolab.web.permissions import perm
from metrolab.workflows import services
from metrolab.workflows.tables import DelayRequest

TAGS = ["workflows"]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=services.MAX_SUBJECT)]
Reason = Annotated[str, msgspec.Meta(max_length=services.MAX_REASON, pattern=r"^[^\x00]*$")]


class DelayIn(msgspec.Struct, forbid_unknown_fields=True):
    subject: Subject  # 证书编号或任务
    due_date: date  # 原应完成日期
    new_due_date: date  # 申请完成日期（晚于原应完成日期）
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=services.MAX_REASON)]


class DelayActionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason | None = None  # 驳回 requires one
    password: Password | None = None  # for a signed step
    lock_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None


async def _delay_body(request: Request, delay_id: int) -> dict[str, Any]:
    row = await services.get_delay(delay_id)
    defn, _v = await services.definition(services.DELAY_WF)
    row["actions"] = [
        t.key
        for t in engine.available_actions(
            defn, row["status"], request.user.roles, services.delay_context(row, request.user.id)
        )
    ]
    row["history"] = await services.history(DelayRequest, delay_id)
    return row


@get(
    "/api/v1/delays",
    opt=perm("delays.view"),
    tags=TAGS,
    summary="延时申请查询（按状态、证书编号或任务；最新的 200 条）",
    responses=errors(),
)
async def api_delays(status: SearchText = "", q: SearchText = "") -> list[dict[str, Any]]:
    return await services.delays(status, q)


@get(
    "/api/v1/delays/subjects",
    opt=perm("delays.request"),
    tags=TAGS,
    summary="延时申请对象建议（编号、送检单位或出厂编号包含所输入文字的委托单与证书，及其应完成日期）",
    responses=errors(),
)
async def api_delay_subjects(q: SearchText = "") -> dict[str, Any]:
    return {"items": await services.suggest_subjects(q)}


@post(
    "/api/v1/delays",
    opt=perm("delays.request"),
    tags=TAGS,
    summary="登记延时申请",
    status_code=201,
    responses=errors(),
)
async def api_delay_create(request: Request, data: DelayIn) -> dict[str, Any]:
    values = {k: getattr(data, k) for k in DelayIn.__struct_fields__}
    created = await services.create_delay(values, request.user)
    return await _delay_body(request, created["id"])


@get(
    "/api/v1/delays/{delay_id:int}",
    opt=perm("delays.view"),
    tags=TAGS,
    summary="延时申请及其流转记录",
    responses=errors(404),
)
async def api_delay(request: Request, delay_id: Id) -> dict[str, Any]:
    return await _delay_body(request, delay_id)


@post(
    "/api/v1/delays/{delay_id:int}/{action:str}",
    opt=perm("delays.view"),
    tags=TAGS,
    summary="对延时申请执行动作（批准 / 驳回 / 撤回）",
    status_code=200,
    responses=errors(404, 409, 422),
)
async def api_delay_act(
    request: Request, delay_id: Id, action: Code, data: DelayActionIn | None = None
) -> dict[str, Any]:
    data = data or DelayActionIn()
    applied = await services.act_delay(
        delay_id,
        action,
        request.user,
        reason=data.reason,
        password=data.password,
        expected_lock=data.lock_version,
    )
    body = await _delay_body(request, delay_id)
    return {**body, "from": applied.from_state, "to": applied.to_state}


HANDLERS = [api_delays, api_delay_subjects, api_delay_create, api_delay, api_delay_act]
