"""The ledger's files (xlsx / csv / docx), built once for the page and the API download alike."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Response

from metrolab.engine.documents.cells import safe_row
from metrolab.ledger import actions, dossier, exports, package, services

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV = "text/csv"
NOTICE_DAYS = 90
NOTICE_COLUMNS = [
    ("器具名称", "type_name"),
    ("型号规格", "model"),
    ("出厂编号", "serial"),
    ("安装位置", "location"),
    ("最近检定日期", "last_verified_on"),
    ("有效期至", "next_due_on"),
    ("状态", "due_zh"),
]
CUSTOMER_COLUMNS = [
    ("分类", "category"),
    ("在用", "in_use"),
    ("停用", "idle"),
    ("报废", "scrapped"),
    ("合计", "total"),
]


@dataclass(frozen=True)
class File:
    data: bytes
    filename: str
    media_type: str

    def response(self) -> Response:
        ascii_name = self.filename.encode("ascii", "replace").decode().replace("?", "_")
        disposition = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"
        )
        return Response(
            content=self.data,
            media_type=self.media_type,
            headers={"content-disposition": disposition},
        )


async def ledger(filters: dict[str, Any], fmt: str) -> File:
    """器具明细查询's result, every row (xlsx or csv)."""
    types = await services.instrument_types()
    rows = exports.instrument_rows(await services.search(**filters, limit=None), types)
    if fmt == "csv":
        return File(exports.csv_bytes(exports.INSTRUMENT_COLUMNS, rows), "计量器具台账.csv", CSV)
    data = exports.xlsx(exports.INSTRUMENT_COLUMNS, rows, sheet="计量器具台账")
    return File(data, "计量器具台账.xlsx", XLSX)


def import_template() -> File:
    from metrolab.ledger import importing

    return File(importing.template(), "计量器具台账导入模板.xlsx", XLSX)


async def notice_rows(customer_id: int) -> list[dict[str, Any]]:
    today = date.today()
    types = await services.instrument_types()
    rows = exports.instrument_rows(await services.due(NOTICE_DAYS, customer_id, today), types)
    for r in rows:
        r["due_zh"] = services.DUE_LABELS[services.due_state(r, today)]
    return rows


async def notice(customer: dict[str, Any]) -> File:
    """检定到期通知书 of a customer (also what its portal link downloads)."""
    data = exports.xlsx(
        NOTICE_COLUMNS,
        await notice_rows(customer["id"]),
        title=f"检定到期通知书 — {customer['name']}（{date.today()}）",
        sheet="检定到期通知书",
    )
    return File(data, f"检定到期通知书_{customer['name']}.xlsx", XLSX)


async def customer_ledger(customer_id: int, fmt: str) -> File:
    """The customer's ledger (xlsx: + a statistics sheet; csv: the ledger only)."""
    from openpyxl import load_workbook

    c = await services.customer(customer_id)
    rows = exports.instrument_rows(
        await services.search(customer_id=customer_id, limit=None),
        await services.instrument_types(),
    )
    if fmt == "csv":
        return File(
            exports.csv_bytes(exports.INSTRUMENT_COLUMNS, rows),
            f"{c['name']}_计量器具台账.csv",
            CSV,
        )
    wb = load_workbook(
        io.BytesIO(exports.xlsx(exports.INSTRUMENT_COLUMNS, rows, sheet="计量器具台账"))
    )
    stats = await dossier.statistics(customer_id)
    ws = wb.create_sheet("统计")
    ws.append(safe_row(["客户", c["name"]]))  # a name typed by a user: never a live formula
    ws.append(["器具总数", stats["instruments"]])
    ws.append(["已超期", stats["due"]["overdue"]])
    for days in services.WINDOWS:
        ws.append([f"{days} 天内到期", stats["due"][f"d{days}"]])
    ws.append(["合同数", stats["contracts"]])
    ws.append(["合同金额", float(stats["contract_total"])])
    ws.append(["已收费", float(stats["charged_total"])])
    ws.append([])
    ws.append([h for h, _ in CUSTOMER_COLUMNS])
    for cat, counts in stats["by_category"].items():
        ws.append(
            safe_row([cat, counts["in_use"], counts["idle"], counts["scrapped"], counts["total"]])
        )
    buf = io.BytesIO()
    wb.save(buf)
    return File(buf.getvalue(), f"{c['name']}_客户明细.xlsx", XLSX)


async def station_equipment(customer_id: int, fmt: str) -> File:
    """在用计量器具配备情况一览表 of a gas station (docx or xlsx)."""
    c = await actions.station(customer_id)
    rows = await package.equipment(customer_id)
    if fmt == "docx":
        return File(
            exports.equipment_docx(c["name"], rows, date.today()),
            "在用计量器具配备情况一览表.docx",
            DOCX,
        )
    data = exports.xlsx(
        exports.EQUIPMENT_COLUMNS,
        rows,
        title=f"{c['name']} 在用计量器具配备情况一览表",
        sheet="在用计量器具",
    )
    return File(data, "在用计量器具配备情况一览表.xlsx", XLSX)


async def application(customer_id: int) -> File:
    await actions.station(customer_id)
    return File(await package.application_docx(customer_id), "诚信计量示范单位申请书.docx", DOCX)
