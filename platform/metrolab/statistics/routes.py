"""The statistics page (§5.4.7) and its exports."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from litestar import Response, Router, get
from litestar.response import Template

from metrolab.statistics import customers, exports
from metrolab.statistics.chart import bar_chart
from metrolab.statistics.queries import DIMENSIONS, SOURCES, Row, grouped
from metrolab.web.errors import UserError
from metrolab.web.i18n import _
from metrolab.web.pages import page
from metrolab.web.params import SearchText
from metrolab.web.permissions import perm


def _date(value: str, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UserError(status_code=400, detail=f"{label}：日期格式应为 YYYY-MM-DD") from exc


def _conclusions(rows: list[Row]) -> list[str]:
    seen = {c for r in rows for c in r.by_conclusion}
    return [c for c in ("合格", "不合格", "待定") if c in seen] + sorted(
        seen - {"合格", "不合格", "待定"}
    )


def _table(rows: list[Row], dimension: str) -> tuple[list[str], list[list[Any]]]:
    conclusions = _conclusions(rows)
    header = [DIMENSIONS[dimension], "合计", *conclusions, "合格率"]
    body = [
        [r.key, r.total, *[r.by_conclusion.get(c, 0) for c in conclusions], r.pass_rate]
        for r in rows
    ]
    return header, body


@get("/statistics", opt=perm("statistics.view"), include_in_schema=False)
async def statistics_page(
    source: str = "certificates",
    group: str = "month",
    start: str = "",
    end: str = "",
    instrument_type: str = "",
    conclusion: str = "",
    format: str = "",
) -> Response | Template:
    if source not in SOURCES or group not in DIMENSIONS:
        raise UserError(status_code=400, detail="统计对象或分组方式不正确")
    start_d, end_d = _date(start, "开始日期"), _date(end, "结束日期")
    rows = await grouped(
        source,
        group,
        start_d,
        end_d,
        {"instrument_type": instrument_type, "conclusion": conclusion},
    )
    header, body = _table(rows, group)
    filename = f"statistics-{source}-{group}"
    if format == "csv":
        return Response(
            exports.csv_text(header, body),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
        )
    if format == "xlsx":
        return Response(
            exports.xlsx_bytes(SOURCES[source], header, body),
            media_type=exports.XLSX,
            headers={"content-disposition": f'attachment; filename="{filename}.xlsx"'},
        )
    query = {
        "source": source,
        "group": group,
        "start": start,
        "end": end,
        "instrument_type": instrument_type,
        "conclusion": conclusion,
    }
    return page(
        "statistics/index.html",
        title=_("统计查询"),
        header=header,
        body=body,
        query=query,
        chart=bar_chart(rows),
        dimensions=DIMENSIONS,
        sources=SOURCES,
        total=sum(r.total for r in rows),
    )


@get("/api/v1/statistics", opt=perm("statistics.view"), tags=["statistics"], summary="统计查询")
async def api_statistics(
    source: str = "certificates", group: str = "month", start: str = "", end: str = ""
) -> dict[str, Any]:
    if source not in SOURCES or group not in DIMENSIONS:
        raise UserError(status_code=400, detail="统计对象或分组方式不正确")
    rows = await grouped(source, group, _date(start, "开始日期"), _date(end, "结束日期"))
    return {
        "source": source,
        "group": group,
        "rows": [{"key": r.key, "total": r.total, "by_conclusion": r.by_conclusion} for r in rows],
    }


def _download(fmt: str, header: Any, body: list[list[Any]], title: str, filename: str) -> Response:
    if fmt == "csv":
        return Response(
            exports.csv_text(header, body),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
        )
    return Response(
        exports.xlsx_bytes(title, header, body),
        media_type=exports.XLSX,
        headers={"content-disposition": f'attachment; filename="{filename}.xlsx"'},
    )


@get("/statistics/customers", opt=perm("statistics.view"), include_in_schema=False)
async def customer_statistics_page(
    q: SearchText = "",
    category: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
    format: SearchText = "",
) -> Response | Template:
    """客户明细查询: all customers side by side, exported as xlsx / csv (§5.9)."""
    rows = await customers.customer_rows(
        q, category, _date(start, "开始日期"), _date(end, "结束日期")
    )
    if format in ("csv", "xlsx"):
        return _download(
            format, customers.HEADER, customers.table(rows), "客户明细", "customer-statistics"
        )
    return page(
        "statistics/customers.html",
        title=_("客户明细查询"),
        header=customers.HEADER,
        rows=rows,
        query={"q": q, "category": category, "start": start, "end": end},
    )


@get(
    "/api/v1/statistics/customers",
    opt=perm("statistics.view"),
    tags=["statistics"],
    summary="客户明细查询（各送检单位的委托单数、证书数与结论，可按期间、类别、名称）",
)
async def api_customer_statistics(
    q: SearchText = "",
    category: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
) -> dict[str, Any]:
    rows = await customers.customer_rows(
        q, category, _date(start, "开始日期"), _date(end, "结束日期")
    )
    return {"items": rows}


@get(
    "/api/v1/statistics/customers/export",
    opt=perm("statistics.view"),
    tags=["statistics"],
    summary="客户明细查询导出（xlsx / csv）",
)
async def api_customer_statistics_export(
    q: SearchText = "",
    category: SearchText = "",
    start: SearchText = "",
    end: SearchText = "",
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    rows = await customers.customer_rows(
        q, category, _date(start, "开始日期"), _date(end, "结束日期")
    )
    return _download(
        format, customers.HEADER, customers.table(rows), "客户明细", "customer-statistics"
    )


router = Router(
    path="/",
    route_handlers=[
        statistics_page,
        api_statistics,
        customer_statistics_page,
        api_customer_statistics,
        api_customer_statistics_export,
    ],
)
