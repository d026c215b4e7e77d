"""A certificate's way through the lab (DB1304/T 505 §5.8, §7), on seed_data/workflows/certificate.json:
编制 → (初审) → 核验 → 批准 (issues it) → 打印 → 发放; 内部追回 / 已发修改 / 直接修改 reopen the record and
make revision N+1.

One source of truth: the certificate's content is *derived* from its original record (and the entrustment,
type, standards, lab settings) by :func:`refresh_content` at every submission for check, never copied
once. Each signature hashes the content it signs (:func:`content_sha256`); when the content derived now
differs from what was signed, the certificate goes back to 编制 instead of on. Approval is the only way to
a numbered certificate: the transition's ``issue_certificate`` effect calls ``services.issue``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from metrolab.audit.log import record as audit
from metrolab.certificates.services import IssuePipeline, get_certificate
from metrolab.certificates.tables import Certificate
from metrolab.kernel.errors import Conflict, Refused
from metrolab.kernel.text import actor_id
from metrolab.workflows import services as wf
from metrolab.workflows.signatures import SignerProof, canonical_sha256

CERT_WF = "certificate"
MAX_BATCH = 500
# Actions that submit the certificate for check: its content is derived anew from the record first.
SUBMISSIONS = ("submit", "confirm_initial_review")
# Actions that sign content someone else submitted: refused (and sent back) if it changed since.
COUNTERSIGNATURES = ("pass_check", "approve")
# Shown elsewhere (print page, release page, delay requests) or taken by the system.
NOT_ON_DETAIL_PAGE = {
    "request_delay",
    "print",
    "reprint",
    "release",
    "release_electronic",
    "content_changed",
}
# Set when the certificate is issued: not part of what the verifier, checker and approver sign.
ISSUE_KEYS = ("verify_url", "qr_code", "people")


# ── content: derived from the record ──────────────────────────────────────────────────────────


def signed_part(context: dict[str, Any]) -> dict[str, Any]:
    """The part of a certificate's content that the signatures cover (everything but the number, the
    QR code and the people, which issuing adds)."""
    out = {k: v for k, v in (context or {}).items() if k not in ISSUE_KEYS}
    out["certificate"] = {
        k: v for k, v in (out.get("certificate") or {}).items() if k not in ("number", "issued_at")
    }
    return out


def content_sha256(context: dict[str, Any]) -> str:
    from metrolab.engine.documents.render import to_plain

    return canonical_sha256(to_plain(signed_part(context)))


async def derive_content(cert: dict[str, Any]) -> dict[str, Any]:
    """The certificate's content as its record (and everything around it) says now."""
    from metrolab.certificates.compiler_edits import apply_compiler_edits
    from metrolab.certificates.from_record import context_for_record
    from metrolab.lab.services import lab_settings

    if not cert.get("record"):
        raise Conflict("该证书没有原始记录，不能编制")
    ctx, _row = await context_for_record(
        cert["record"], lab=await lab_settings(), revision=cert["revision"]
    )
    ctx = apply_compiler_edits(ctx, cert.get("compiler_edits") or {})
    if cert.get("supersedes"):
        old = await get_certificate(cert["supersedes"])
        ctx["certificate"]["supersedes_number"] = old["number"] or ""
    return ctx


async def refresh_content(certificate_id: int) -> dict[str, Any]:
    """Derive the content from the record and store it (with kind, dates, conclusion, verifier)."""
    from metrolab.engine.documents.render import to_plain
    from metrolab.records.tables import OriginalRecord

    cert = await get_certificate(certificate_id)
    ctx = await derive_content(cert)
    rec = (
        await OriginalRecord.select(OriginalRecord.verifier)
        .where(OriginalRecord.id == cert["record"])
        .first()
    )
    await Certificate.update(
        {
            Certificate.context: to_plain(ctx),
            Certificate.kind: ctx["certificate"]["kind"],
            Certificate.verified_on: ctx.get("verified_on"),
            Certificate.valid_until: ctx.get("valid_until"),
            Certificate.conclusion: ctx.get("conclusion") or "",
            Certificate.signers: {"verifier": rec["verifier"]} if rec and rec["verifier"] else {},
        }
    ).where(Certificate.id == certificate_id)
    return await get_certificate(certificate_id)


# ── what the workflow's guards and rules judge ───────────────────────────────────────────────


async def previous_state(certificate_id: int) -> str:
    hist = await wf.history(Certificate, certificate_id)
    return hist[-1]["from_state"] if hist else ""


async def certificate_context(cert: dict[str, Any], user: Any) -> dict[str, Any]:
    """Facts for the certificate workflow's guards and rules (metrolab.certificates.rules)."""
    from metrolab.accounts.services import valid_qualification
    from metrolab.accounts.tables import User
    from metrolab.forms import catalogue

    signers = cert.get("signers") or {}
    verifier = signers.get("verifier")
    on = cert.get("verified_on")
    std_codes: list[str] = []
    if cert.get("record"):
        from metrolab.records.tables import OriginalRecord

        rec = (
            await OriginalRecord.select(
                OriginalRecord.standards, OriginalRecord.verified_on, OriginalRecord.verifier
            )
            .where(OriginalRecord.id == cert["record"])
            .output(load_json=True)
            .first()
        )
        if rec:
            std_codes = list(rec["standards"] or [])
            on = on or rec["verified_on"]
            verifier = verifier or rec["verifier"]
    on = on or date.today()
    standards = await catalogue.get_standards(std_codes)
    expired = [
        f"{s['code']} {s.get('name', '')}（有效期至 {s.get('valid_until') or '未填'}）"
        for s in standards
        if s.get("valid_until") is None or s["valid_until"] < on
    ]
    found = {s["code"] for s in standards}
    expired += [f"{c}（未登记）" for c in std_codes if c not in found]
    names = {}
    ids = [i for i in {verifier, signers.get("checker")} if i]
    if ids:
        names = {
            r["id"]: r["full_name"]
            for r in await User.select(User.id, User.full_name).where(User.id.is_in(ids))
        }
    types = {t["code"]: catalogue.type_name(t) for t in await catalogue.list_types()}
    return {
        "compiler": cert.get("created_by"),
        "verifier": verifier,
        "checker": signers.get("checker"),
        "actor": actor_id(user),
        "previous_state": await previous_state(cert["id"])
        if cert["status"] == "recall_requested"
        else "",
        "verifier_name": names.get(verifier, ""),
        "checker_name": names.get(signers.get("checker"), ""),
        "actor_name": getattr(user, "full_name", ""),
        "actor_may_void": "certificates.void" in (getattr(user, "permissions", None) or ()),
        "verifier_qualified": bool(
            verifier and await valid_qualification(verifier, cert["instrument_type"], on)
        ),
        "verified_on": on.isoformat(),
        "instrument_type": cert["instrument_type"],
        "instrument_type_name": types.get(cert["instrument_type"], cert["instrument_type"]),
        "expired_standards": expired,
    }


async def newer_revision(certificate_id: int) -> dict[str, Any] | None:
    """The revision that replaces this certificate (being compiled or issued), if any."""
    return (
        await Certificate.select(Certificate.id, Certificate.revision, Certificate.number)
        .where(Certificate.supersedes == certificate_id)
        .first()
    )


async def certificate_actions(cert: dict[str, Any], user: Any) -> list[tuple[Any, Any]]:
    """(transition, refusal or None) for the detail page: what this person may do now."""
    from metrolab.engine import workflow as engine

    if await newer_revision(cert["id"]):
        return []
    defn, _v = await wf.definition(CERT_WF)
    ctx = await certificate_context(cert, user)
    return [
        (t, r)
        for t, r in engine.action_status(defn, cert["status"], user.roles, ctx)
        if t.key not in NOT_ON_DETAIL_PAGE
    ]


# ── one step ──────────────────────────────────────────────────────────────────────────────────


async def act(
    certificate_id: int,
    action: str,
    user: Any,
    *,
    reason: str | None = None,
    password: str | SignerProof | None = None,
    expected_lock: int | None = None,
) -> dict[str, Any]:
    """One workflow step on a certificate; the definition's effects follow (approve → issued)."""
    newer = await newer_revision(certificate_id)
    if newer:
        raise Conflict(
            f"该证书已有第 {newer['revision']} 版，请在新版本上操作",
        )
    cert = await get_certificate(certificate_id)
    if action in SUBMISSIONS and cert["status"] in ("compiling", "initial_review"):
        cert = await refresh_content(certificate_id)
    elif action in COUNTERSIGNATURES:
        await _refuse_if_changed(cert, user)
    signers = dict(cert.get("signers") or {})
    if action == "pass_check":
        signers["checker"] = actor_id(user)
    elif action == "approve":
        signers["approver"] = actor_id(user)
    changes = {Certificate.signers: signers} if signers != (cert.get("signers") or {}) else {}
    applied = await wf.apply(
        Certificate,
        certificate_id,
        CERT_WF,
        action,
        user,
        context=await certificate_context(cert, user),
        reason=(reason or "").strip() or None,
        password=password,
        expected_lock=expected_lock,
        changes=changes,
        signed_content={
            "certificate": certificate_id,
            "revision": cert["revision"],
            "action": action,
            "content_sha256": content_sha256(cert.get("context") or {}),
        },
    )
    if "new_revision" in applied.transition.effects:
        return await get_certificate(await _current_revision(certificate_id))
    return await get_certificate(certificate_id)


async def _current_revision(certificate_id: int) -> int:
    newer = await newer_revision(certificate_id)
    return newer["id"] if newer else certificate_id


async def _refuse_if_changed(cert: dict[str, Any], user: Any) -> None:
    """Content signed by the verifier must be what the checker and the approver sign: if the record,
    the lab settings or a standard changed since, the certificate goes back to 编制 (with the reason)."""
    if cert["status"] not in ("checking", "approving") or not cert.get("record"):
        return
    now = content_sha256(await derive_content(cert))
    if now == content_sha256(cert.get("context") or {}):
        return
    why = "证书内容在检定员签名后已改变（原始记录、标准器或机构信息被修改），已退回编制，请重新提交"
    await wf.apply(
        Certificate,
        cert["id"],
        CERT_WF,
        "content_changed",
        user,
        context=await certificate_context(cert, user),
        reason=why,
    )
    raise Conflict(why)


# ── the record lock (hook ``record.locked_by``) ────────────────────────────────────────────────


async def record_lock(record_id: int) -> dict[str, str] | None:
    """A record is read-only once its certificate left 编制: it changes again only when a return,
    a recall or a modification brings the certificate (or its revision N+1) back to 编制."""
    current = (
        await Certificate.select(
            Certificate.id, Certificate.status, Certificate.number, Certificate.revision
        )
        .where((Certificate.record == record_id) & (Certificate.status != "voided"))
        .order_by(Certificate.revision, ascending=False)
        .order_by(Certificate.id, ascending=False)
        .first()
    )
    if current is None or current["status"] == "compiling":
        return None
    labels = await wf.state_labels(CERT_WF)
    name = current["number"] or f"#{current['id']}"
    if current["status"] in ("issued", "printed", "released"):
        how = "如需更正，请申请内部追回（发放前）或已发修改（发放后），批准后记录重新开放"
    elif current["status"] in ("checking", "approving", "initial_review"):
        how = "如需更正，请核验员或批准人退回编制"
    elif current["status"] in (
        "recall_requested",
        "modification_requested",
        "modification_reviewed",
    ):
        how = "追回或修改申请正在审批，批准后出新版本、记录重新开放"
    else:
        how = "该证书已结束流转"
    return {
        "message": f"原始记录已用于证书 {name}（{labels.get(current['status'], '')}），不能直接修改。{how}。",
        "href": f"/business/certificates/{current['id']}",
    }


# ── effects the certificate workflow names (certificates/feature.py EFFECTS) ─────────────────


async def issue_effect(call: wf.EffectCall) -> None:
    """approve → the certificate is numbered, signed, rendered and stored (services.issue): here,
    after the approval commits, when there is no job queue (SQLite, inline)."""
    from metrolab import jobs

    if not jobs.queued():
        await jobs.render_certificate(call.object_id, call.user)


async def _enqueue_issue(call: wf.EffectCall) -> None:
    """With a job queue, the render job is written in the approval's own transaction: an approved
    certificate always has its job, and a failed approval leaves none."""
    from metrolab import jobs

    if jobs.queued():
        await jobs.defer_render_with_move(call.object_id, call.user)


issue_effect.during = _enqueue_issue


async def new_revision_effect(call: wf.EffectCall) -> None:
    """内部追回 / 已发修改 / 直接修改 approved: revision N+1 (编制中) takes over; its record is open again."""
    from metrolab import hooks
    from metrolab.certificates.services import new_revision

    new = await new_revision(call.object_id, call.user)
    await hooks.call("certificate.revised", call.object_id, new["id"])
    await audit(
        "certificate.new_revision",
        actor=call.user,
        target_type="certificate",
        target_id=new["id"],
        details={"supersedes": call.object_id, "reason": call.reason or ""},
    )


async def record_print_effect(call: wf.EffectCall) -> None:
    """打印 / 重新打印: the print log (who, when, reprint and why); the state is the workflow's."""
    from metrolab.certificates.printing import log_print

    await log_print(
        call.object_id,
        call.user,
        reprint=call.applied.transition.key == "reprint",
        reason=call.reason or "",
    )


# ── batch approval (§5.8.6) ───────────────────────────────────────────────────────────────────


@dataclass
class BatchResult:
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


async def approve_batch(ids: list[int], user: Any, password: str) -> BatchResult:
    """批量批准: one password for all; each certificate is approved and issued on its own, so one
    refusal or failure is listed and the rest go on. Rerunning completes what an interruption left:
    an approved certificate without its PDF is issued again (same number)."""
    from metrolab import jobs
    from metrolab.workflows.signatures import check_password

    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        raise Refused("请选择要批准的证书")
    if len(ids) > MAX_BATCH:
        raise Refused(f"一次最多批准 {MAX_BATCH} 份证书")
    proof = await check_password(user, password)  # a wrong password stops the batch before anything
    if jobs.queued():  # each approval defers its render job: workers render
        outcomes = [await approve_one(cid, user, proof) for cid in ids]
    else:
        outcomes = await _approve_then_issue(ids, user, proof)
    result = BatchResult()
    for outcome in outcomes:
        (result.done if outcome["ok"] else result.failed).append(outcome)
    await audit(
        "certificate.batch_approved",
        actor=user,
        target_type="certificate",
        target_id=None,
        details={
            "done": [d["id"] for d in result.done],
            "failed": [f["id"] for f in result.failed],
        },
    )
    return result


async def _approve_then_issue(
    ids: list[int], user: Any, proof: SignerProof
) -> list[dict[str, Any]]:
    """Without a job queue: each certificate approved in turn, and issued through one pipeline
    (numbers in list order) — the next is approved while LibreOffice converts the one before."""
    from metrolab import jobs

    pipeline, outcomes = IssuePipeline(user), []
    for cid in ids:
        with jobs.issues_collected() as approved:
            outcomes.append(await approve_one(cid, user, proof))
        for issued in approved:
            await pipeline.add(issued)
    issued_as = await pipeline.drain()
    return [_with_issue(o, issued_as.get(o["id"])) for o in outcomes]


def _with_issue(outcome: dict[str, Any], issued: dict[str, Any] | Refused | None) -> dict[str, Any]:
    if issued is None or not outcome["ok"]:
        return outcome
    if isinstance(issued, Refused):
        return {**outcome, "ok": False, "message": str(issued.detail), "status": issued.status_code}
    return {**outcome, "number": issued["number"]}


async def approve_one(cid: int, user: Any, password: str | SignerProof) -> dict[str, Any]:
    """One certificate of a batch: approve (which issues), or retry the issue of an approved one.
    Never raises: ``{"id", "label", "ok", "number" | "message"}``."""
    from metrolab import jobs

    label = f"#{cid}"
    try:
        cert = await get_certificate(cid)
        label = certificate_label(cert)
        note = ""
        if cert["status"] == "issued" and not cert["pdf_sha256"]:
            await jobs.render_certificate(cid, user)
            cert = await get_certificate(cid)
            note = "补出具"
        elif cert["status"] == "approving":
            cert = await act(
                cid, "approve", user, password=password, expected_lock=cert["lock_version"]
            )
        elif cert["pdf_sha256"]:
            note = "已出具"
        else:
            raise Conflict("该证书不在待批准状态")
        return {"id": cid, "label": label, "ok": True, "number": cert["number"], "note": note}
    except Refused as exc:
        return {
            "id": cid,
            "label": label,
            "ok": False,
            "message": str(exc.detail),
            "status": exc.status_code,
        }
    except Exception as exc:  # noqa: BLE001 - one broken certificate must not stop the batch
        return {"id": cid, "label": label, "ok": False, "message": str(exc) or type(exc).__name__}


def certificate_label(cert: dict[str, Any]) -> str:
    inst = (cert.get("context") or {}).get("instrument") or {}
    first = cert.get("number") or f"#{cert['id']}"
    return " ".join(x for x in (first, inst.get("name"), inst.get("serial")) if x)
