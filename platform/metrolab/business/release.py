"""发放 (DB1304/T 505—2025 §5.7.7–§5.7.9): handing certificates and/or instruments to the customer.

How they leave decides what is asked:
* 自取 / 代领 — on the spot: the collector signs on screen; certificates must have been printed.
* 邮寄 — by post: a carrier and a tracking number, no on-the-spot signature; printed certificates.
* 电子发放 — the issued PDF (signed, with its QR check) is the certificate: certificates only, no print
  needed, recorded as such in the certificate's history (its own workflow step, 电子发放).
Each release is one row (what, to whom, how) with a printable handover slip (交接单)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from metrolab import storage
from metrolab.audit.log import record as audit
from metrolab.business import services
from metrolab.business.tables import Entrustment, Release, VerificationTask
from metrolab.certificates.tables import Certificate
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.kernel.text import actor_id, check_plain_text
from metrolab.workflows import services as wf

MODES = {
    "certificate_and_instrument": "证书和仪表",
    "instrument_only": "仅仪表",
    "certificate_only": "仅证书",
}
METHODS = ("自取", "代领", "邮寄", "电子发放")
ON_THE_SPOT = ("自取", "代领")  # the collector signs on screen
MAX_SIGNATURE_BYTES = 512 * 1024
TRACKING_NO = re.compile(r"^[A-Za-z0-9-]{6,40}$")


def signature_png(data_url: str) -> bytes:
    """The customer's on-screen signature: a PNG data URL, bounded and checked."""
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise Refused("请客户在签名框内签名")
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
    except ValueError as exc:
        raise Refused("签名图片无法读取") from exc
    if len(png) > MAX_SIGNATURE_BYTES or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise Refused("签名图片格式不正确或过大")
    return png


def _how(method: str, mode: str, collector: str, carrier: str, tracking_no: str) -> None:
    """What the way of leaving asks for, checked before anything is touched."""
    if mode not in MODES:
        raise Refused("请选择发放方式（证书和仪表 / 仅仪表 / 仅证书）")
    if method not in METHODS:
        raise Refused("请选择领取方式")
    if not collector.strip():
        raise Refused("请填写收件人" if method == "邮寄" else "请填写领取人")
    check_plain_text(collector, "领取人", 100)
    if method == "邮寄":
        if not carrier.strip():
            raise Refused("邮寄请填写快递公司")
        check_plain_text(carrier, "快递公司", 50)
        if not TRACKING_NO.match(tracking_no.strip()):
            raise Refused("请填写快递单号（6–40 位字母、数字或连字符）")
    if method == "电子发放" and mode != "certificate_only":
        raise Refused("电子发放只能发放证书（请选择“仅证书”）；仪表须自取、代领或邮寄")


async def release(
    entrustment_id: int,
    user: Any,
    *,
    mode: str,
    task_ids: list[int],
    collector: str,
    method: str,
    signature_data_url: str = "",
    remarks: str = "",
    carrier: str = "",
    tracking_no: str = "",
) -> int:
    """Hand over certificates and/or instruments of some tasks; returns the release's id."""
    _how(method, mode, collector, carrier, tracking_no)
    check_plain_text(remarks, "备注", 2000)
    png = signature_png(signature_data_url) if method in ON_THE_SPOT else b""
    e = await services.get_entrustment(entrustment_id)
    tasks = {t["id"]: t for t in await services.tasks_of(entrustment_id)}
    chosen = [tasks[i] for i in task_ids if i in tasks and tasks[i]["status"] != "released"]
    if not chosen:
        raise Refused("请选择要发放的器具")
    with_cert = mode != "instrument_only"
    if with_cert:
        await _certificates_ready(chosen, electronic=method == "电子发放")
    if e["status"] not in services.AWAITING_RELEASE:
        raise Conflict("委托单尚未开始检定或已发放，不能发放")
    numbers = []
    if with_cert:
        from metrolab.certificates.workflow import act

        step = "release_electronic" if method == "电子发放" else "release"
        for t in chosen:
            numbers.append((await act(t["certificate"], step, user))["number"])
    rel = Release(
        entrustment=entrustment_id,
        mode=mode,
        tasks=[t["id"] for t in chosen],
        certificates=numbers,
        collector=collector.strip(),
        method=method,
        carrier=carrier.strip(),
        tracking_no=tracking_no.strip(),
        signature_sha256=storage.put(png) if png else "",
        remarks=remarks,
        by=actor_id(user),
    )
    await rel.save()
    if mode != "certificate_only":
        await VerificationTask.update(
            {VerificationTask.status: "released", VerificationTask.released_at: datetime.now(UTC)}
        ).where(VerificationTask.id.is_in([t["id"] for t in chosen]))
    await _close_when_all_out(entrustment_id, user)
    await audit(
        "entrustment.released",
        actor=user,
        target_type="entrustment",
        target_id=entrustment_id,
        details={
            "mode": mode,
            "method": method,
            "tasks": [t["id"] for t in chosen],
            "collector": collector,
            **({"tracking_no": tracking_no.strip()} if method == "邮寄" else {}),
        },
    )
    return rel.id


async def _certificates_ready(chosen: list[dict[str, Any]], *, electronic: bool) -> None:
    missing = [
        t["serial"] or f"第{t['line']}行"
        for t in chosen
        if not t["certificate"] or t["certificate_status"] not in ("issued", "printed")
    ]
    if missing:
        raise Conflict(f"以下器具的证书尚未批准出具：{'、'.join(missing)}")
    if electronic:  # the PDF is what the customer gets: it must exist (rendering may be queued)
        rendered = {
            r["id"]
            for r in await Certificate.select(Certificate.id).where(
                Certificate.id.is_in([t["certificate"] for t in chosen]),
                Certificate.pdf_sha256 != "",
            )
        }
        waiting = [t["certificate_number"] for t in chosen if t["certificate"] not in rendered]
        if waiting:
            raise Conflict(f"以下证书的 PDF 尚未生成，请稍后再电子发放：{'、'.join(waiting)}")
        return
    unprinted = [
        t["certificate_number"] or t["serial"]
        for t in chosen
        if t["certificate_status"] == "issued"
    ]
    if unprinted:
        raise Conflict(
            f"以下证书尚未打印，请先在“证书打印”中打印后再发放（或选择电子发放）：{'、'.join(unprinted)}"
        )


async def _close_when_all_out(entrustment_id: int, user: Any) -> None:
    remaining = await VerificationTask.count().where(
        (VerificationTask.entrustment == entrustment_id) & (VerificationTask.status != "released")
    )
    e = await services.get_entrustment(entrustment_id)
    if remaining == 0 and e["status"] == "completed":
        await wf.apply(
            Entrustment,
            entrustment_id,
            services.ENTRUST_WF,
            "release",
            user,
            context=services.entrustment_context(e, signed=True),
        )


async def releases_of(entrustment_id: int) -> list[dict[str, Any]]:
    return (
        await Release.select(*Release.all_columns(), Release.by.full_name.as_alias("by_name"))
        .where(Release.entrustment == entrustment_id)
        .order_by(Release.id)
        .output(load_json=True)
    )


async def get_release(release_id: int) -> dict[str, Any]:
    """One release with what its handover slip prints: the entrustment and the lines handed over."""
    row = (
        await Release.select(*Release.all_columns(), Release.by.full_name.as_alias("by_name"))
        .where(Release.id == release_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("发放记录不存在")
    row["entrustment_row"] = await services.get_entrustment(row["entrustment"])
    tasks = {t["id"]: t for t in await services.tasks_of(row["entrustment"])}
    row["lines"] = [tasks[i] for i in row["tasks"] if i in tasks]
    row["mode_label"] = MODES.get(row["mode"], row["mode"])
    return row
