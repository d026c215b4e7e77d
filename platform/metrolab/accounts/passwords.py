"""argon2id password hashing, off the event loop (hashing is deliberately slow)."""

from __future__ import annotations

import os
from functools import lru_cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache
def _hasher() -> PasswordHasher:
    # The test suite creates many users; it may lower the cost, never production.
    if os.environ.get("METROLAB_TEST_FAST_HASH") == "1":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    # OWASP's argon2id minimum m=19 MiB, t=2, p=1 (Password Storage Cheat Sheet). argon2-cffi's
    # default (RFC 9106: 64 MiB, t=3, p=4 lanes) costs ~120 ms on an idle 2-core lab server and
    # 400+ ms when rendering runs beside it (this profile: ~50 ms) — and every signature re-asks
    # the password. Hashes keep their own parameters: old ones still verify, at their old cost.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache
def dummy_hash() -> str:
    """Verified when the user does not exist: made by the same hasher, so it costs the same argon2
    work as a real one and the timing does not tell whether the user exists."""
    return _hasher().hash("no such user: " + os.urandom(16).hex())


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return (
        await anyio.to_thread.run_sync(_verify, stored or dummy_hash(), password)
        and stored is not None
    )


def password_problem(password: str) -> str | None:
    """A 中文 message when a new password is too weak, else None."""
    if len(password) < 8:
        return "密码至少 8 位"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字"
    return None
