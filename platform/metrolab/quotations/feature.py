"""The quotations feature (DB1304/T 505—2025 §5.3.2 报价单管理): quote a customer's instruments from its
prices (客户证价), 审核 and 审批 with signatures (workflow ``quotation``), print from a reviewed template
(document kind 报价单 in the certificate-template review), convert into an entrustment, link the
customer's contract and its charges (§5.9.8)."""

from typing import Any

from piccolo.query.methods.count import Count

from metrolab.quotations import contract
from metrolab.quotations.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.i18n import N_
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "quotations.view": ("查询、打印报价单", "View and print quotations"),
    "quotations.write": (
        "编制、提交、作废报价单，转为委托单，关联合同",
        "Draft, submit and void quotations; convert them into entrustments; link contracts",
    ),
    "quotations.review": ("审核报价单", "Review quotations"),
    "quotations.approve": ("审批报价单", "Approve quotations"),
}
NAV = [NavItem(N_("检定业务"), N_("报价单"), "/quotations", "quotations.view", 9)]


def _to_review(user: CurrentUser) -> Count:  # unawaited: the home page asks all at once
    from metrolab.quotations.tables import Quotation

    return Quotation.count().where(
        (Quotation.status == "reviewing") & (Quotation.created_by != user.id)
    )


def _to_approve(user: CurrentUser) -> Count:
    from metrolab.quotations.tables import Quotation

    return Quotation.count().where(
        (Quotation.status == "approving")
        & (Quotation.created_by != user.id)
        & (Quotation.reviewed_by != user.id)
    )


def _returned(user: CurrentUser) -> Count:
    """Drafts of mine that a reviewer or approver sent back (a draft with a return step)."""
    from metrolab.quotations.tables import Quotation
    from metrolab.workflows.tables import TransitionRecord

    return Quotation.count().where(
        (Quotation.status == "draft")
        & (Quotation.created_by == user.id)
        & Quotation.id.is_in(
            TransitionRecord.select(TransitionRecord.object_id).where(
                (TransitionRecord.object_type == "quotation")
                & TransitionRecord.action.is_in(["return_review", "return_approval"])
            )
        )
    )


TASKS = [
    TaskCounter(
        "quotations_to_review",
        N_("待审核的报价单"),
        "/quotations?status=reviewing",
        "quotations.review",
        _to_review,
        30,
    ),
    TaskCounter(
        "quotations_to_approve",
        N_("待审批的报价单"),
        "/quotations?status=approving",
        "quotations.approve",
        _to_approve,
        31,
    ),
    TaskCounter(
        "quotations_returned",
        N_("被退回的报价单"),
        "/quotations?status=draft",
        "quotations.write",
        _returned,
        32,
    ),
]


async def _seed_template() -> int:
    from metrolab.certificates.template_versions import seed_shipped

    return await seed_shipped("quotation", "报价单", contract.KIND)


async def _kinds() -> list[str]:
    return [contract.KIND]


async def _contract(kind: str) -> Any:
    return contract if kind == contract.KIND else None


async def _seed_demo() -> int:
    from metrolab.quotations.demo import seed_demo_quotations

    return await seed_demo_quotations()


SEEDERS = [("quotation_template", _seed_template)]
DEMO_SEEDERS = [("quotations", _seed_demo)]


async def _customer_links(customer_id: int, user: CurrentUser) -> list[dict[str, Any]]:
    """The customer page's way to its quotations (and to a new one for it)."""
    if not user.can("quotations.view"):
        return []
    count = await _customer_quotations(customer_id)
    links: list[dict[str, Any]] = [
        {"label": N_("报价单"), "count": count, "href": f"/quotations?customer={customer_id}"}
    ]
    if user.can("quotations.write"):
        links.append({"label": N_("新建报价单"), "href": f"/quotations/new?customer={customer_id}"})
    return links


HOOKS = {
    "template.kinds": [_kinds],
    "template.contract": [_contract],
    "customer.links": [_customer_links],
}


async def _customer_quotations(customer_id: int) -> int:
    from metrolab.quotations.tables import Quotation

    return await Quotation.count().where(Quotation.customer == customer_id)


CUSTOMER_REFERENCES = [("报价单", _customer_quotations)]
__all__ = ["router"]
