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
    return PasswordHasher()


# Verifying against this keeps the timing the same whether or not the user exists.
_DUMMY = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$0a1B1kCLzJ5mMw0Ddub8ig"


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return (
        await anyio.to_thread.run_sync(_verify, stored or _DUMMY, password) and stored is not None
    )


def password_problem(password: str) -> str | None:
    """A 中文 message when a new password is too weak, else None."""
    if len(password) < 8:
        return "密码至少 8 位"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字"
    return None
