"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Parameters of RFC 9106's second recommended option (64 MiB would cost too much
# memory on small servers; 19 MiB / t=2 follows the OWASP baseline for argon2id).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Each hash needs 19 MiB and a core for ~20 ms: at most two at a time keeps a
# burst of sign-ins from multiplying the server's memory or starving requests.
# A thread semaphore (taken inside the worker thread) works under any event loop.
_SLOTS = threading.BoundedSemaphore(2)


def hash_password_sync(password: str) -> str:
    with _SLOTS:
        return _HASHER.hash(password)


def _verify_sync(password_hash: str, password: str) -> bool:
    with _SLOTS:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    return await asyncio.to_thread(_verify_sync, password_hash, password)
