"""The audit log page (查看审计日志) and its xlsx download; the JSON twins are in api.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.response import Template

from metrolab.audit import api, services
from metrolab.kernel.errors import Refused
from metrolab.web.i18n import _
from metrolab.web.pages import page
from metrolab.web.params import PageNo, SearchText
from metrolab.web.permissions import perm


def _filters(query: dict[str, str]) -> services.Filters:
    return services.Filters(
        actor=query["actor"],
        action=query["action"],
        target_type=query["target_type"],
        target_id=query["target_id"],
        start=services.parse_day(query["start"], _("起始日期")),
        end=services.parse_day(query["end"], _("截止日期")),
    )


@get("/audit", opt=perm("audit.view"), include_in_schema=False)
async def audit_page(
    request: Request,
    actor: SearchText = "",
    action: SearchText = "",
    target_type: SearchText = "",
    target_id: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
    page_no: PageNo = 1,
) -> Template:
    query = {
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "start": start,
        "end": end,
    }
    rows: list[dict[str, Any]] = []
    more, error = False, ""
    try:
        rows, more = await services.events(_filters(query), page_no)
    except Refused as exc:
        error = exc.detail
    return page(
        "audit/events.html",
        status_code=400 if error else 200,
        title=_("审计日志"),
        query=query,
        rows=rows,
        page_no=page_no,
        has_next=more,
        actions=services.action_choices(),
        objects=services.object_choices(),
        error=error,
    )


@get(
    "/audit/export.xlsx",
    opt=perm("audit.view", api="GET /api/v1/audit/events/export.xlsx"),
    include_in_schema=False,
)
async def audit_export(
    actor: SearchText = "",
    action: SearchText = "",
    target_type: SearchText = "",
    target_id: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
) -> Response:
    query = {
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "start": start,
        "end": end,
    }
    rows = await services.export_rows(_filters(query))
    return api.xlsx_response(services.export_xlsx(rows))


router = Router(path="/", route_handlers=[audit_page, audit_export, *api.HANDLERS])
