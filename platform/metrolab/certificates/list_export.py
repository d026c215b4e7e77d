"""Any list of certificates as xlsx or csv, the same columns whichever page it came from (证书进度,
证书查询): the rows a person found (search, filters), at most MAX_EXPORT of them."""

from __future__ import annotations

from typing import Any

from litestar import Response

from metrolab.certificates.tables import Certificate
from metrolab.kernel.clock import local
from metrolab.kernel.errors import Refused
from metrolab.statistics import exports

MAX_EXPORT = 20_000
FORMATS = ("xlsx", "csv")
HEADER = (
    "证书编号",
    "器具名称",
    "型号规格",
    "出厂编号",
    "送检单位",
    "检定日期",
    "结论",
    "状态",
    "签发时间",
)


async def rows_of(ids: list[int], state_labels: dict[str, str]) -> list[list[Any]]:
    """The export's lines, in the order of ``ids`` (the list's order)."""
    if not ids:
        return []
    found = await Certificate.select(
        Certificate.id,
        Certificate.number,
        Certificate.instrument_type,
        Certificate.record.instrument_name.as_alias("instrument_name"),
        Certificate.record.model.as_alias("model"),
        Certificate.record.serial.as_alias("serial"),
        Certificate.customer.name.as_alias("customer_name"),
        Certificate.verified_on,
        Certificate.conclusion,
        Certificate.status,
        Certificate.issued_at,
    ).where(Certificate.id.is_in(ids))
    by_id = {r["id"]: r for r in found}
    lines = []
    for i in ids:
        r = by_id[i]
        lines.append(
            [
                r["number"] or "",
                r["instrument_name"] or r["instrument_type"],
                r["model"] or "",
                r["serial"] or "",
                r["customer_name"] or "",
                r["verified_on"].isoformat() if r["verified_on"] else "",
                r["conclusion"],
                state_labels.get(r["status"], r["status"]),
                local(r["issued_at"]).strftime("%Y-%m-%d %H:%M") if r["issued_at"] else "",
            ]
        )
    return lines


async def response(
    ids: list[int], fmt: str, title: str, filename: str, state_labels: dict[str, str]
) -> Response:
    if fmt not in FORMATS:
        raise Refused("导出格式只能是 xlsx 或 csv")
    lines = await rows_of(ids, state_labels)
    if fmt == "csv":
        return Response(
            exports.csv_text(HEADER, lines),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
        )
    return Response(
        exports.xlsx_bytes(title, HEADER, lines),
        media_type=exports.XLSX,
        headers={"content-disposition": f'attachment; filename="{filename}.xlsx"'},
    )
