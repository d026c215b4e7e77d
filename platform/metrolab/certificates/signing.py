"""The lab's signature on an issued certificate: PAdES B-T (pyHanko) with the approver in the reason,
an SM2 seal over the signed file's SM3 digest, and what a check of a PDF says (docs/signing.md).

``sign_issued`` runs in ``services.issue`` after the PDF is rendered and before its SHA-256 is taken,
so the stored, served and hashed file is the signed one. Blocking (pyHanko runs its own event loop):
call it from a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from metrolab.certificates import keys
from metrolab.engine.documents import pades
from metrolab.settings import get_settings
from metrolab.web.i18n import N_

log = logging.getLogger(__name__)


# The status labels (中文 first; English in the message catalogue).
SIGNATURE_VALID = N_("签名有效")
SIGNATURE_BROKEN = N_("签名已损坏")
SIGNATURE_MODIFIED = N_("签名后文件被修改")
SIGNATURE_UNTRUSTED = N_("签名者不受信任")
UNSIGNED = N_("未签名")
UNREADABLE = N_("无法读取的 PDF")


def sign_issued(pdf: bytes, *, approver: str, lab: str) -> tuple[bytes, dict[str, Any]]:
    """(signed PDF, what to store with the certificate). Raises when it cannot sign: an issued
    certificate is never unsigned while its page says signed."""
    created = keys.ensure()
    if created:
        log.warning("certificate signing keys created on first use in %s", get_settings().data_dir)
    lab_keys = keys.load()
    reason = f"批准：{approver}" if approver else "批准"
    signed = pades.sign_pdf(pdf, lab_keys.material, reason=reason, location=lab)
    seal = pades.sm2_seal(signed, lab_keys.sm2_private, lab_keys.sm2_public)
    info = {
        "pades": "B-T",
        "reason": reason,
        "location": lab,
        "signer": lab_keys.material.cert.subject.human_friendly,
        "tsa": lab_keys.material.tsa_url or "lab",
        "keys_created": created,
        "sm2": seal,
    }
    return signed, info


def label(result: dict[str, Any]) -> tuple[bool, str]:
    """(ok, 中文 label) of a ``pades.validate_pdf`` result."""
    if not result.get("readable", True):
        return False, UNREADABLE
    if not result.get("signed"):
        return False, UNSIGNED
    if not (result.get("intact") and result.get("valid")):
        return False, SIGNATURE_BROKEN
    if not result.get("whole_file"):
        return False, SIGNATURE_MODIFIED
    if not result.get("trusted"):
        return False, SIGNATURE_UNTRUSTED
    return True, SIGNATURE_VALID


_seal_checks: dict[tuple[str, str, str], bool] = {}  # (file SHA-256, signature, key) → verified


def seal_valid(pdf: bytes, seal: dict[str, Any]) -> bool:
    """``pades.sm2_verify``, remembered: gmssl's SM2 is pure Python (about 15 ms a check, held under
    the GIL), and an issued file (content-addressed) and its seal never change."""
    key = (hashlib.sha256(pdf).hexdigest(), str(seal.get("signature")), str(seal.get("public_key")))
    if key not in _seal_checks:
        if len(_seal_checks) > 4096:
            _seal_checks.clear()
        _seal_checks[key] = pades.sm2_verify(pdf, seal)
    return _seal_checks[key]


def check_pdf(pdf: bytes, seal: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a PDF against the lab's trust roots, and the SM2 seal when one is given."""
    roots = keys.trust_roots() if keys.exist() else []
    result = pades.validate_pdf(pdf, roots)
    ok, text = label(result)
    result.update(ok=ok, label=text)
    if seal:
        result["sm2"] = {"present": True, "valid": seal_valid(pdf, seal), **seal}
    else:
        result["sm2"] = {"present": False, "valid": False}
    return result


def looks_like_pdf(data: bytes) -> bool:
    """The PDF magic within the first kilobyte (readers allow leading junk there)."""
    return b"%PDF-" in data[:1024]


async def certificate_status(cert: dict[str, Any]) -> dict[str, Any]:
    """The signature of an issued certificate's stored PDF, validated now (not what was stored)."""
    import anyio

    from metrolab import storage

    stored = cert.get("signature") or {}
    if not cert.get("pdf_sha256"):
        return {"issued": False, "ok": False, "label": "", "stored": stored}
    if not storage.exists(cert["pdf_sha256"]):
        return {"issued": True, "ok": False, "label": N_("证书 PDF 文件缺失"), "stored": stored}
    pdf = await anyio.to_thread.run_sync(storage.get, cert["pdf_sha256"])
    result = await anyio.to_thread.run_sync(check_pdf, pdf, stored.get("sm2"))
    return {"issued": True, "stored": stored, **result}
