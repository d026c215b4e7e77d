"""The statistics queries. Grouping happens in SQL on indexed columns; months are folded from days in
Python so the same query runs on SQLite and PostgreSQL (their date functions differ)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Count

DIMENSIONS = {
    "month": "月份",
    "instrument_type": "器具类型",
    "department": "科室",
    "verifier": "检定员",
    "conclusion": "检定结论",
    "customer": "送检单位",
}
SOURCES = {"certificates": "检定证书", "records": "原始记录"}
EXCLUDED_STATUSES = ("voided", "superseded")


@dataclass
class Row:
    key: str
    total: int = 0
    by_conclusion: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return self.by_conclusion.get("合格", 0)

    @property
    def pass_rate(self) -> str:
        return f"{100 * self.passed / self.total:.1f} %" if self.total else "—"


def _columns(source: str) -> dict[str, Any]:
    if source == "records":
        from metrolab.records.tables import OriginalRecord as R

        return {
            "table": R,
            "date": R.verified_on,
            "month": R.verified_on,
            "instrument_type": R.instrument_type,
            "department": R.verifier.department.name,  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
            "verifier": R.verifier.full_name,
            "conclusion": R.conclusion,
            "customer": R.customer.name,
        }
    from metrolab.certificates.tables import Certificate as C

    return {
        "table": C,
        "date": C.verified_on,
        "month": C.verified_on,
        "instrument_type": C.instrument_type,
        "department": C.record.verifier.department.name,  # type: ignore[union-attr]
        "verifier": C.record.verifier.full_name,  # type: ignore[union-attr]  # Piccolo: a join through two ForeignKeys is typed Column | Any
        "conclusion": C.conclusion,
        "customer": C.customer.name,
    }


async def type_names() -> dict[str, str]:
    from metrolab.indicators.tables import InstrumentType

    return {
        r["code"]: r["name_zh"]
        for r in await InstrumentType.select(InstrumentType.code, InstrumentType.name_zh)
    }


async def grouped(
    source: str,
    dimension: str,
    start: date | None,
    end: date | None,
    filters: dict[str, str] | None = None,
) -> list[Row]:
    cols = _columns(source)
    table, key_col = cols["table"], cols[dimension]
    query = table.select(
        key_col.as_alias("key"), cols["conclusion"].as_alias("conclusion"), Count(alias="n")
    )
    if source == "certificates":
        query = query.where(table.issued_at.is_not_null()).where(
            table.status.not_in(list(EXCLUDED_STATUSES))
        )
    else:
        query = query.where(table.status == "saved")
    if start:
        query = query.where(cols["date"] >= start)
    if end:
        query = query.where(cols["date"] <= end)
    for name, value in (filters or {}).items():
        if value and name in cols and name != "month":
            query = query.where(cols[name] == value)
    rows = await query.group_by(key_col, cols["conclusion"])
    names = await type_names() if dimension == "instrument_type" else {}
    out: dict[str, Row] = defaultdict(lambda: Row(""))
    for r in rows:
        key = r["key"]
        if dimension == "month":
            key = key.strftime("%Y-%m") if key else "—"
        else:
            key = names.get(key, key) if key else "（未填）"
        row = out[key]
        row.key = key
        row.total += r["n"]
        conclusion = r["conclusion"] or "（未填）"
        row.by_conclusion[conclusion] = row.by_conclusion.get(conclusion, 0) + r["n"]
    ordered = sorted(
        out.values(), key=(lambda x: x.key) if dimension == "month" else (lambda x: -x.total)
    )
    return ordered
