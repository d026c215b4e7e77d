"""客户明细查询 (DB1304/T 505—2025 §5.9, “5.5.5”): every customer side by side — entrustments,
certificates and their conclusions in a period — filtered by category or name, and exported."""

from __future__ import annotations

from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Count, Max

from metrolab.business.tables import Entrustment
from metrolab.certificates.tables import Certificate
from metrolab.customers.tables import Customer
from metrolab.kernel.matching import contains
from metrolab.statistics.queries import counted_certificates
from metrolab.web.i18n import N_

HEADER = (
    N_("送检单位"),
    N_("类别"),
    N_("地址"),
    N_("委托单数"),
    N_("证书数"),
    N_("合格"),
    N_("不合格"),
    N_("最近检定日期"),
)
MAX_ROWS = 20_000


async def customer_rows(
    q: str = "", category: str = "", start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    customers = Customer.select(Customer.id, Customer.name, Customer.category, Customer.address)
    if q:
        customers = customers.where(contains(Customer.name, q))
    if category:
        customers = customers.where(Customer.category == category)
    found = await customers.order_by(Customer.name).limit(MAX_ROWS)
    entrustments = Entrustment.select(Entrustment.customer, Count(alias="n")).group_by(
        Entrustment.customer
    )
    certs = Certificate.select(
        Certificate.customer, Certificate.conclusion, Count(alias="n")
    ).where(counted_certificates() & Certificate.customer.is_not_null())
    last = Certificate.select(
        Certificate.customer, Max(Certificate.verified_on, alias="last")
    ).where(counted_certificates() & Certificate.verified_on.is_not_null())
    if start:
        certs, last = (
            certs.where(Certificate.verified_on >= start),
            last.where(Certificate.verified_on >= start),
        )
    if end:
        certs, last = (
            certs.where(Certificate.verified_on <= end),
            last.where(Certificate.verified_on <= end),
        )
    by_entrust = {r["customer"]: r["n"] for r in await entrustments}
    by_cert: dict[int, dict[str, int]] = {}
    for r in await certs.group_by(Certificate.customer, Certificate.conclusion):
        by_cert.setdefault(r["customer"], {})[r["conclusion"]] = r["n"]
    latest = {r["customer"]: r["last"] for r in await last.group_by(Certificate.customer)}
    out = []
    for c in found:
        counts = by_cert.get(c["id"], {})
        out.append(
            {
                "id": c["id"],
                "name": c["name"],
                "category": c["category"],
                "address": c["address"],
                "entrustments": by_entrust.get(c["id"], 0),
                "certificates": sum(counts.values()),
                "passed": counts.get("合格", 0),
                "failed": counts.get("不合格", 0),
                "last_verified": str(latest.get(c["id"]) or ""),
            }
        )
    return out


def table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    keys = ("name", "category", "address", "entrustments", "certificates", "passed", "failed")
    return [[r[k] for k in keys] + [r["last_verified"]] for r in rows]
