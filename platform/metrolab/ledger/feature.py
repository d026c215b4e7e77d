"""The ledger feature: customers' instrument ledgers (计量器具台账), external certificates, due-date
warnings and the customer portal, the customer extensions of §5.9, and gas-station compliance
(T/ZBMS 005). The certificates feature calls ``metrolab.ledger.services.on_certificate_issued(id)``."""

from datetime import date

from litestar import Router
from piccolo.query.methods.count import Count

from metrolab.ledger import api, routes, routes_station
from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "ledger.view": ("查看计量器具台账", "View instrument ledgers"),
    "ledger.manage": ("维护计量器具台账、外检证书、自校记录", "Maintain instrument ledgers"),
    "customers.contracts": ("管理企业合同与收费", "Manage contracts and charges"),
}
NAV = [
    NavItem(N_("业务管理"), N_("器具明细查询"), "/ledger", "ledger.view", 11),
    NavItem(N_("业务管理"), N_("到期预警"), "/ledger/due", "ledger.view", 12),
]


def _due_within_30_days(user: CurrentUser) -> Count:  # noqa: ARG001 - one list for the whole lab
    from metrolab.ledger.services import count_due

    return count_due(30)


TASKS = [
    TaskCounter(
        "ledger_due_30",
        N_("30 天内到期的客户器具"),
        "/ledger/due?within=30",
        "ledger.manage",
        _due_within_30_days,
        20,
    )
]


async def _count_for_customer(customer_id: int) -> int:
    from metrolab.ledger.services import count_for_customer

    return await count_for_customer(customer_id)


# A customer with instruments in the ledger cannot be deleted (customers.services.references).
CUSTOMER_REFERENCES = [("计量器具台账", _count_for_customer)]


async def _follow_issued_certificate(certificate_id: int) -> None:
    from metrolab.ledger.services import on_certificate_issued

    await on_certificate_issued(certificate_id)


HOOKS = {"certificate.issued": [_follow_issued_certificate]}


async def _seed_demo_ledger() -> int:
    """The demo customers' instruments (seed_data/demo_lab.json), matched to customers by name."""
    import json

    from metrolab.customers.tables import Customer
    from metrolab.ledger import services
    from metrolab.ledger.tables import LedgerInstrument
    from metrolab.paths import data_folder

    demo = json.loads((data_folder("seed_data") / "demo_lab.json").read_text("utf-8"))
    types = await services.instrument_types()
    n = 0
    for c in demo.get("customers", []):
        row = await Customer.select(Customer.id).where(Customer.name == c["name"]).first()
        if row is None:
            continue
        for i in c.get("instruments", []):
            code = i.get("type", "")
            if code not in types or await LedgerInstrument.exists().where(
                (LedgerInstrument.customer == row["id"])
                & (LedgerInstrument.instrument_type == code)
                & (LedgerInstrument.serial == i["serial"])
            ):
                continue
            verified = date.fromisoformat(i["last_verified"]) if i.get("last_verified") else None
            due = services.due_date(verified, types[code].get("cycle_months"))
            await LedgerInstrument.insert(
                LedgerInstrument(
                    customer=row["id"],
                    instrument_type=code,
                    name=services.type_name(types, code),
                    model=i.get("model", ""),
                    serial=i["serial"],
                    manufacturer=i.get("manufacturer", ""),
                    location=i.get("location", ""),
                    status="in_use",
                    compulsory=bool(types[code].get("compulsory")),
                    nozzles=i.get("nozzles"),
                    last_verified_on=verified,
                    last_conclusion="合格" if verified else "",
                    next_due_on=due,
                    last_certificate=i.get("certificate", ""),
                    source="import",
                    remarks=i.get("note", ""),
                )
            )
            n += 1
    return n


DEMO_SEEDERS = [("ledger", _seed_demo_ledger)]
router = Router(
    path="/", route_handlers=[*routes.handlers, *routes_station.handlers, *api.handlers]
)
__all__ = ["router"]
