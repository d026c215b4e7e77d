"""Signed PDF/A certificates (docs/signing.md): a certificate issued the normal way (record → 核验 →
批准) is PDF/A-2b and carries the lab's PAdES B-T signature with the approver in its reason and a
timestamp of the lab TSA; its stored SHA-256 is the signed file's; an SM2 seal over its SM3 digest
verifies. Tampered copies are reported broken or modified; the public check answers match, mismatch,
junk and oversized uploads with a 4xx and a 中文 message. Real LibreOffice, real pyHanko, no mocks."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run
from metrolab import storage
from test_certificates import issued

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def signed(seeded, converter):  # noqa: ARG001 - the converter must be warm
    cert = run(issued(serial="SN-SIGN-4242"))
    assert cert["pdf_sha256"], cert.get("issue_error")
    return cert, storage.get(cert["pdf_sha256"])


def _validate(pdf: bytes):  # noqa: ANN202 - pyHanko's own status, not our summary
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from metrolab.certificates import keys

    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[-1]
    ctx = ValidationContext(
        trust_roots=keys.trust_roots(), allow_fetching=False, revocation_mode="soft-fail"
    )
    # pyHanko runs its own event loop: on a helper thread, as a browser test's loop may run here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return sig, pool.submit(
            validate_pdf_signature, sig, ctx, ts_validation_context=ctx
        ).result()


def test_the_issued_pdf_is_pdfa_2b_signed_by_the_lab_with_the_approver_and_timestamped(signed):
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    cert, pdf = signed
    assert (
        hashlib.sha256(pdf).hexdigest() == cert["pdf_sha256"]
    )  # the stored hash is the signed file's
    assert b"<pdfaid:part>2</pdfaid:part>" in pdf or b'pdfaid:part="2"' in pdf
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in pdf or b'pdfaid:conformance="B"' in pdf
    sig, status = _validate(pdf)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert str(sig.sig_object["/Reason"]) == "批准：王志刚"
    assert str(sig.sig_object["/Location"]) == cert["context"]["lab"]["name"]
    assert "证书签章" in status.signing_cert.subject.native["common_name"]
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted
    assert "TSA" in ts.signing_cert.subject.native["common_name"]
    assert cert["signature"]["reason"] == "批准：王志刚" and cert["signature"]["pades"] == "B-T"


def test_a_tampered_copy_is_broken_and_an_appended_one_is_modified(signed):
    from metrolab.certificates.signing import check_pdf

    cert, pdf = signed
    seal = cert["signature"]["sm2"]
    good = check_pdf(pdf, seal)
    assert good["ok"] and good["label"] == "签名有效" and good["sm2"]["valid"]

    flipped = bytearray(pdf)
    spot = pdf.index(b"stream", len(pdf) // 4) + 20  # inside the first page's content
    flipped[spot] ^= 0x20
    broken = check_pdf(bytes(flipped), seal)
    assert not broken["ok"] and not broken["intact"] and broken["label"] == "签名已损坏"
    assert not broken["sm2"]["valid"]

    # an incremental update after signing: the signed revision is intact, the file is not it
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("en-US")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    modified = check_pdf(out.getvalue(), seal)
    assert modified["intact"] and not modified["whole_file"] and not modified["ok"]
    assert modified["label"] == "签名后文件被修改" and not modified["sm2"]["valid"]


def test_the_sm2_seal_verifies_over_the_sm3_digest_and_fails_for_another_file(signed):
    from metrolab.engine.documents.pades import sm2_verify, sm3_hex

    cert, pdf = signed
    seal = cert["signature"]["sm2"]
    assert seal["algorithm"] == "SM2-with-SM3" and seal["sm3"] == sm3_hex(pdf)
    assert len(seal["public_key"]) == 128 and seal["signature"]
    assert sm2_verify(pdf, seal)
    assert not sm2_verify(pdf + b" ", seal)
    assert not sm2_verify(pdf, {**seal, "signature": "00" * 64})


def test_the_sm2_nonce_does_not_follow_pythons_random_and_gmssl_agrees():
    """Two seals made from the same `random` state must differ: a repeated nonce k gives the
    private key away from two signatures (gmssl's own nonce is `random.choice`). gmssl's own
    verification accepts the seal, and ours accepts gmssl's."""
    import random

    from metrolab.engine.documents.pades import _sm2, sm2_keypair, sm2_seal, sm2_verify

    private, public = sm2_keypair()
    seals = []
    for _ in range(2):
        random.seed(1234)
        seals.append(sm2_seal(b"certificate", private, public))
    assert seals[0]["signature"] != seals[1]["signature"]
    crypt = _sm2(private, public)  # gmssl's own CryptSM2, past its constructor's 04 bug
    digest = bytes.fromhex(seals[0]["sm3"])
    assert crypt.verify_with_sm3(seals[0]["signature"], digest)
    theirs = {**seals[0], "signature": crypt.sign_with_sm3(digest)}
    assert sm2_verify(b"certificate", theirs) and not sm2_verify(b"certificatE", theirs)


def test_a_public_key_beginning_04_still_verifies_its_seals():
    """gmssl's constructor strips a "04" prefix with lstrip, eating the 0s and 4s after it: one lab
    in 256 has such a key, and every seal it made read as broken."""
    from metrolab.engine.documents.pades import sm2_keypair, sm2_seal, sm2_verify

    private, public = next(k for k in iter(sm2_keypair, None) if k[1].startswith("04"))
    seal = sm2_seal(b"certificate", private, public)
    assert sm2_verify(b"certificate", seal) and not sm2_verify(b"certificatE", seal)


def test_sm3_is_the_standard_digest():
    """GB/T 32905—2016 Appendix A's two examples (the digest is OpenSSL's where it has SM3)."""
    from metrolab.engine.documents.pades import sm3_hex

    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_the_certificate_page_and_its_api_show_the_signature(signed, browser, make_user):
    cert, _pdf = signed
    viewer = browser.login(make_user("clerk"))
    page = viewer.get(f"/certificates/{cert['id']}")
    assert page.status_code == 200
    assert 'id="signature-status"' in page.text and "签名有效" in page.text
    assert "批准：王志刚" in page.text
    api = viewer.get(f"/api/v1/certificates/{cert['id']}/signature")
    body = api.json()
    assert api.status_code == 200 and body["ok"] and body["label"] == "签名有效"
    assert body["timestamp"]["valid"] and body["sm2"]["valid"]


def test_the_public_check_says_match_mismatch_and_refuses_junk_in_chinese(signed, browser):
    cert, pdf = signed
    url = f"/verify/{cert['verify_token']}"
    page = browser.get(url)
    assert 'id="sm2-seal"' in page.text and "验证通过" in page.text
    assert "核验证书文件" in page.text

    def check(data: bytes, name: str = "c.pdf", kind: str = "application/pdf"):  # noqa: ANN202
        return browser.post(url + "/check", files={"file": (name, data, kind)})

    r = check(pdf)
    assert r.status_code == 200 and "一致：" in r.text and "签名有效" in r.text
    r = check(pdf + b"\n%tampered")
    assert r.status_code == 400 and "不一致" in r.text and "签名后文件被修改" in r.text
    r = check(b"MZ\x90\x00 not a pdf at all", "evil.exe", "application/octet-stream")
    assert r.status_code == 415 and "该文件不是 PDF 文件" in r.text
    r = check(b"%PDF-1.7\n garbage that is no document")
    assert r.status_code == 422 and "无法读取该 PDF 文件" in r.text
    from metrolab.settings import get_settings

    r = check(b"%PDF-1.7\n" + b"0" * get_settings().upload_max_bytes)
    assert r.status_code == 413 and "文件过大" in r.text


def test_the_public_api_twin_needs_no_login_and_no_csrf(signed, new_browser):
    cert, pdf = signed
    anon = new_browser()
    url = f"/api/v1/verify/{cert['verify_token']}/check"
    r = anon.post(url, csrf=False, files={"file": ("c.pdf", pdf, "application/pdf")})
    body = r.json()
    assert r.status_code == 200 and body["match"] and body["signature"]["label"] == "签名有效"
    assert body["signature"]["reason"] == "批准：王志刚" and body["sm2"]["valid"]
    r = anon.post(url, csrf=False, files={"file": ("c.pdf", pdf + b"\n%x", "application/pdf")})
    assert r.status_code == 400 and not r.json()["match"]
    r = anon.post(url, csrf=False, files={"file": ("c.pdf", pdf[:-3000], "application/pdf")})
    assert r.status_code == 422 and "无法读取该 PDF 文件" in r.json()["detail"]
    r = anon.post(url, csrf=False, files={"file": ("x.txt", b"hello", "text/plain")})
    assert r.status_code == 415 and "不是 PDF" in r.json()["detail"]
    r = anon.post(
        f"/api/v1/verify/{cert['verify_token'][:-2]}zz/check",
        csrf=False,
        files={"file": ("c.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 404


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "METROLAB_DATA_DIR": str(data_dir), "METROLAB_LAB_NAME": "测试计量所"}
    return subprocess.run(
        [sys.executable, "-m", "metrolab.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        cwd=ROOT,
    )


def test_keys_init_show_and_import_from_the_command_line(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    made = _cli(tmp_path, "keys", "init")
    assert made.returncode == 0, made.stderr
    assert "已生成签名密钥" in made.stdout and "测试计量所 根证书" in made.stdout
    for name in ("lab_ca.key", "lab_signing.key", "lab_tsa.key", "lab_sm2.key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    tsa = x509.load_pem_x509_certificate((tmp_path / "lab_tsa.pem").read_bytes())
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.TIME_STAMPING in list(eku)
    shown = _cli(tmp_path, "keys", "show")
    assert shown.returncode == 0 and "SHA-256 指纹" in shown.stdout and "有效期" in shown.stdout
    again = _cli(tmp_path, "keys", "init")
    assert "已存在" in again.stdout  # never replaced by accident

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "正式签章证书")])
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    p12 = tmp_path / "real.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"real", key, cert, None, serialization.BestAvailableEncryption(b"pw-123")
        )
    )
    wrong = _cli(tmp_path, "keys", "import", "--p12", str(p12), "--password", "nope")
    assert wrong.returncode != 0 and "无法读取 PKCS#12" in wrong.stderr
    env_pw = {"METROLAB_P12_PASSWORD": "pw-123"}
    os.environ.update(env_pw)
    try:
        done = _cli(tmp_path, "keys", "import", "--p12", str(p12))
    finally:
        os.environ.pop("METROLAB_P12_PASSWORD")
    assert done.returncode == 0, done.stderr
    assert "CN=正式签章证书" in done.stdout
    assert (tmp_path / "lab_signing.key").stat().st_mode & 0o777 == 0o600


def test_an_imported_certificate_signs_with_the_lab_tsa_and_its_root_is_trusted(tmp_path):
    """What `keys import` gives: a PKCS#12 key (EC here) signing, its own root trusted, the lab TSA
    timestamping (the engine alone, on a one-page PDF: no LibreOffice, no data folder)."""
    from datetime import UTC, datetime, timedelta

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pypdf import PdfWriter

    from metrolab.engine.documents import pades

    def cert(cn: str, key, issuer_key, issuer: x509.Name | None = None, eku=None):  # noqa: ANN001, ANN202
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.now(UTC)
        b = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
        )
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
        return b.sign(issuer_key, hashes.SHA256())

    def a1(c):  # noqa: ANN001, ANN202
        return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))

    def k1(k):  # noqa: ANN001, ANN202
        der = k.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return asn1_keys.PrivateKeyInfo.load(der)

    own_key = ec.generate_private_key(ec.SECP256R1())
    own = cert("正式签章证书", own_key, own_key)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = cert("Lab CA", ca_key, ca_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = cert("Lab TSA", tsa_key, ca_key, ca.subject, [ExtendedKeyUsageOID.TIME_STAMPING])
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    material = pades.SigningMaterial(
        cert=a1(own), key=k1(own_key), chain=[a1(ca)], tsa_cert=a1(tsa), tsa_key=k1(tsa_key)
    )
    signed = pades.sign_pdf(buf.getvalue(), material, reason="批准：李四", location="测试所")
    result = pades.validate_pdf(signed, [a1(own), a1(ca)])
    assert result["intact"] and result["valid"] and result["trusted"] and result["whole_file"]
    assert result["reason"] == "批准：李四" and result["timestamp"]["trusted"]
    assert not pades.validate_pdf(signed, [a1(ca)])["trusted"]  # its root not trusted: says so

    # The next signature reuses the container size the first one measured; a kept size too small
    # (an external TSA's token grew) is measured again rather than failing the issue.
    key = next(iter(k for k in pades._reserved if k[0] == material.cert.sha256))  # noqa: SLF001
    again = pades.sign_pdf(buf.getvalue(), material, reason="批准：李四", location="测试所")
    assert pades._reserved_size(again) == pades._reserved_size(signed)  # noqa: SLF001
    pades._reserved[key] = 64  # noqa: SLF001
    regrown = pades.sign_pdf(buf.getvalue(), material, reason="批准：李四", location="测试所")
    for pdf in (again, regrown):
        assert pades.validate_pdf(pdf, [a1(own), a1(ca)])["trusted"]


def test_without_keys_and_auto_keys_off_nothing_is_issued_unsigned(
    seeded, converter, tmp_path, monkeypatch
):
    import dataclasses

    from metrolab.certificates import keys
    from metrolab.certificates.services import get_certificate
    from metrolab.settings import get_settings

    bare = dataclasses.replace(get_settings(), data_dir=tmp_path, signing_auto_keys=False)
    monkeypatch.setattr(keys, "get_settings", lambda: bare)
    assert not keys.exist()
    with pytest.raises(Exception, match="证书生成失败"):
        run(issued(serial="SN-NOKEYS-1"))
    from metrolab.certificates.tables import Certificate

    row = run(Certificate.select(Certificate.id).where(Certificate.status == "issued").first())
    cert = run(get_certificate(row["id"]))
    assert not cert["pdf_sha256"] and "metrolab keys init" in cert["issue_error"]
    assert not any(tmp_path.iterdir())  # no key was made behind the lab's back
