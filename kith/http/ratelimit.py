"""Token-bucket rate limiting per user or per client address.

Spec: client-server-api "Rate limiting": a limited request gets 429
M_LIMIT_EXCEEDED with retry_after_ms. Buckets are kept in a bounded dict.

Two budgets per user (or address, before login): STRICT for the routes marked
`rate_limited` (logins, registrations, password checks, joins, invites,
uploads, ...), EVERYDAY for every other request, generous enough for any
client (a timeline's worth of thumbnails at once) yet bounding a flood.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


STRICT = (2.0, 20)      # per second, burst
EVERYDAY = (50.0, 500)


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, max_keys: int = 50_000) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys

    def check(self, key: str, now: float | None = None) -> int:
        """Take one token; returns 0 if allowed, else milliseconds to wait."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return int((1 - bucket.tokens) / self.rate * 1000) + 1
