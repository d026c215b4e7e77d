"""The demo lab's quotations (`metrolab demo`): one in each step — 草稿, 审核中, 审批中, 已批准 — for the
first demo customer, made through the same services as the pages (a SignerProof stands for the
re-entered password of the demo people)."""

from __future__ import annotations

from datetime import date, timedelta

from metrolab.web.auth import CurrentUser

STAGES = [
    ("draft", []),
    ("reviewing", [("clerk", "submit")]),
    ("approving", [("clerk", "submit"), ("manager", "pass_review")]),
    ("approved", [("clerk", "submit"), ("manager", "pass_review"), ("signatory", "approve")]),
]


async def _people() -> dict[str, CurrentUser] | None:
    from metrolab.accounts.services import roles_of
    from metrolab.accounts.tables import User

    people = {}
    for username in ("clerk", "manager", "signatory"):
        row = await User.select(User.id, User.full_name).where(User.username == username).first()
        if row is None:
            return None
        people[username] = CurrentUser(
            id=row["id"],
            username=username,
            full_name=row["full_name"],
            language="zh",
            department_id=None,
            roles=frozenset(r["key"] for r in await roles_of(row["id"])),
        )
    return people


async def seed_demo_quotations() -> int:
    from metrolab.customers.tables import Customer
    from metrolab.quotations import services, workflow
    from metrolab.quotations.tables import Quotation
    from metrolab.workflows.signatures import SignerProof

    people = await _people()
    customer = await Customer.select(Customer.id).order_by(Customer.id).first()
    if people is None or customer is None or await Quotation.exists():
        return 0
    types = list(await services.instrument_types())[:2]
    n = 0
    for i, (_stage, steps) in enumerate(STAGES):
        row = await services.create(
            {
                "customer": str(customer["id"]),
                "valid_until": (date.today() + timedelta(days=30)).isoformat(),
                "remarks": "含检定费，不含运输费。",
                "lines": [
                    {
                        "instrument_type": t,
                        "quantity": str(2 + i + k),
                        "unit_price": "120",
                        "discount": "5",
                    }
                    for k, t in enumerate(types)
                ],
            },
            people["clerk"],
        )
        for who, action in steps:
            await workflow.act(row["id"], action, people[who], password=SignerProof(people[who].id))
        n += 1
    return n
