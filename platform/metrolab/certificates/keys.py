"""The lab's signing keys: a self-signed lab CA, the certificate-signing key, the lab TSA, the SM2 key.

``metrolab keys init`` makes them; ``metrolab keys import --p12`` replaces the signing key with a real
one (the lab CA, TSA and SM2 key stay); ``metrolab keys show`` prints them. They are files at the top
of the data folder (``lab_*.pem`` / ``lab_*.key``, private ones mode 0600), so ``metrolab backup``
carries them with the other keys.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metrolab.settings import get_settings

log = logging.getLogger(__name__)

FILES = {
    "ca": ("lab_ca.pem", "lab_ca.key"),
    "signing": ("lab_signing.pem", "lab_signing.key"),
    "tsa": ("lab_tsa.pem", "lab_tsa.key"),
}
CHAIN = "lab_signing_chain.pem"  # the signing certificate's issuers (an imported one's chain)
SM2 = "lab_sm2.key"  # {"private": hex, "public": hex}
_lock = threading.Lock()


class KeysMissing(Exception):
    """No signing keys in the data folder (and creating them on first use is switched off)."""


def _dir() -> Path:
    return get_settings().data_dir


def _write(path: Path, data: bytes, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600 if private else 0o644)
    os.replace(tmp, path)


def _name(common: str, lab: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, lab),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _cert(
    subject: x509.Name,
    key: Any,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    years: int,
    eku: list[x509.ObjectIdentifier] | None = None,
    issuer_cert: x509.Certificate | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _pem_cert(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def exist() -> bool:
    folder = _dir()
    names = [n for pair in FILES.values() for n in pair] + [SM2]
    return all((folder / n).is_file() for n in names)


def init(*, force: bool = False, lab: str | None = None) -> dict[str, Any]:
    """The lab CA (RSA 3072, 10 years), the signing (EC P-256) and TSA (RSA 3072) certificates it
    issues (3 years), an SM2 key pair."""
    with _lock:
        if exist() and not force:
            return show()
        from metrolab.engine.documents.pades import sm2_keypair

        lab = lab or get_settings().lab_name
        folder = _dir()
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        ca_name = _name(f"{lab} 根证书 (Lab CA)", lab)
        ca = _cert(ca_name, ca_key, ca_name, ca_key, ca=True, years=10)
        made = {"ca": (ca, ca_key)}
        for role, label, eku in (
            ("signing", "证书签章", None),
            ("tsa", "时间戳服务 (Lab TSA)", [ExtendedKeyUsageOID.TIME_STAMPING]),
        ):
            # ECDSA P-256 signs certificates (fast: a key is loaded per signature); pyHanko's
            # in-process TSA signs RSA only.
            key: Any = (
                ec.generate_private_key(ec.SECP256R1())
                if role == "signing"
                else rsa.generate_private_key(public_exponent=65537, key_size=3072)
            )
            cert = _cert(
                _name(f"{lab} {label}", lab),
                key,
                ca_name,
                ca_key,
                ca=False,
                years=3,
                eku=eku,
                issuer_cert=ca,
            )
            made[role] = (cert, key)
        for role, (cert, key) in made.items():
            pem, key_file = FILES[role]
            _write(folder / key_file, _pem_key(key), private=True)
            _write(folder / pem, _pem_cert(cert), private=False)
        _write(folder / CHAIN, _pem_cert(ca), private=False)
        private, public = sm2_keypair()
        _write(folder / SM2, json.dumps({"private": private, "public": public}).encode(), True)
        return show()


def import_p12(data: bytes, password: bytes | None) -> dict[str, Any]:
    """Sign with a real certificate from a PKCS#12 file; its issuers are trusted beside the lab CA."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        raise ValueError(f"无法读取 PKCS#12 文件（密码错误或文件损坏）：{exc}") from exc
    if key is None or cert is None:
        raise ValueError("PKCS#12 文件中没有私钥和证书")
    if not exist():
        init()
    folder = _dir()
    with _lock:
        _write(folder / FILES["signing"][1], _pem_key(key), private=True)
        _write(folder / FILES["signing"][0], _pem_cert(cert), private=False)
        _write(folder / CHAIN, _pem_cert(*(extra or [])), private=False)
    return show()


_making = threading.Lock()


def ensure() -> bool:
    """True when keys were made now (first use, ``METROLAB_SIGNING_AUTO_KEYS``); KeysMissing when
    there are none and making them is off. One maker at a time: approvals arriving together must
    not each make (and overwrite) a lab CA while the others sign with theirs."""
    if exist():
        return False
    if not get_settings().signing_auto_keys:
        raise KeysMissing("没有签名密钥：请先运行 metrolab keys init 或 metrolab keys import --p12")
    with _making:
        if exist():
            return False
        init()
    log.warning("no signing keys in %s: made a self-signed lab CA, signing and TSA keys", _dir())
    return True


def _load_certs(path: Path) -> list[x509.Certificate]:
    return (
        x509.load_pem_x509_certificates(path.read_bytes())
        if path.is_file() and path.stat().st_size
        else []
    )


def _describe(cert: x509.Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(timespec="seconds"),
        "not_after": cert.not_valid_after_utc.isoformat(timespec="seconds"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }


def show() -> dict[str, Any]:
    folder = _dir()
    out: dict[str, Any] = {}
    for role, (pem, _key) in FILES.items():
        certs = _load_certs(folder / pem)
        if certs:
            out[role] = _describe(certs[0])
    if (folder / SM2).is_file():
        out["sm2"] = {"public_key": json.loads((folder / SM2).read_text())["public"]}
    return out


# ── material for signing and validation ─────────────────────────────────────────────────────────


@dataclass
class LabKeys:
    material: Any  # metrolab.engine.documents.pades.SigningMaterial
    trust_roots: list[Any]  # asn1crypto certificates
    sm2_private: str
    sm2_public: str


def _asn1_cert(cert: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(path: Path) -> Any:
    """A PKCS#8 PEM file (as written here) read without re-validating the key each time."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import pem

    _kind, _headers, der = pem.unarmor(path.read_bytes())
    return asn1_keys.PrivateKeyInfo.load(der)


def trust_roots() -> list[Any]:
    """The lab CA, and the self-signed roots of an imported signing certificate's chain."""
    folder = _dir()
    roots = _load_certs(folder / FILES["ca"][0])
    roots += [
        c
        for c in _load_certs(folder / CHAIN) + _load_certs(folder / FILES["signing"][0])
        if c.subject == c.issuer  # an imported self-signed certificate is its own root
    ]
    seen, out = set(), []
    for c in roots:
        if c.fingerprint(hashes.SHA256()) not in seen:
            seen.add(c.fingerprint(hashes.SHA256()))
            out.append(_asn1_cert(c))
    return out


def load() -> LabKeys:
    from metrolab.engine.documents.pades import SigningMaterial

    if not exist():
        raise KeysMissing("没有签名密钥：请先运行 metrolab keys init")
    folder = _dir()
    tsa = _load_certs(folder / FILES["tsa"][0])[0]
    issuers = _load_certs(folder / CHAIN)
    issuers += [c for c in _load_certs(folder / FILES["ca"][0]) if c not in issuers]  # the TSA's
    material = SigningMaterial(
        cert=_asn1_cert(_load_certs(folder / FILES["signing"][0])[0]),
        key=_asn1_key(folder / FILES["signing"][1]),
        chain=[_asn1_cert(c) for c in issuers],
        tsa_cert=_asn1_cert(tsa),
        tsa_key=_asn1_key(folder / FILES["tsa"][1]),
        tsa_url=get_settings().tsa_url,
    )
    sm2 = json.loads((folder / SM2).read_text())
    return LabKeys(material, trust_roots(), sm2["private"], sm2["public"])
