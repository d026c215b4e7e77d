"""The records feature: electronic original records with a hash-chained revision history (§6.2)."""

from piccolo.query.methods.count import Count

from metrolab.records.routes import router
from metrolab.web.auth import CurrentUser
from metrolab.web.navigation import NavItem, TaskCounter

PERMISSIONS = {
    "records.view": ("查看原始记录", "View original records"),
    "records.edit": ("填写与修改原始记录", "Fill in and change original records"),
}
NAV = [
    NavItem("检定业务", "原始记录", "/records", "records.view", 20),
    NavItem("检定业务", "新建原始记录", "/records/new", "records.edit", 21),
]


def _my_drafts(user: CurrentUser) -> Count:
    from metrolab.records.services import count_my_drafts

    return count_my_drafts(user.id)


async def _customer_records(customer_id: int) -> int:
    from metrolab.records.services import customer_references

    return await customer_references(customer_id)


TASKS = [
    TaskCounter(
        "records_my_drafts",
        "我的原始记录草稿",
        "/records?mine=drafts",
        "records.edit",
        _my_drafts,
        20,
    )
]
# A customer with original records cannot be deleted (customers.services.references).
CUSTOMER_REFERENCES = [("原始记录", _customer_records)]
__all__ = ["router"]
