"""PAdES signatures on PDFs (pyHanko), a lab-run RFC 3161 timestamp authority, PDF/A markers, and an
SM2 signature over a file's SM3 digest (gmssl).

Generic: it signs and validates whatever bytes and key material it is given; where the keys live and
whose name goes in the reason is the certificates feature's business (``metrolab.certificates.keys``).
pyHanko's synchronous entry points run their own event loop: call these from a worker thread.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509

# The lab TSA's policy: a private OID arc (``2.25`` + a UUID as an integer), not a public TSA's.
LAB_TSA_POLICY = "2.25.238121716403592052457016736577553893402"
FIELD_NAME = "LabSignature"


@dataclass
class SigningMaterial:
    """The signer's certificate and key (asn1crypto), its chain, and how to timestamp."""

    cert: asn1_x509.Certificate
    key: asn1_keys.PrivateKeyInfo
    chain: list[asn1_x509.Certificate] = field(default_factory=list)
    tsa_cert: asn1_x509.Certificate | None = None
    tsa_key: asn1_keys.PrivateKeyInfo | None = None
    tsa_url: str = ""  # an external RFC 3161 TSA on the LAN wins over the lab's own


def _lab_timestamper(
    cert: asn1_x509.Certificate, key: asn1_keys.PrivateKeyInfo, chain: list
) -> Any:
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    # Loaded once: pyHanko's own TSA loads (and so re-validates) the RSA key for every token.
    private = serialization.load_der_private_key(key.dump(), password=None)
    if not isinstance(private, RSAPrivateKey):
        raise ValueError("the lab TSA signs with RSA (pyHanko's in-process TSA is RSA only)")
    rsa_key: RSAPrivateKey = private
    # The same for every token: built (and DER-encoded) once, not for each signature.
    signing_certificate = simple_cms_attribute(
        "signing_certificate", as_signing_certificate(cert)
    ).dump()

    class LabTimeStamper(DummyTimeStamper):
        """pyHanko's in-process TSA, answering with the lab's policy and a random serial."""

        def _build_tst_info(self, message_imprint, dt, req):  # type: ignore[no-untyped-def]
            info = super()._build_tst_info(message_imprint, dt, req)
            info["policy"] = tsp.ObjectIdentifier(LAB_TSA_POLICY)
            info["serial_number"] = secrets.randbits(63)
            return info

        def _sign_tst_info(self, tst_info_data, md_algorithm, dt):  # type: ignore[no-untyped-def]
            digest = hashes.Hash(getattr(hashes, md_algorithm.upper())())
            digest.update(tst_info_data)
            signed_attrs = cms.CMSAttributes(
                [
                    simple_cms_attribute("content_type", "tst_info"),
                    simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                    cms.CMSAttribute.load(signing_certificate),
                    simple_cms_attribute("message_digest", digest.finalize()),
                ]
            )
            algorithm = getattr(hashes, md_algorithm.upper())()
            signature = rsa_key.sign(signed_attrs.dump(), PKCS1v15(), algorithm)
            return signature, signed_attrs

    return LabTimeStamper(
        tsa_cert=cert,
        tsa_key=key,
        certs_to_embed=SimpleCertificateStore.from_certs(chain),
        fixed_dt=None,
    )


def timestamper(material: SigningMaterial) -> Any:
    if material.tsa_url:
        from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

        return RequestsHTTPTimeStamper(material.tsa_url, timeout=10)
    if material.tsa_cert is None or material.tsa_key is None:
        raise ValueError("no timestamp authority: neither a TSA URL nor the lab TSA's key")
    return _kept_lab_timestamper(
        material.tsa_cert.dump(), material.tsa_key.dump(), tuple(c.dump() for c in material.chain)
    )


@functools.lru_cache(maxsize=4)
def _kept_lab_timestamper(cert: bytes, key: bytes, chain: tuple[bytes, ...]) -> Any:
    """One lab TSA per key: loading its RSA key checks the key (about 0.1 s), at every issue."""
    return _lab_timestamper(
        asn1_x509.Certificate.load(cert),
        asn1_keys.PrivateKeyInfo.load(key),
        [asn1_x509.Certificate.load(c) for c in chain],
    )


def _off_any_loop(fn: Any) -> Any:
    """pyHanko's synchronous calls run their own event loop (asyncio.run): called where a loop
    already runs on this thread (a caller's own async code), they go to a helper thread."""

    def call(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(fn, *args, **kwargs).result()

    call.__doc__, call.__name__ = fn.__doc__, fn.__name__
    return call


@_off_any_loop
def sign_pdf(pdf: bytes, material: SigningMaterial, *, reason: str, location: str) -> bytes:
    """The PDF with a PAdES B-T signature appended as an incremental update (PDF/A stays PDF/A)."""
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signers.SimpleSigner(
        signing_cert=material.cert,
        signing_key=material.key,
        cert_registry=SimpleCertificateStore.from_certs(material.chain),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason,
        location=location,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper(material))
    key = (material.cert.sha256, material.tsa_url or material.tsa_cert and material.tsa_cert.sha256)
    try:
        signed = _sign(pdf_signer, pdf, _reserved.get(key))
    except SigningError as exc:  # an external TSA's token outgrew the kept size: estimate again
        if key not in _reserved or "larger than expected" not in str(exc):
            raise
        signed = _sign(pdf_signer, pdf, None)
    _reserved[key] = _reserved_size(signed)
    return signed


# The signature container's size per (signer, TSA): without it pyHanko sizes each container by a
# whole dry-run signature (timestamp included), about a third of a signature's cost.
_reserved: dict[tuple[Any, Any], int] = {}


def _sign(pdf_signer: Any, pdf: bytes, bytes_reserved: int | None) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return bytes(pdf_signer.sign_pdf(writer, bytes_reserved=bytes_reserved).getvalue())


def _reserved_size(signed: bytes) -> int:
    """The hex digits reserved for the last signature: the gap in its /ByteRange less ``<>``."""
    ranges = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s*\]", signed)
    start, length, resume = (int(n) for n in ranges[-1])
    return resume - (start + length) - 2


# ── validation ────────────────────────────────────────────────────────────────────────────────


@_off_any_loop
def validate_pdf(pdf: bytes, trust_roots: list[asn1_x509.Certificate]) -> dict[str, Any]:
    """What a reader would say of the PDF's (last) signature, trusting ``trust_roots`` only.

    ``{"signed": False, "error": …}`` when it cannot be read or holds no signature; else intact
    (the signed bytes are unchanged), valid (and the signature verifies), trusted (the chain ends
    in a trusted root), whole_file (nothing was appended after signing), timestamp, signer, reason.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - junk, truncated or encrypted: not a readable PDF
        return {"signed": False, "readable": False, "error": str(exc)[:300]}
    if not signatures:
        return {"signed": False, "readable": True, "error": "no signature"}
    sig = signatures[-1]
    context = ValidationContext(
        trust_roots=trust_roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = validate_pdf_signature(
            sig, signer_validation_context=context, ts_validation_context=context
        )
    except Exception as exc:  # noqa: BLE001 - a damaged signature of an uploaded file is an answer
        return {
            "signed": True,
            "readable": True,
            "intact": False,
            "valid": False,
            "trusted": False,
            "whole_file": False,
            "error": str(exc)[:300],
        }
    ts = status.timestamp_validity
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return {
        "signed": True,
        "readable": True,
        "intact": bool(status.intact),
        "valid": bool(status.valid),
        "trusted": bool(status.trusted),
        "whole_file": whole,
        "modified": not whole,
        "coverage": status.coverage.name if status.coverage else "",
        "signer": _who(status.signing_cert),
        "reason": str(sig.sig_object.get("/Reason", "")),
        "location": str(sig.sig_object.get("/Location", "")),
        "signed_at": _iso(status.signer_reported_dt),
        "timestamp": {
            "at": _iso(ts.timestamp),
            "valid": bool(ts.intact and ts.valid),
            "trusted": bool(ts.trusted),
            "tsa": _who(ts.signing_cert),
        }
        if ts is not None
        else None,
        "error": "",
    }


def _who(cert: asn1_x509.Certificate) -> str:
    """ "common name (organisation)" of a certificate's subject."""
    subject = cert.subject.native
    name = str(subject.get("common_name") or cert.subject.human_friendly)
    org = subject.get("organization_name")
    return f"{name}（{org}）" if org and org not in name else name


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def pdfa_part(pdf: bytes) -> tuple[str, str]:
    """(pdfaid:part, pdfaid:conformance) from the document's XMP metadata, or ("", "")."""
    found = {}
    for name in ("part", "conformance"):
        m = re.search(rb"pdfaid:" + name.encode() + rb"(?:>|=\")\s*([0-9A-Za-z]+)", pdf)
        found[name] = m.group(1).decode() if m else ""
    return found["part"], found["conformance"]


# ── SM2 over the SM3 digest (GB/T 32918, GB/T 32905) ──────────────────────────────────────────


def sm3_hex(data: bytes) -> str:
    """SM3 by OpenSSL (hashlib) where it has it: gmssl's pure-Python SM3 takes 0.8 s for a
    150 KB certificate, OpenSSL 1 ms — the same digest."""
    if "sm3" in hashlib.algorithms_available:
        return hashlib.new("sm3", data).hexdigest()
    from gmssl import func, sm3

    return str(sm3.sm3_hash(func.bytes_to_list(data)))


def sm2_keypair() -> tuple[str, str]:
    """(private key hex, public key hex: x‖y, 128 hex digits) on the SM2 recommended curve."""
    from gmssl import sm2

    table = sm2.default_ecc_table
    n = int(table["n"], 16)
    d = secrets.randbelow(n - 2) + 1
    crypt = sm2.CryptSM2(private_key=f"{d:064x}", public_key="")
    return f"{d:064x}", str(crypt._kg(d, table["g"]))


# The default signer ID "1234567812345678" (GB/T 35276), as gmssl's sign_with_sm3 puts it in Z.
_SM2_ID_HEX = "0080" + b"1234567812345678".hex()


def _sm2_e(public_hex: str, message: bytes) -> bytes:
    """e = SM3(Z ‖ M), Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2): what gmssl's
    sign_with_sm3 / verify_with_sm3 sign, with OpenSSL's SM3 instead of its pure-Python one."""
    from gmssl import sm2

    table = sm2.default_ecc_table
    z = bytes.fromhex(_SM2_ID_HEX + table["a"] + table["b"] + table["g"] + public_hex)
    return bytes.fromhex(sm3_hex(bytes.fromhex(sm3_hex(z)) + message))


def _sm2(private_hex: str, public_hex: str) -> Any:
    """gmssl's CryptSM2 with the public key as given. Its constructor drops a "04" prefix with
    ``str.lstrip("04")``, which also eats every 0 and 4 after it: a key whose x begins 04… (one
    in 256) became a shorter string, and every check of its seals failed."""
    from gmssl import sm2

    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


def sm2_seal(data: bytes, private_hex: str, public_hex: str) -> dict[str, str]:
    """An SM2 signature (with the SM3 Z-value) over the SM3 digest of ``data``.

    The nonce k comes from ``secrets``: gmssl's own (sign_with_sm3 without one) is drawn with
    ``random.choice`` — a predictable generator, and a known k gives away the private key."""
    from gmssl import sm2

    digest = sm3_hex(data)
    crypt = _sm2(private_hex, public_hex)
    e, n = _sm2_e(public_hex, bytes.fromhex(digest)), int(sm2.default_ecc_table["n"], 16)
    signature = None
    while signature is None:  # None: r = 0 or r + k = n (about 2^-256), a new k
        signature = crypt.sign(e, f"{secrets.randbelow(n - 1) + 1:064x}")
    return {
        "algorithm": "SM2-with-SM3",
        "sm3": digest,
        "signature": signature,
        "public_key": public_hex,
    }


def sm2_verify(data: bytes, seal: dict[str, Any]) -> bool:
    if not seal or not seal.get("signature") or not seal.get("public_key"):
        return False
    digest = sm3_hex(data)
    if digest != seal.get("sm3"):
        return False
    try:
        public_hex = str(seal["public_key"])
        crypt = _sm2("", public_hex)
        return bool(crypt.verify(str(seal["signature"]), _sm2_e(public_hex, bytes.fromhex(digest))))
    except (ValueError, TypeError, IndexError):
        return False
