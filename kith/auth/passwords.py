"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Parameters of RFC 9106's second recommended option (64 MiB would cost too much
# memory on small servers; 19 MiB / t=2 follows the OWASP baseline for argon2id).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


def hash_password_sync(password: str) -> str:
    return _HASHER.hash(password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False

    def check() -> bool:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
