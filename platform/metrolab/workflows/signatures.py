"""Electronic signatures: signing re-asks the password and records signer, meaning, time and the
SHA-256 of exactly what was signed (a canonical JSON of the signed content)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from metrolab.accounts import throttle
from metrolab.accounts.passwords import verify_password
from metrolab.accounts.tables import User
from metrolab.audit.log import record
from metrolab.kernel.errors import PasswordMissing, PasswordRefused
from metrolab.settings import get_settings
from metrolab.web.auth import CurrentUser

SIGNING_LOCKED = "签名密码错误次数过多，请 {minutes} 分钟后再试"


def canonical_sha256(content: Any) -> str:
    text = json.dumps(
        content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class SignerProof:
    """The signer's password was checked moments ago: one batch, one password, one argon2 check."""

    user_id: int


async def check_password(user: CurrentUser, password: str | None) -> SignerProof:
    """The signer's password, throttled like sign-in (the same counter table): after
    signing_max_failures wrong passwords signing is locked for lockout_minutes, even with the right
    one. Every wrong password is audited as signature.failed."""
    if not password:
        raise PasswordMissing(
            "签名须再次输入密码"
        )  # 400 with the message on the page, not a 422 page
    settings = get_settings()
    key = f"sign:{user.id}"
    locked = PasswordRefused(SIGNING_LOCKED.format(minutes=settings.lockout_minutes))

    async def failed(**details: bool) -> None:
        await record(
            "signature.failed", actor=user, target_type="user", target_id=user.id, details=details
        )

    if await throttle.locked(key):  # refused unchecked: no argon2 work for a locked signer
        await failed(locked=True, checked=False)
        raise locked
    row = await User.select(User.password_hash).where(User.id == user.id).first()
    if row is None or not await verify_password(row["password_hash"], password):
        locks = await throttle.note_failure(key, settings.signing_max_failures)
        await failed(locked=locks, checked=True)
        raise locked if locks else PasswordRefused("密码不正确，签名未完成")
    await throttle.clear(key)
    return SignerProof(user.id)


async def sign(
    user: CurrentUser, password: str | SignerProof | None, meaning: str, content: Any
) -> dict[str, Any]:
    """A signature by `user` with the given meaning (检定 / 核验 / 批准 …) over `content`, or a refusal."""
    if not (isinstance(password, SignerProof) and password.user_id == user.id):
        await check_password(user, password if isinstance(password, str) else None)
    row = await User.select(User.signature_sha256).where(User.id == user.id).first()
    assert row is not None  # the signer's own row
    return {
        "signer_id": user.id,
        "signer": user.full_name,
        "meaning": meaning,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": canonical_sha256(content),
        "image_sha256": row["signature_sha256"] or None,
    }
