"""现场任务单 (DB1304/T 505—2025 §5.3.5 / §5.7.5): the on-site order of an entrustment checked at the
customer's site — which verifiers go, when they leave and come back, by which vehicle, to which address
and whom they meet there, with the entrustment's instruments. 安排下厂 records it; it prints as a 下厂单,
and printing it is the workflow's 打印下厂单 step (so the history says who printed it, when)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from metrolab.audit.log import record as audit
from metrolab.business import services
from metrolab.business.tables import Entrustment, OnsiteOrder
from metrolab.customers.tables import Customer
from metrolab.kernel.errors import NotFound, Refused
from metrolab.kernel.text import CONTROL_CHARS, actor_id
from metrolab.web.i18n import N_
from metrolab.workflows import services as wf

FIELDS = (
    "staff",
    "planned_date",
    "return_date",
    "vehicle",
    "address",
    "site_contact",
    "site_phone",
)
# 车牌: 冀D·12345, 冀DF12345 (new energy), or a plain internal number; letters, digits, · and -.
PLATE = re.compile(r"^[\u4e00-\u9fff]?[A-Za-z0-9·\-]{4,10}$")
MAX_STAFF = 20


Problem = tuple[str, dict[str, Any]]  # (中文 message marked N_, its {placeholders})


def _p(message: str, **placeholders: Any) -> Problem:
    return message, placeholders


class OrderProblems(Refused):
    """Field problems of a typed on-site order (or 入库): the page shows each beside its field in
    the person's language (:meth:`said`), the API lists them in 中文 in ``errors``."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        zh = {k: m.format(**kw) for k, (m, kw) in problems.items()}
        super().__init__(
            "请按提示修改后再提交：" + "；".join(zh.values()),
            extra=[{"key": k, "message": v} for k, v in zh.items()],
        )
        self.problems = zh
        self.raw = problems

    def said(self) -> dict[str, str]:
        """{field: message} translated (placeholders that are words translated too)."""
        from metrolab.web.i18n import _

        return {
            k: _(m, **{n: _(v) if isinstance(v, str) else v for n, v in kw.items()})
            for k, (m, kw) in self.raw.items()
        }


def _text(problems: dict[str, Problem], key: str, value: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    if CONTROL_CHARS.search(value):
        problems[key] = _p(N_("“{label}”含有不可见的控制字符，请重新输入"), label=label)
    elif len(value) > limit:
        problems[key] = _p(N_("“{label}”过长（至多 {limit} 字）"), label=label, limit=limit)
    return value


async def defaults(entrustment_id: int) -> dict[str, Any]:
    """What the form starts with: the address and contact of the entrustment (or its customer)."""
    e = await services.get_entrustment(entrustment_id)
    customer = await Customer.select(Customer.address, Customer.phone).where(
        Customer.id == e["customer"]
    ).first() or {"address": "", "phone": ""}
    data = e["data"] or {}
    return {
        "address": data.get("site_address") or data.get("address") or customer["address"],
        "site_contact": e["contact"],
        "site_phone": e["phone"] or customer["phone"],
        "planned_date": e["requested_date"].isoformat() if e["requested_date"] else "",
        "staff": [],
    }


async def schedule(
    entrustment_id: int,
    user: Any,
    *,
    staff: list[int],
    planned_date: date | None,
    return_date: date | None = None,
    vehicle: str = "",
    address: str = "",
    site_contact: str = "",
    site_phone: str = "",
    remarks: str = "",
    expected_lock: int | None = None,
    today: date | None = None,
) -> int:
    """安排下厂: check every field (all problems at once), then take the step and keep the order."""
    problems: dict[str, Problem] = {}
    verifiers = {v["id"]: v["full_name"] for v in await services.verifiers()}
    chosen = list(dict.fromkeys(staff))
    if not chosen:
        problems["staff"] = _p(N_("请选择下厂检定人员（至少一人）"))
    elif len(chosen) > MAX_STAFF or any(i not in verifiers for i in chosen):
        problems["staff"] = _p(N_("下厂人员须是本所的检定员"))
    if planned_date is None:
        problems["planned_date"] = _p(N_("请填写计划下厂日期"))
    elif planned_date < (today or date.today()):
        problems["planned_date"] = _p(N_("计划下厂日期不能早于今天"))
    if return_date is not None and planned_date is not None and return_date < planned_date:
        problems["return_date"] = _p(N_("返回日期不能早于下厂日期"))
    vehicle = _text(problems, "vehicle", vehicle, "车辆", 20)
    if vehicle and "vehicle" not in problems and not PLATE.match(vehicle):
        problems["vehicle"] = _p(N_("车牌号格式不正确（如 冀D12345）"))
    address = _text(problems, "address", address, "现场地址", 300)
    if not address and "address" not in problems:
        problems["address"] = _p(N_("请填写现场地址"))
    site_contact = _text(problems, "site_contact", site_contact, "现场联系人", 100)
    if not site_contact and "site_contact" not in problems:
        problems["site_contact"] = _p(N_("请填写现场联系人"))
    site_phone = _text(problems, "site_phone", site_phone, "联系电话", 50)
    remarks = _text(problems, "remarks", remarks, "备注", services.MAX_TEXT)
    if problems:
        raise OrderProblems(problems)
    e = await services.get_entrustment(entrustment_id)
    # The order and its 安排下厂 step commit together: a refused or failing step leaves no order,
    # an order that cannot be written leaves the entrustment where it was.
    async with Entrustment._meta.db.transaction():
        order = OnsiteOrder(
            entrustment=entrustment_id,
            staff=chosen,
            planned_date=planned_date,
            return_date=return_date,
            vehicle=vehicle,
            address=address,
            site_contact=site_contact,
            site_phone=site_phone,
            remarks=remarks,
            by=actor_id(user),
        )
        await order.save()
        await wf.apply(
            Entrustment,
            entrustment_id,
            services.ENTRUST_WF,
            "schedule_onsite",
            user,
            context=services.entrustment_context(e),
            expected_lock=expected_lock,
        )
    await audit(
        "entrustment.onsite_scheduled",
        actor=user,
        target_type="entrustment",
        target_id=entrustment_id,
        details={"staff": chosen, "planned_date": str(planned_date), "vehicle": vehicle},
    )
    return order.id


async def order_of(entrustment_id: int) -> dict[str, Any] | None:
    """The entrustment's latest on-site order, with the staff's names and the instruments."""
    row = (
        await OnsiteOrder.select(
            *OnsiteOrder.all_columns(), OnsiteOrder.by.full_name.as_alias("by_name")
        )
        .where(OnsiteOrder.entrustment == entrustment_id)
        .order_by(OnsiteOrder.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    if row is None:
        return None
    from metrolab.accounts.tables import User

    names = {
        u["id"]: u["full_name"]
        for u in await User.select(User.id, User.full_name).where(
            User.id.is_in(row["staff"] or [0])
        )
    }
    row["staff_names"] = [names.get(i, "") for i in row["staff"]]
    return row


async def get_order(entrustment_id: int) -> dict[str, Any]:
    row = await order_of(entrustment_id)
    if row is None:
        raise NotFound("该委托单尚未安排下厂")
    return row


async def print_order(entrustment_id: int, user: Any) -> None:
    """打印下厂单: once the department confirmed, printing is the workflow step (recorded in the
    history); before that there is nothing to print for, after it a reprint is not a step again."""
    await get_order(entrustment_id)
    e = await services.get_entrustment(entrustment_id)
    if e["status"] == "onsite_confirmed":
        await wf.apply(
            Entrustment,
            entrustment_id,
            services.ENTRUST_WF,
            "print_task_order",
            user,
            context=services.entrustment_context(e),
        )
    elif e["status"] == "onsite_scheduled":
        raise Refused("任务科室确认下厂后才能打印下厂单", status_code=409)


# Steps that carry their own form: the generic 流转 button/API refuses them and says where to go.
OWN_FORM = {
    "schedule_onsite": "请在“安排下厂”页填写下厂人员、日期、车辆和现场联系人",
    "complete": "请在“完成入库”页填写存放位置、接收人和件数",
}
