"""JSON API of the audit log under /api/v1: the twins of the /audit page and its xlsx download."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Response, get

from metrolab.audit import services
from metrolab.statistics.exports import XLSX
from metrolab.web.api import errors
from metrolab.web.params import OptionalCode, PageNo, SearchText
from metrolab.web.permissions import perm

TAGS = ["audit"]


def _filters(
    actor: str,
    action: str | None,
    target_type: str | None,
    target_id: str,
    start: date | None,
    end: date | None,
) -> services.Filters:
    return services.Filters(actor, action or "", target_type or "", target_id, start, end)


@get(
    "/api/v1/audit/events",
    opt=perm("audit.view"),
    tags=TAGS,
    summary="查询审计日志（最新在前，每页 50 条）",
    responses=errors(),
)
async def api_events(
    actor: SearchText = "",
    action: OptionalCode = None,
    target_type: OptionalCode = None,
    target_id: SearchText = "",
    start: date | None = None,
    end: date | None = None,
    page_no: PageNo = 1,
) -> dict[str, Any]:
    f = _filters(actor, action, target_type, target_id, start, end)
    rows, more = await services.events(f, page_no)
    return {"page_no": page_no, "page_size": services.PAGE_SIZE, "has_next": more, "events": rows}


@get(
    "/api/v1/audit/events/export.xlsx",
    opt=perm("audit.view"),
    tags=TAGS,
    summary="导出审计日志（xlsx，按筛选条件）",
    media_type=XLSX,
    responses=errors(),
)
async def api_events_xlsx(
    actor: SearchText = "",
    action: OptionalCode = None,
    target_type: OptionalCode = None,
    target_id: SearchText = "",
    start: date | None = None,
    end: date | None = None,
) -> Response:
    f = _filters(actor, action, target_type, target_id, start, end)
    return xlsx_response(services.export_xlsx(await services.export_rows(f)))


def xlsx_response(data: bytes) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"content-disposition": 'attachment; filename="audit-log.xlsx"'},
    )


HANDLERS = [api_events, api_events_xlsx]
