"""Certificates: what the business workflow calls (build the data, number, issue, recall, verify).

    ctx  = build_context(record, customer=…, instrument_type=…, people=…, standards=…, lab=…,
                         number=None, revision=1, verify_url=None)
    cert = await create_certificate(ctx, instrument_type="pressure_gauge", customer_id=…, user=…)
    cert = await issue(cert["id"])          # number + QR + signatures + PDF, all or nothing
    await recall(cert["id"], "原因", user)   # → 已撤回 on the public page
    new  = await new_revision(cert["id"], user)  # issue(new["id"]) → old one 已被第 2 版替代
    await verify_status(token)              # what the public page shows

Numbers: ``allocate_number`` / ``void_number`` (metrolab.certificates.numbers).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import anyio

from metrolab import hooks, storage
from metrolab.audit import chain
from metrolab.audit.log import record
from metrolab.certificates import signing
from metrolab.certificates.context import (
    CERTIFICATE,
    NOTICE,
    build_context,
    conforms,
    kind_for,
    valid_until,
)
from metrolab.certificates.numbers import allocate_number, number_for, void_number
from metrolab.certificates.tables import Certificate, CertificateTemplate, TemplateVersion
from metrolab.certificates.verification import (
    lookup,
    new_token,
    status_of,
    token_genuine,
    verify_status,
    verify_url,
)
from metrolab.kernel.errors import Conflict, NotFound, Refused
from metrolab.settings import get_settings

__all__ = [
    "CERTIFICATE",
    "NOTICE",
    "IssueFailed",
    "allocate_number",
    "build_context",
    "close_converter",
    "conforms",
    "converter",
    "create_certificate",
    "get_certificate",
    "issue",
    "kind_for",
    "lookup",
    "new_revision",
    "new_token",
    "pdf_of",
    "recall",
    "status_of",
    "token_genuine",
    "use_converter",
    "valid_until",
    "verify_status",
    "verify_url",
    "void_number",
]

TEMPLATE_FOR_KIND = {CERTIFICATE: "verification_certificate", NOTICE: "result_notice"}


class IssueFailed(Refused):
    """Issuing failed; the certificate keeps its state and shows ``issue_error``: retry."""

    status_code = 409


# ── one shared, warm PDF converter per process ──────────────────────────────────────────────

_converter: Any = None
_converter_external = False  # given by use_converter(): its owner closes it
_converter_lock = threading.Lock()


def converter(size: int = 2) -> Any:
    """The process's PDF converter (Word, else a warm LibreOffice pool of ``size`` servers), started
    on first use; a later call's ``size`` does not resize it."""
    global _converter
    with _converter_lock:
        if _converter is None:
            from metrolab.engine.documents.pdf import get_converter

            _converter = get_converter(size=size)
        return _converter


def warm_up(size: int = 2) -> None:
    """Start what issuing uses — the render process, LibreOffice (``size`` servers), pyHanko and the
    lab's keys, the QR encoder — on a throw-away document, so a worker's first certificate does not
    pay seconds for it (2.2 s against 0.3 s measured). Blocking: call it from a worker thread."""
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx, warm_up_document

    converter(size)
    pdf = to_pdf(render_docx(*warm_up_document()))
    signing.sign_issued(pdf, approver="预热", lab="预热")
    qr_png("warm-up")


async def warm_templates(limit: int = 200) -> int:
    """Check the lab's published template versions ahead (the check is cached per content), so no
    certificate pays for its template's first check. Returns how many were checked."""
    rows = (
        await TemplateVersion.select(TemplateVersion.docx_sha256)
        .where(TemplateVersion.status == "published")
        .order_by(TemplateVersion.id, ascending=False)
        .limit(limit)
    )
    shas = list(dict.fromkeys(r["docx_sha256"] for r in rows))
    for sha in shas:
        if storage.exists(sha):
            await anyio.to_thread.run_sync(_check_stored, sha)
    return len(shas)


def _check_stored(sha: str) -> None:
    from metrolab.engine.documents.render import check_ahead

    check_ahead(storage.get(sha))  # read and checked off the event loop


def use_converter(conv: Any) -> None:
    """Issue with ``conv`` (a test's or a benchmark's); ``close_converter`` leaves it to its owner."""
    global _converter, _converter_external
    with _converter_lock:
        _converter, _converter_external = conv, conv is not None


def close_converter() -> None:
    """Stop the converter (app shutdown); the next issue starts a new one."""
    global _converter
    with _converter_lock:
        if _converter is not None and not _converter_external:
            _converter.close()
            _converter = None


def to_pdf(docx: bytes) -> bytes:
    """DOCX → PDF; a conversion timeout is retried once (the pool restarts the stuck server)."""
    from metrolab.engine.documents.problems import ConversionTimeout

    conv = converter()
    try:
        return conv.convert(docx)
    except ConversionTimeout:
        return conv.convert(docx)


# ── certificates ──────────────────────────────────────────────────────────────────────────


MAX_ID = 2**31 - 1  # ids are 32-bit: a larger one is "not found", never a database error


def in_range(object_id: Any) -> bool:
    return isinstance(object_id, int) and 0 < object_id <= MAX_ID


async def get_certificate(certificate_id: int) -> dict[str, Any]:
    if not in_range(certificate_id):
        raise NotFound("证书不存在")
    row = (
        await Certificate.select(
            *Certificate.all_columns(), Certificate.customer.name.as_alias("customer_name")
        )
        .where(Certificate.id == certificate_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("证书不存在")
    return row


async def pdf_of(certificate_id: int) -> tuple[bytes, str]:
    """(the issued PDF, its file name); 404 before it is issued."""
    cert = await get_certificate(certificate_id)
    if not cert["pdf_sha256"]:
        raise NotFound("该证书尚未出具，没有 PDF")
    return storage.get(cert["pdf_sha256"]), f"{cert['number']}.pdf"


async def dcc_of(certificate_id: int) -> tuple[bytes, str]:
    """(the issued certificate's DCC XML, its file name) from its issued content; 404 before it is
    issued, 422 (logged) should the XML not validate against the DCC schema."""
    from metrolab.certificates.dcc import dcc_xml

    cert = await get_certificate(certificate_id)
    if not cert["pdf_sha256"]:
        raise NotFound("该证书尚未出具，没有数字证书（DCC）")
    return dcc_xml(cert["context"], certificate_id=certificate_id), f"{cert['number']}.dcc.xml"


async def create_certificate(
    context: dict[str, Any],
    *,
    instrument_type: str,
    customer_id: int | None = None,
    record_id: int | None = None,
    signers: dict[str, int] | None = None,
    template_version_id: int | None = None,
    user: Any = None,
    status: str = "compiling",
) -> dict[str, Any]:
    """A new certificate (revision 1) holding the contract ``context`` (not yet numbered)."""
    from metrolab.engine.documents.render import to_plain

    cert = Certificate(
        kind=context["certificate"]["kind"],
        status=status,
        record=record_id,
        instrument_type=instrument_type,
        customer=customer_id,
        context=to_plain(context),
        signers=signers or {},
        template_version=template_version_id,
        verified_on=context.get("verified_on"),
        valid_until=context.get("valid_until"),
        conclusion=context.get("conclusion") or "",
        created_by=getattr(user, "id", None),
    )
    await cert.save()
    await record("certificate.created", actor=user, target_type="certificate", target_id=cert.id)
    return await get_certificate(cert.id)


async def _template_bytes(cert: dict[str, Any]) -> tuple[int, bytes]:
    """The pinned template version, else the newest published version of the template the
    instrument type names for this kind (`certificate_template` / `notice_template`), else of the
    shipped one for the kind. A named template that is missing, of the other kind or unpublished
    is refused by name: a type never silently gets another layout."""
    from metrolab.certificates.catalogue import instrument_type

    query = TemplateVersion.select(TemplateVersion.id, TemplateVersion.docx_sha256)
    if cert["template_version"]:
        row = await query.where(TemplateVersion.id == cert["template_version"]).first()
        if row is None:
            raise Conflict("证书固定的模板版本不存在")
        return row["id"], storage.get(row["docx_sha256"])
    key = TEMPLATE_FOR_KIND[cert["kind"]]
    field, label = {
        CERTIFICATE: ("certificate_template", "证书模板"),
        NOTICE: ("notice_template", "检定结果通知书模板"),
    }[cert["kind"]]
    itype = (
        await instrument_type(cert["instrument_type"]) if cert["instrument_type"] else None
    ) or {}
    if own := itype.get(field) or "":
        kind = await _template_kind(own)
        if kind != cert["kind"]:
            why = "不存在" if kind is None else f"是{kind}模板"
            raise Conflict(
                f"器具类型“{itype['name']['zh']}”的{label}“{own}”{why}，"
                f"不能出具{cert['kind']}：请在器具类型中改选已发布的{cert['kind']}模板"
            )
        key = own
    row = (
        await query.where(
            (TemplateVersion.template.key == key) & (TemplateVersion.status == "published")
        )
        .order_by(TemplateVersion.number, ascending=False)
        .first()
    )
    if row is None:
        raise Conflict(f"证书模板“{key}”没有已发布的版本，不能出具{cert['kind']}")
    return row["id"], storage.get(row["docx_sha256"])


async def _template_kind(key: str) -> str | None:
    """The document kind of template ``key``, or None when there is no such template."""
    row = (
        await CertificateTemplate.select(CertificateTemplate.kind)
        .where(CertificateTemplate.key == key)
        .first()
    )
    return row["kind"] if row else None


async def _people_and_images(cert: dict[str, Any], ctx: dict[str, Any]) -> dict[str, bytes]:
    from metrolab.accounts.tables import User

    images: dict[str, bytes] = {}
    for role, user_id in (cert.get("signers") or {}).items():
        if role not in ctx.get("people", {}) or not user_id:
            continue
        user = (
            await User.select(User.full_name, User.signature_sha256)
            .where(User.id == user_id)
            .first()
        )
        if user is None:
            continue
        ctx["people"][role]["name"] = user["full_name"]
        if user["signature_sha256"] and storage.exists(user["signature_sha256"]):
            images[f"people.{role}.image"] = storage.get(user["signature_sha256"])
    return images


async def issue(certificate_id: int, *, user: Any = None) -> dict[str, Any]:
    """Number, QR code, signatures, PDF — then one final update (never half-issued).

    Only an approved certificate is issued: the certificate workflow's approve transition (with the
    signatory's signature) moves it to 待打印 and runs this as its effect; anything else is refused.
    On failure the certificate keeps its state with ``issue_error`` set and ``IssueFailed`` is
    raised; calling ``issue`` again retries with the same allocated number and the signed content.
    """
    cert = await get_certificate(certificate_id)
    if cert["pdf_sha256"]:
        return cert  # already issued: issuing is idempotent
    job = await _prepare(cert, user)
    digest, signature = await _guarded(cert, user, anyio.to_thread.run_sync(_produce, job))
    return await _finish(job, digest, signature, user)


@dataclass
class _Issue:
    """One certificate between its database reads (`_prepare`) and its final update (`_finish`)."""

    cert: dict[str, Any]
    template_version_id: int
    template: bytes
    number: str
    token: str
    ctx: dict[str, Any]
    images: dict[str, bytes]


async def _prepare(cert: dict[str, Any], user: Any) -> _Issue:
    """What issuing reads from the database, and the number (allocated here, so in call order)."""
    await _refuse_unless_approved(cert)  # not approved: refused as such, nothing written on it
    return await _guarded(cert, user, _read(cert))


async def _read(cert: dict[str, Any]) -> _Issue:
    from metrolab.lab.services import seal_png

    template_version_id, template = await _template_bytes(cert)
    today = date.today()
    number = cert["number"] or await number_for(cert["id"], today.year)
    token = new_token()
    ctx = dict(cert["context"])
    ctx["certificate"] = {
        **ctx.get("certificate", {}),
        "number": number,
        "kind": cert["kind"],
        "revision": cert["revision"] - 1,
        "issued_at": today,
    }
    ctx["verify_url"] = verify_url(token)
    ctx["people"] = {k: dict(v) for k, v in ctx.get("people", {}).items()}
    images = await _people_and_images(cert, ctx)
    if seal := await seal_png():
        images["lab.seal"] = seal
    return _Issue(cert, template_version_id, template, number, token, ctx, images)


def _produce(job: _Issue) -> tuple[str, dict[str, Any]]:
    """QR, .docx, PDF, signature, stored file: no database, blocking — one worker thread's work."""
    from metrolab.engine.documents.qr import qr_png
    from metrolab.engine.documents.render import render_docx

    images = {**job.images, "qr_code": qr_png(job.ctx["verify_url"])}
    pdf = to_pdf(render_docx(job.template, job.ctx, images))
    approver = (job.ctx["people"].get("approver") or {}).get("name") or ""
    lab = (job.ctx.get("lab") or {}).get("name") or get_settings().lab_name
    # Signed before it is hashed: the stored file, its SHA-256 and the QR page agree.
    pdf, signature = signing.sign_issued(pdf, approver=str(approver), lab=str(lab))
    return storage.put(pdf), signature


async def _guarded(cert: dict[str, Any], user: Any, step: Awaitable[Any]) -> Any:
    """Await one step of issuing; a failure is written on the certificate (``issue_error``,
    retryable) and raised as ``IssueFailed`` — a refusal (no such template version) as itself."""
    from metrolab.engine.documents.problems import TemplateProblem

    try:
        return await step
    except TemplateProblem as exc:  # a render refusal: shown on the certificate, retryable
        await _failed(cert, str(exc), user)
        raise IssueFailed(detail=f"证书生成失败，可重试：{exc.detail}") from exc
    except Refused as exc:
        await _failed(cert, str(exc.detail), user)
        raise
    except Exception as exc:  # noqa: BLE001 - render / conversion / storage: shown, retryable
        await _failed(cert, str(exc) or type(exc).__name__, user)
        raise IssueFailed(detail=f"证书生成失败，可重试：{exc}") from exc


async def _finish(job: _Issue, digest: str, signature: dict[str, Any], user: Any) -> dict[str, Any]:
    from metrolab.engine.documents.render import to_plain

    cert, number, certificate_id = job.cert, job.number, job.cert["id"]
    done = (
        await Certificate.update(
            {
                Certificate.number: number,
                Certificate.verify_token: job.token,
                Certificate.pdf_sha256: digest,
                Certificate.signature: signature,
                Certificate.issued_at: datetime.now(UTC),
                Certificate.context: to_plain(job.ctx),
                Certificate.template_version: job.template_version_id,
                Certificate.issue_error: "",
                Certificate.lock_version: cert["lock_version"] + 1,
            }
        )
        .where(
            (Certificate.id == certificate_id)
            & (Certificate.lock_version == cert["lock_version"])
            & (Certificate.pdf_sha256 == "")
        )
        .returning(Certificate.id)
    )
    if not done:
        raise Conflict("证书已被他人修改，请刷新后重试")
    if cert["supersedes"]:
        await Certificate.update(
            {
                Certificate.superseded_by: certificate_id,
                Certificate.lock_version: Certificate.lock_version + 1,
            }
        ).where(Certificate.id == cert["supersedes"])
        await chain.seal("certificate", cert["supersedes"])  # 已被第 N 版替代 on its public page
    await record(
        "certificate.issued",
        actor=user,
        target_type="certificate",
        target_id=certificate_id,
        details={"number": number, "pdf_sha256": digest, "signed": signature["reason"]},
    )
    if signature.get("keys_created"):  # first use without `metrolab keys init`: say so, once
        await record(
            "certificate.signing_keys_created",
            actor=user,
            target_type="certificate",
            target_id=certificate_id,
            details={"signer": signature["signer"]},
        )
    await hooks.call("certificate.issued", certificate_id)
    return await get_certificate(certificate_id)


class IssuePipeline:
    """Several certificates issued as one batch without a job queue (批量批准 on SQLite): each one's
    database work runs on the event loop in the order they are added — numbers follow that order —
    and its QR, .docx, PDF and signature in a thread, up to ``depth`` at a time. LibreOffice
    converts one certificate (its own process, another core) while the next is rendered and the
    one before is signed and stored, instead of the two cores taking turns.

        pipeline = IssuePipeline(user)
        await pipeline.add(cid)  # after each approval, in order
        results = await pipeline.drain()  # {id: issued certificate | the Refused it met}
    """

    def __init__(self, user: Any, depth: int = 2) -> None:
        self.user, self.depth = user, depth
        self.results: dict[int, dict[str, Any] | Refused] = {}
        self._making: list[tuple[_Issue, asyncio.Task[tuple[str, dict[str, Any]]]]] = []

    async def add(self, certificate_id: int) -> None:
        try:
            cert = await get_certificate(certificate_id)
            if cert["pdf_sha256"]:
                self.results[certificate_id] = cert
                return
            job = await _prepare(cert, self.user)
        except Exception as exc:  # noqa: BLE001 - one certificate's failure is its own
            self.results[certificate_id] = _as_refusal(exc)
            return
        made = asyncio.ensure_future(anyio.to_thread.run_sync(_produce, job))
        self._making.append((job, made))
        if len(self._making) >= self.depth:
            await self._finish_oldest()

    async def drain(self) -> dict[int, dict[str, Any] | Refused]:
        while self._making:
            await self._finish_oldest()
        return self.results

    async def _finish_oldest(self) -> None:
        job, made = self._making.pop(0)
        try:
            digest, signature = await _guarded(job.cert, self.user, made)
            self.results[job.cert["id"]] = await _finish(job, digest, signature, self.user)
        except Exception as exc:  # noqa: BLE001 - one certificate's failure is its own
            self.results[job.cert["id"]] = _as_refusal(exc)


def _as_refusal(exc: Exception) -> Refused:
    """What a batch lists for a certificate that was not issued (it stays approved: retryable)."""
    return exc if isinstance(exc, Refused) else IssueFailed(detail=f"证书生成失败，可重试：{exc}")


async def _refuse_unless_approved(cert: dict[str, Any]) -> None:
    """批准 is the only door to a numbered certificate: state 待打印 reached by a signed approval."""
    from metrolab.workflows.tables import TransitionRecord

    if cert["status"] != "issued":
        raise Conflict("证书尚未经核验和批准，不能出具（出具只能由批准人批准）")
    approval = (
        await TransitionRecord.select(TransitionRecord.signature)
        .where(
            (TransitionRecord.object_type == "certificate")
            & (TransitionRecord.object_id == cert["id"])
            & (TransitionRecord.action == "approve")
        )
        .order_by(TransitionRecord.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    if approval is None or not approval["signature"]:
        raise Conflict("证书没有批准人的签名记录，不能出具")


async def _failed(cert: dict[str, Any], message: str, user: Any) -> None:
    await Certificate.update(
        {
            Certificate.issue_error: message[:2000],
            Certificate.lock_version: Certificate.lock_version + 1,
        }
    ).where(Certificate.id == cert["id"])
    await record(
        "certificate.issue_failed",
        actor=user,
        target_type="certificate",
        target_id=cert["id"],
        details={"error": message[:500]},
    )


async def recall(certificate_id: int, reason: str, user: Any, password: str | None) -> None:
    """撤回 an issued certificate (the workflow's withdraw, signed): the public page shows 已撤回."""
    from metrolab.certificates.workflow import act

    await act(certificate_id, "withdraw", user, reason=reason, password=password)
    await Certificate.update(
        {
            Certificate.recalled_at: datetime.now(UTC),
            Certificate.recall_reason: (reason or "").strip(),
        }
    ).where(Certificate.id == certificate_id)
    await chain.seal("certificate", certificate_id)  # 已撤回 on its public page


async def new_revision(certificate_id: int, user: Any = None) -> dict[str, Any]:
    """A modification (§5.8.8/§5.8.9): revision N+1 with the same data, to be edited and issued.

    Issuing it marks the old one superseded (已被第 N 版替代); the old one is kept.
    """
    old = await get_certificate(certificate_id)
    if old["superseded_by"]:
        raise Conflict("该证书已有新版本")
    cert = Certificate(
        kind=old["kind"],
        status="compiling",
        revision=old["revision"] + 1,
        supersedes=old["id"],
        record=old["record"],
        instrument_type=old["instrument_type"],
        customer=old["customer"],
        context=old["context"],
        compiler_edits=old["compiler_edits"],  # the compiler's remarks carry over to revision N+1
        signers=old["signers"],
        verified_on=old["verified_on"],
        valid_until=old["valid_until"],
        conclusion=old["conclusion"],
        created_by=getattr(user, "id", None),
    )
    await cert.save()
    await record(
        "certificate.revision_created",
        actor=user,
        target_type="certificate",
        target_id=cert.id,
        details={"supersedes": old["id"], "revision": old["revision"] + 1},
    )
    return await get_certificate(cert.id)


async def published_template_keys() -> dict[str, str]:
    rows = await CertificateTemplate.select(CertificateTemplate.key, CertificateTemplate.kind)
    return {r["key"]: r["kind"] for r in rows}
