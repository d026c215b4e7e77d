"""打印报价单: the approved quotation rendered with the 报价单 template version pinned at approval
(a reviewed version, like a certificate's), in the documents engine's sandbox; Word or PDF."""

from __future__ import annotations

from typing import Any

import anyio

from metrolab import storage
from metrolab.kernel.clock import local_date
from metrolab.kernel.errors import Conflict, Refused
from metrolab.quotations import contract, services

PRINTABLE = ("approved", "converted")


async def current_template() -> tuple[int, bytes]:
    """(id, .docx) of the newest published version of a 报价单 template: what an approval pins."""
    from metrolab.certificates.tables import TemplateVersion

    row = (
        await TemplateVersion.select(TemplateVersion.id, TemplateVersion.docx_sha256)
        .where(
            (TemplateVersion.template.kind == contract.KIND)
            & (TemplateVersion.status == "published")
        )
        .order_by(TemplateVersion.published_at, ascending=False)
        .first()
    )
    if row is None:
        raise Conflict("没有已发布的报价单模板：请先在“证书模板”中上传并审核发布报价单模板")
    return row["id"], storage.get(row["docx_sha256"])


async def _pinned(version_id: int) -> bytes:
    from metrolab.certificates.tables import TemplateVersion

    row = (
        await TemplateVersion.select(TemplateVersion.docx_sha256)
        .where(TemplateVersion.id == version_id)
        .first()
    )
    if row is None:
        raise Conflict("报价单固定的模板版本不存在")
    return storage.get(row["docx_sha256"])


async def _signed_on(quotation_id: int) -> dict[str, Any]:
    """{action: date} of the latest 审核 / 审批 steps."""
    from metrolab.quotations.workflow import history

    out: dict[str, Any] = {}
    for step in await history(quotation_id):
        out[step["action"]] = local_date(step["at"])
    return out


async def build_context(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(the contract's dict, its images) for one quotation."""
    from metrolab.accounts.tables import User
    from metrolab.customers.tables import Customer
    from metrolab.lab.services import lab_settings
    from metrolab.workflows.services import state_labels

    lab = await lab_settings()
    customer = await Customer.select().where(Customer.id == row["customer"]).first() or {}
    steps = await _signed_on(row["id"])
    images: dict[str, bytes] = {}
    people: dict[str, Any] = {}
    for role, user_id, on in (
        ("author", row["created_by"], row["quoted_on"]),
        ("reviewer", row["reviewed_by"], steps.get("pass_review")),
        ("approver", row["approved_by"], steps.get("approve")),
    ):
        user = (
            await User.select(User.full_name, User.signature_sha256)
            .where(User.id == user_id)
            .first()
            if user_id
            else None
        )
        people[role] = {"name": user["full_name"] if user else "", "image": None, "on": on}
        if user and user["signature_sha256"] and storage.exists(user["signature_sha256"]):
            images[f"people.{role}.image"] = storage.get(user["signature_sha256"])
    ctx = {
        "lab": {
            k: lab.get(k, "") for k in ("name", "address", "postcode", "phone", "fax", "website")
        },
        "quotation": {
            "number": row["number"],
            "quoted_on": row["quoted_on"],
            "valid_until": row["valid_until"],
            "remarks": row["remarks"],
            "status": (await state_labels(services.WF)).get(row["status"], ""),
        },
        "customer": {
            "name": row["customer_name"],
            "address": str(customer.get("address") or ""),
            "contact": row["contact"],
            "phone": row["phone"] or str(customer.get("phone") or ""),
        },
        "lines": [
            {k: v for k, v in line.items() if k != "price_source"}
            for line in services.line_view(row["lines"])
        ],
        "totals": {
            "gross": str(row["gross"]),
            "discount": str(row["discount"]),
            "total": str(row["total"]),
            "total_upper": contract.rmb_upper(row["total"]),
        },
        "people": people,
    }
    return ctx, images


async def docx(quotation_id: int) -> tuple[bytes, str]:
    """(the rendered .docx, its file name) of an approved quotation."""
    from metrolab.engine.documents.problems import TemplateProblem
    from metrolab.engine.documents.render import render_docx

    row = await services.get(quotation_id)
    if row["status"] not in PRINTABLE or not row["template_version"]:
        raise Conflict("只有已批准的报价单可以打印")
    template = await _pinned(row["template_version"])
    ctx, images = await build_context(row)
    try:
        data = await anyio.to_thread.run_sync(
            lambda: render_docx(template, ctx, images, title=f"报价单 {row['number']}")
        )
    except TemplateProblem as exc:
        raise Refused(f"报价单模板无法生成：{exc.message_zh}", status_code=422) from exc
    return data, f"{row['number']}.docx"


async def pdf(quotation_id: int) -> tuple[bytes, str]:
    from metrolab.certificates.services import to_pdf

    data, name = await docx(quotation_id)
    return await anyio.to_thread.run_sync(to_pdf, data), name.replace(".docx", ".pdf")
