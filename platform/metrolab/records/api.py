"""JSON API of the records feature under /api/v1: the twins of the record pages (create, compute,
autosave, save with a reason) and the queries behind them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post, put

from metrolab.kernel.paging import envelope
from metrolab.records import services
from metrolab.web.api import errors
from metrolab.web.params import Id, LongText, PageNo, SearchText, ShortText, StructId
from metrolab.web.permissions import perm

TAGS = ["records"]
EDIT, VIEW = perm("records.edit"), perm("records.view")

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# A record's values are free JSON (the form definition says what they are): bounded in size here,
# checked field by field by the form engine (a 中文 problem per field).
Values = Annotated[dict[Key, Any], msgspec.Meta(max_length=2000)]
HeaderValue = LongText | StructId | Annotated[list[ShortText], msgspec.Meta(max_length=50)] | None
Header = Annotated[dict[Key, HeaderValue], msgspec.Meta(max_length=50)]
TypeCode = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")]


class NewRecord(msgspec.Struct, forbid_unknown_fields=True):
    customer: StructId
    instrument_type: TypeCode
    instrument_name: ShortText = ""
    verified_on: date | None = None


class Filled(msgspec.Struct, forbid_unknown_fields=True):
    """What the record page posts: the form's values and the header (送检单位, 检定日期 …)."""

    data: Values = {}
    header: Header | None = None


class Draft(Filled, forbid_unknown_fields=True):
    """An autosave; `page` + `seq` (optional) order one client's saves that may arrive out of order:
    a save with a lower seq than the last one kept from the same page is dropped."""

    page: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{1,32}$")] | None = None
    seq: StructId | None = None


class Saved(Filled, forbid_unknown_fields=True):
    reason: LongText = ""  # 修改原因: required once the record has been saved


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _problems(
    evaluation: services.Evaluation | None, header_errors: dict[str, str]
) -> list[dict[str, str]]:
    out = [p.as_dict() for p in (evaluation.problems if evaluation else [])]
    out += [
        {
            "path": f"header.{k}",
            "label_zh": services.HEADER_LABELS.get(k, "修改原因"),
            "message_zh": v,
            "severity": "error",
            "code": "header",
        }
        for k, v in header_errors.items()
    ]
    return [p | {"key": p["path"], "message": f"{p['label_zh']}：{p['message_zh']}"} for p in out]


def _header(rec: dict[str, Any], sent: dict[str, Any] | None) -> dict[str, Any]:
    return services.header_of(rec) | (sent or {})


@get("/api/v1/records", opt=VIEW, tags=TAGS, summary="原始记录查询", responses=errors())
async def api_records(
    request: Request,
    q: SearchText = "",
    status: Literal["", "draft", "saved"] = "",
    mine: bool = False,
    page_no: PageNo = 1,
) -> dict[str, Any]:
    """A page of 50, newest first: ``items``, ``total`` (``total_capped`` when the count stopped:
    "more than"), ``pages`` and ``page``, as the certificate lists answer."""
    verifier = request.user.id if mine else None
    rows, total = await services.search(
        q, status, verifier, page_no=page_no, per_page=services.PER_PAGE
    )
    return envelope(_json(rows), total, page_no, services.PER_PAGE)


@post(
    "/api/v1/records",
    opt=EDIT,
    tags=TAGS,
    summary="新建原始记录（草稿）",
    status_code=201,
    responses=errors(409),
)
async def api_create(request: Request, data: NewRecord) -> dict[str, Any]:
    rec = await services.create_draft(
        request.user,
        customer_id=data.customer,
        instrument_type=data.instrument_type,
        instrument_name=data.instrument_name,
        verified_on=data.verified_on,
    )
    return _json(rec)


@get(
    "/api/v1/records/{record_id:int}",
    opt=VIEW,
    tags=TAGS,
    summary="原始记录（archived：随仪表入库归档的位置与时间，未归档为 null；uncertainty：各检定点的不确定度评定与判定规则，器具类型没有评定时为 null）",
    responses=errors(404),
)
async def api_record(record_id: Id) -> dict[str, Any]:
    from metrolab import hooks

    rec = _json(await services.record_or_404(record_id))
    rec["archived"] = _json(await hooks.first("record.archived", record_id))
    raw = await services.record_or_404(record_id)
    rec["uncertainty"] = _json(await hooks.first("record.uncertainty", raw))
    return rec


@post(
    "/api/v1/records/{record_id:int}/compute",
    opt=EDIT,
    tags=TAGS,
    summary="计算（服务器端）：{data, header} → 计算值、结论与问题",
    status_code=200,
    responses=errors(404),
)
async def api_compute(record_id: Id, data: Filled) -> dict[str, Any]:
    rec = await services.record_or_404(record_id)
    pin = await services.pinned(rec["form_version"])
    evaluation = await services.evaluate(
        pin, data.data, _header(rec, data.header), record_id=rec["id"]
    )
    return {
        "data": evaluation.data,
        "conclusion": evaluation.conclusion,
        "problems": _problems(evaluation, {}),
        "items": [
            {
                "path": i.path,
                "code": i.code,
                "label_zh": i.label_zh,
                "result": i.result,
                "conclusion": i.conclusion,
                "unit": i.unit,
            }
            for i in evaluation.items
        ],
    }


@post(
    "/api/v1/records/{record_id:int}/autosave",
    opt=EDIT,
    tags=TAGS,
    summary="自动保存草稿（不校验，所填内容原样保留）",
    status_code=200,
    responses=errors(404, 409),
)
async def api_autosave(request: Request, record_id: Id, data: Draft) -> dict[str, Any]:
    rec = await services.record_or_404(record_id)
    services.ensure_verifier(rec, request.user)
    mark = (data.page, data.seq) if data.page and data.seq else None
    header = _header(rec, data.header)
    saved = await services.autosave(record_id, header, data.data, request.user, mark)
    return _json(saved)


@put(
    "/api/v1/records/{record_id:int}",
    opt=EDIT,
    tags=TAGS,
    summary="保存（{header, data, reason}；已保存的记录修改须填写原因）",
    responses=errors(404, 409),
)
async def api_save(request: Request, record_id: Id, data: Saved) -> dict[str, Any]:
    rec = await services.record_or_404(record_id)
    services.ensure_verifier(rec, request.user)
    outcome = await services.save_audited(
        record_id, _header(rec, data.header), data.data, request.user, data.reason
    )
    if not outcome.saved:
        problems = _problems(outcome.evaluation, outcome.header_errors)
        detail = "；".join(
            f"{p['label_zh']}：{p['message_zh']}" for p in problems if p["severity"] == "error"
        )
        raise services.Refused(detail, extra=problems)
    return {"record": _json(outcome.record), "revision": outcome.revision}


@get(
    "/api/v1/records/{record_id:int}/revisions",
    opt=VIEW,
    tags=TAGS,
    summary="修改记录（划改）",
    responses=errors(404),
)
async def api_revisions(record_id: Id) -> list[dict[str, Any]]:
    await services.record_or_404(record_id)
    return _json(await services.revisions(record_id))


HANDLERS = [api_records, api_create, api_record, api_compute, api_autosave, api_save, api_revisions]
