"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

# Each hash needs 19 MiB and a core for ~20 ms: at most two at a time keeps a
# burst of sign-ins from multiplying the server's memory or starving requests.
# A thread semaphore (taken inside the worker thread) works under any event loop.
_SLOTS = threading.BoundedSemaphore(2)


@functools.cache
def _hasher() -> PasswordHasher:
    """Built on first use, so that starting the server does not load argon2.

    Parameters: RFC 9106's second recommended option would take 64 MiB per
    hash; 19 MiB with t=2 is the OWASP baseline for argon2id.
    """
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password_sync(password: str) -> str:
    with _SLOTS:
        return _hasher().hash(password)


def _verify_sync(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    with _SLOTS:
        try:
            return _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    return await asyncio.to_thread(_verify_sync, password_hash, password)
