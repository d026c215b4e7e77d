"""What the public verification pages show (§5.3 证书核查, §7.2.3): signed QR tokens, the live
status of an issued certificate, lookup by number and serial.

Lookup by number + the serial's last 4 characters is guessable (sequential numbers × 10 000 tails),
so failed lookups are counted per client address: after :data:`LOOKUP_FAILURES` failures within
:data:`LOOKUP_WINDOW` every lookup from that address is refused (429) until the window ends. The
count is kept in the database (``login_throttle``, keys ``verify:<address>``), so every worker
process sees the same count; concurrent failures are counted with an atomic increment. The QR page
itself is not throttled: its token is signed and cannot be guessed. Behind a reverse proxy the
server must be told the real client address (uvicorn ``--proxy-headers --forwarded-allow-ips``),
or every visitor shares the proxy's count."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, Signer

from metrolab.accounts.tables import LoginThrottle
from metrolab.certificates.tables import Certificate
from metrolab.kernel.errors import Refused
from metrolab.settings import get_settings

LOOKUP_FAILURES = 10  # failed lookups per client address …
LOOKUP_WINDOW = timedelta(minutes=1)  # … within this window; then refused until it ends

# The public page's words for each state.
STATUS_VALID, STATUS_RECALLED, STATUS_EXPIRED, STATUS_VOIDED = "有效", "已撤回", "已过期", "已作废"
STATUS_NOTICE = "检定结果通知书：检定结论为不合格"
NOTICE = "检定结果通知书"


# ── the verification token: unguessable, signed, not the certificate number ────────────────


def _signer() -> Signer:
    return Signer(get_settings().secret_key, salt="metrolab.certificate.verify")


def new_token() -> str:
    return _signer().sign(secrets.token_urlsafe(12)).decode()


def token_genuine(token: str) -> bool:
    try:
        _signer().unsign(token.encode())
    except (BadSignature, UnicodeError, ValueError):
        return False
    return True


def verify_url(token: str) -> str:
    return f"{get_settings().base_url}/verify/{token}"


# ── public verification ───────────────────────────────────────────────────────────────────


def _public(cert: dict[str, Any]) -> dict[str, Any]:
    ctx = cert.get("context") or {}
    instrument = ctx.get("instrument") or {}
    return {
        "number": cert["number"],
        "kind": cert["kind"],
        "revision": cert["revision"],
        "instrument": " ".join(x for x in (instrument.get("name"), instrument.get("model")) if x),
        "serial": instrument.get("serial") or "",
        "customer": (ctx.get("customer") or {}).get("name") or cert.get("customer_name") or "",
        "conclusion": cert["conclusion"],
        "verified_on": cert["verified_on"],
        "valid_until": cert["valid_until"],
        "issued_at": cert["issued_at"],
        "pdf_sha256": cert["pdf_sha256"],
        "signature": cert.get("signature") or {},  # its SM2 seal is shown and checked publicly
        "lab": (ctx.get("lab") or {}).get("name") or get_settings().lab_name,
    }


# The states whose certificate offers its DCC on the public page: issued and standing (expired or a
# notice is still the lab's document); recalled, voided and superseded ones offer none.
DCC_STATES = frozenset({"valid", "expired", "notice"})


def offers_dcc(info: dict[str, Any]) -> bool:
    return bool(info.get("genuine")) and info.get("state") in DCC_STATES


async def newest_revision(cert: dict[str, Any]) -> dict[str, Any]:
    """The issued revision that replaces ``cert`` in the end (``cert`` itself if none does)."""
    newest, seen = cert, {cert["id"]}
    while newest["superseded_by"] and newest["superseded_by"] not in seen:
        seen.add(newest["superseded_by"])
        newest = await _certificate(newest["superseded_by"])
    return newest


async def status_of(cert: dict[str, Any]) -> tuple[str, str]:
    """(state, 中文 label) of an issued certificate. A 检定结果通知书 is never "有效": it states that
    the instrument failed; its page says so."""
    if cert["status"] == "voided":
        return "voided", STATUS_VOIDED
    if cert["superseded_by"]:
        newest = await newest_revision(cert)
        return "superseded", f"已被第 {newest['revision']} 版替代（证书编号 {newest['number']}）"
    if cert["recalled_at"] or cert["status"] == "recalled":
        return "recalled", STATUS_RECALLED
    if cert["kind"] == NOTICE:
        return "notice", STATUS_NOTICE
    if cert["valid_until"] and cert["valid_until"] < date.today():
        return "expired", STATUS_EXPIRED
    return "valid", STATUS_VALID


async def verify_status(token: str) -> dict[str, Any]:
    """What the QR code's page shows: ``{"genuine": False}`` or the status and key fields."""
    if not token or len(token) > 200 or not token_genuine(token):
        return {"genuine": False, "state": "not_genuine"}
    row = await Certificate.select(Certificate.id).where(Certificate.verify_token == token).first()
    if row is None:
        return {"genuine": False, "state": "not_genuine"}
    cert = await _certificate(row["id"])
    if not cert["pdf_sha256"]:
        return {"genuine": False, "state": "not_genuine"}
    state, label = await status_of(cert)
    info = {"genuine": True, "state": state, "status": label, "id": cert["id"], **_public(cert)}
    if state == "superseded":
        newest = await newest_revision(cert)
        info["replaced_by"] = {"number": newest["number"], "token": newest["verify_token"]}
    if cert["supersedes"]:
        old = await _certificate(cert["supersedes"])
        info["replaces"] = {"number": old["number"], "token": old["verify_token"]}
    return info


async def lookup(number: str, serial_tail: str) -> dict[str, Any] | None:
    """§5.3 证书核查: certificate number + the last 4 characters of the serial → its token."""
    number, serial_tail = (number or "").strip(), (serial_tail or "").strip()
    if not number or len(serial_tail) < 4:
        return None
    rows = (
        await Certificate.select(Certificate.verify_token, Certificate.context)
        .where((Certificate.number == number) & (Certificate.pdf_sha256 != ""))
        .output(load_json=True)
    )
    for row in rows:
        serial = str(((row["context"] or {}).get("instrument") or {}).get("serial") or "")
        if serial and serial[-4:] == serial_tail[-4:]:
            return row
    return None


class LookupThrottled(Refused):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"查询过于频繁：同一地址 {LOOKUP_WINDOW.seconds // 60} 分钟内最多 {LOOKUP_FAILURES} 次"
            f"未找到证书的查询，请 {retry_after} 秒后再试"
        )
        self.retry_after = retry_after


def _throttle_key(address: str) -> str:
    return f"verify:{address}"[:200]


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive timestamps back: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


async def check_lookup_allowed(address: str) -> None:
    """``LookupThrottled`` while ``address`` has used up its failed lookups."""
    row = (
        await LoginThrottle.select(LoginThrottle.locked_until)
        .where(LoginThrottle.key == _throttle_key(address))
        .first()
    )
    now = datetime.now(UTC)
    until = _aware(row["locked_until"]) if row else None
    if until is not None and until > now:
        raise LookupThrottled(max(1, int((until - now).total_seconds() + 0.999)))


async def note_failed_lookup(address: str) -> None:
    """Count one failed lookup; the window starts with the first failure (``updated_at``)."""
    key, now = _throttle_key(address), datetime.now(UTC)
    row = (
        await LoginThrottle.select(LoginThrottle.updated_at).where(LoginThrottle.key == key).first()
    )
    started = _aware(row["updated_at"]) if row else None
    if row is not None and (started is None or now - started >= LOOKUP_WINDOW):
        await LoginThrottle.update(
            {
                LoginThrottle.failures: 1,
                LoginThrottle.updated_at: now,
                LoginThrottle.locked_until: None,
            }
        ).where(LoginThrottle.key == key)
        return
    if row is None:
        try:
            await LoginThrottle.insert(LoginThrottle(key=key, failures=1, updated_at=now))
            return
        except Exception:  # noqa: BLE001 - another worker inserted it first: count below
            pass
    await LoginThrottle.update({LoginThrottle.failures: LoginThrottle.failures + 1}).where(
        LoginThrottle.key == key
    )
    counted = (
        await LoginThrottle.select(LoginThrottle.failures, LoginThrottle.updated_at)
        .where(LoginThrottle.key == key)
        .first()
    )
    if counted and counted["failures"] >= LOOKUP_FAILURES:
        start = _aware(counted["updated_at"]) or now
        await LoginThrottle.update({LoginThrottle.locked_until: start + LOOKUP_WINDOW}).where(
            LoginThrottle.key == key
        )


async def throttled_lookup(number: str, serial_tail: str, address: str) -> dict[str, Any] | None:
    """:func:`lookup` for a public visitor: refused (429) while the address is throttled, and a
    miss is counted."""
    await check_lookup_allowed(address)
    found = await lookup(number, serial_tail)
    if found is None:
        await note_failed_lookup(address)
    return found


async def _certificate(certificate_id: int) -> dict[str, Any]:
    from metrolab.certificates.services import get_certificate

    return await get_certificate(certificate_id)
