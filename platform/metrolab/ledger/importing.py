"""Ledger import from xlsx: template, preview (rejected rows with their reasons), then — only after the
user confirms — every good row in one transaction. A file with the wrong columns is refused whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, Signer

from metrolab import storage
from metrolab.engine.documents.cells import unquote_cell
from metrolab.engine.documents.uploads import UploadRefused, xlsx_rows
from metrolab.kernel.errors import Refused
from metrolab.ledger import services
from metrolab.ledger.tables import LedgerInstrument
from metrolab.settings import get_settings

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 1000  # longer than any ledger field: a longer cell is refused, never echoed
# (header, field); the first and the serial are required columns.
COLUMNS = [
    ("器具类型", "instrument_type"),
    ("器具名称", "name"),
    ("型号规格", "model"),
    ("出厂编号", "serial"),
    ("制造单位", "manufacturer"),
    ("安装位置", "location"),
    ("状态", "status"),
    ("强制检定", "compulsory"),
    ("枪数", "nozzles"),
    ("最近检定日期", "last_verified_on"),
    ("检定结论", "last_conclusion"),
    ("证书编号", "last_certificate"),
    ("备注", "remarks"),
]
REQUIRED = {"器具类型", "出厂编号"}


@dataclass
class Preview:
    good: list[dict[str, Any]] = field(default_factory=list)  # {row, action, values}
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {row, reasons, raw}
    problem: str = ""  # the whole file is refused


def template() -> bytes:
    from metrolab.ledger.exports import xlsx

    example = {
        "instrument_type": "燃油加油机",
        "name": "燃油加油机",
        "model": "JH-4A",
        "serial": "JY-2024-0001",
        "manufacturer": "某加油机制造有限公司",
        "location": "1号岛",
        "status": "在用",
        "compulsory": "是",
        "nozzles": 4,
        "last_verified_on": "2026-06-10",
        "last_conclusion": "合格",
        "last_certificate": "",
        "remarks": "示例行，导入前请删除",
    }
    return xlsx(COLUMNS, [example], sheet="计量器具台账")


def parse(
    content: bytes,
    customer_id: int,
    types: dict[str, dict[str, Any]],
    existing: set[tuple[str, str]],
    filename: str = "",
) -> Preview:
    try:
        return _parse(content, types, existing, filename)
    except UploadRefused as exc:  # a zip bomb, a giant cell, too many rows: nothing is echoed
        return Preview(problem=exc.detail)


def _parse(
    content: bytes,
    types: dict[str, dict[str, Any]],
    existing: set[tuple[str, str]],
    filename: str,
) -> Preview:
    preview = Preview()
    if len(content) > MAX_IMPORT_BYTES:
        preview.problem = "文件不能超过 5 MB"
        return preview
    rows = (
        (n, [unquote_cell(v) for v in values])  # an exported file's neutralised cells read back
        for n, values in xlsx_rows(
            content,
            filename,
            max_rows=MAX_ROWS,
            max_columns=MAX_COLUMNS,
            max_cell_chars=MAX_CELL_CHARS,
        )
    )
    _, first = next(rows, (1, []))
    header = [str(h).strip() if h is not None else "" for h in first]
    while header and not header[-1]:
        header.pop()
    known = {h for h, _ in COLUMNS}
    missing = sorted(REQUIRED - set(header), key=[h for h, _ in COLUMNS].index)
    unknown = [h for h in header if h and h not in known]
    if missing or unknown:
        parts = ([f"缺少列：{'、'.join(missing)}"] if missing else []) + (
            [f"无法识别的列：{'、'.join(unknown)}"] if unknown else []
        )
        preview.problem = "；".join(parts) + f"。模板的列为：{'、'.join(h for h, _ in COLUMNS)}"
        return preview
    index = {h: i for i, h in enumerate(header) if h}
    seen: set[tuple[str, str]] = set()
    for n, raw in rows:
        if not any(v not in (None, "") for v in raw):
            continue
        values = {
            f: raw[index[h]] if h in index and index[h] < len(raw) else "" for h, f in COLUMNS
        }
        values = {k: ("" if v is None else v) for k, v in values.items()}
        values["compulsory"] = values["compulsory"] if values["compulsory"] != "" else "default"
        clean, errors = services.check_instrument(values, types)
        reasons = list(errors.values())
        key = (clean.get("instrument_type", ""), clean.get("serial", ""))
        if not errors and key in seen:
            reasons.append(f"与本文件前面的行重复（{clean['serial']}）")
        if reasons:
            preview.rejected.append(
                {
                    "row": n,
                    "reasons": reasons,
                    "raw": {h: values[f] for h, f in COLUMNS if values[f] not in ("", "default")},
                }
            )
            continue
        seen.add(key)
        preview.good.append(
            {"row": n, "action": "更新" if key in existing else "新增", "values": clean}
        )
    return preview


async def _context(customer_id: int) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str]]]:
    types = await services.instrument_types()
    rows = await LedgerInstrument.select(
        LedgerInstrument.instrument_type, LedgerInstrument.serial
    ).where(LedgerInstrument.customer == customer_id)
    return types, {(r["instrument_type"], r["serial"]) for r in rows}


def _signer(customer_id: int) -> Signer:
    return Signer(get_settings().secret_key, salt=f"metrolab.ledger.import.{customer_id}")


async def preview(customer_id: int, content: bytes, filename: str = "") -> tuple[Preview, str]:
    """The preview and a signed ticket naming the stored file, for the confirmation."""
    types, existing = await _context(customer_id)
    result = parse(content, customer_id, types, existing, filename)
    ticket = ""
    if not result.problem and result.good:
        ticket = _signer(customer_id).sign(storage.put(content)).decode()
    return result, ticket


async def confirm(customer_id: int, ticket: str, user: Any = None) -> int:
    """Import the good rows of the previewed file, all in one transaction. Returns how many."""
    try:
        digest = _signer(customer_id).unsign(ticket.encode()).decode()
        content = storage.get(digest)
    except (BadSignature, UnicodeError, ValueError, OSError) as exc:
        raise Refused("导入凭据无效或已过期，请重新上传文件") from exc
    types, existing = await _context(customer_id)
    result = parse(content, customer_id, types, existing)
    if result.problem:
        raise Refused(result.problem)
    async with LedgerInstrument._meta.db.transaction():
        for good in result.good:
            clean = good["values"]
            same = await services.find_instrument(
                customer_id, clean["instrument_type"], clean["serial"]
            )
            await services.save_instrument(
                customer_id, clean, same["id"] if same else None, source="import", user=user
            )
    return len(result.good)
