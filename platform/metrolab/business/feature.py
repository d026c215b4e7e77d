"""The business feature: 委托单 → 任务 → 原始记录 → 证书（编制/初审/核验/批准）→ 发放 (§5.7, §5.8)."""

from collections.abc import Callable

from litestar import Router
from piccolo.query.methods.count import Count

from metrolab.business import onsite_api, onsite_routes
from metrolab.business.routes import router as pages
from metrolab.kernel.clock import local_date
from metrolab.web.auth import CurrentUser
from metrolab.web.navigation import NavItem, TaskCounter

# 下厂 and 入库 live in their own modules beside the entrustment pages.
router = Router(path="/", route_handlers=[pages, *onsite_routes.HANDLERS, *onsite_api.HANDLERS])

PERMISSIONS = {
    "business.view": (
        "查看委托单、任务与证书进度",
        "View entrustments, tasks and certificate progress",
    ),
    "business.entrust": (
        "受理委托单、发放证书与仪表",
        "Register entrustments, release certificates and instruments",
    ),
    "business.receive": ("科室接收仪表、分配任务", "Receive instruments, assign tasks"),
    "business.compile": ("编制证书、提交与初审", "Compile, submit and confirm certificates"),
    "business.check": ("核验证书", "Check certificates"),
    "business.approve": ("批准证书（含批量）", "Approve certificates (also in batches)"),
}
NAV = [
    NavItem("检定业务", "委托单", "/entrustments", "business.view", 10),
    NavItem("检定业务", "受理委托", "/entrustments/new", "business.entrust", 11),
    NavItem("检定业务", "检定任务", "/tasks", "business.view", 12),
    NavItem("检定证书管理", "证书进度", "/business/certificates", "business.view", 39),
    NavItem("检定证书管理", "批量批准", "/business/approvals", "business.approve", 44),
]


def _counter(kind: str) -> Callable[[CurrentUser], Count]:
    def count(user: CurrentUser) -> Count:
        from metrolab.business.services import task_count

        return task_count(kind, user)

    return count


TASKS = [
    TaskCounter(
        "business_to_compile",
        "待编制",
        "/tasks?mine=1&stage=compile",
        "business.compile",
        _counter("compile"),
        1,
    ),
    TaskCounter(
        "business_initial_review",
        "待初审",
        "/business/certificates?status=initial_review&mine=1",
        "business.compile",
        _counter("initial_review"),
        2,
    ),
    TaskCounter(
        "business_to_check",
        "待核验",
        "/business/certificates?status=checking",
        "business.check",
        _counter("checking"),
        3,
    ),
    TaskCounter(
        "business_to_approve",
        "待批准",
        "/business/approvals",
        "business.approve",
        _counter("approving"),
        4,
    ),
    TaskCounter(
        "business_to_release",
        "待发放",
        "/entrustments?stage=release",
        "business.entrust",
        _counter("release"),
        5,
    ),
]


async def _customer_entrustments(customer_id: int) -> int:
    from metrolab.business.tables import Entrustment

    return await Entrustment.count().where(Entrustment.customer == customer_id)


# A customer with entrustments cannot be deleted (customers.services.references).
CUSTOMER_REFERENCES = [("委托单", _customer_entrustments)]


async def _follow_revision(old_id: int, new_id: int) -> None:
    from metrolab.business.services import follow_revision

    await follow_revision(old_id, new_id)


async def _archived(record_id: int) -> dict | None:
    from metrolab.business.storage_in import archive_of

    return await archive_of(record_id)


async def _record_context(record_id: int) -> dict:
    """``received_on``: when the entrustment whose task this record is was received (科室接收)."""
    from metrolab.business.tables import VerificationTask

    row = (
        await VerificationTask.select(
            VerificationTask.entrustment.received_at.as_alias("received_at")
        )
        .where(VerificationTask.record == record_id)
        .first()
    )
    at = row["received_at"] if row else None
    return {"received_on": local_date(at).isoformat()} if at else {}


HOOKS = {
    "certificate.revised": [_follow_revision],
    "record.archived": [_archived],
    "record.context": [_record_context],
}
__all__ = ["router"]


async def _seed_demo_business() -> int:
    from metrolab.business.demo import seed_demo_business

    return await seed_demo_business()


# Runs after the demo users exist (see `metrolab demo`).
DEMO_SEEDERS = [("business", _seed_demo_business)]
