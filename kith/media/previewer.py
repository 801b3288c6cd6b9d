"""URL previews as the server runs them (spec: GET /_matrix/client/v1/media/preview_url):
on threads of their own, a few per user at a time, with a small cache.

* Fetching a page blocks a thread for up to preview.TIMEOUT_S. Previews get
  their own few threads (for lookups too), never the pool that file reads
  and writes, thumbnails and password hashing share: slow sites then delay
  only other previews.
* A user has at most MAX_PER_USER previews under way; one more is told to
  come back later (429 M_LIMIT_EXCEEDED), rather than queueing ever more.
* Results are kept for a while, bounded in count and size: clients ask again
  for the same link (every member of a room, every time the message is
  shown), and the spec lets the server answer with the version it has
  (`ts` is only "the preferred point in time"). Failures are kept briefly,
  so that a site that hangs is not asked again and again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kith.media import preview as fetching
from kith.media.preview import PreviewFailed, resolver_on

WORKERS = 4
MAX_PER_USER = 2
RESULT_TTL_S = 3600.0
FAILURE_TTL_S = 60.0
CACHE_ENTRIES = 1000
CACHE_CHARS = 4_000_000  # of URLs, keys and values: the cache's size in memory, roughly


class PreviewBusy(Exception):
    """The user has MAX_PER_USER previews under way already."""


class Previewer:
    def __init__(self, *, workers: int = WORKERS, per_user: int = MAX_PER_USER) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="kith-preview")
        self._resolve = resolver_on(self._executor)
        self._per_user = per_user
        self._active: dict[str, int] = {}
        # url -> (expires at, result or failure message, weight), oldest first.
        self._cache: OrderedDict[str, tuple[float, dict[str, Any] | str, int]] = OrderedDict()
        self._cache_chars = 0

    async def preview(self, user_id: str, url: str) -> dict[str, Any]:
        """The OpenGraph data of `url`, from the cache or fetched. Raises
        PreviewRefused, PreviewFailed or PreviewBusy."""
        cached = self._cached(url)
        if isinstance(cached, str):
            raise PreviewFailed(cached)
        if cached is not None:
            return dict(cached)
        if self._active.get(user_id, 0) >= self._per_user:
            raise PreviewBusy()
        self._active[user_id] = self._active.get(user_id, 0) + 1
        try:
            result = await fetching.preview(url, self._resolve, self._executor)
        except PreviewFailed as exc:
            self._remember(url, str(exc), FAILURE_TTL_S)
            raise
        finally:
            left = self._active[user_id] - 1
            if left:
                self._active[user_id] = left
            else:
                del self._active[user_id]
        self._remember(url, result, RESULT_TTL_S)
        return dict(result)

    def _cached(self, url: str) -> dict[str, Any] | str | None:
        entry = self._cache.get(url)
        if entry is None:
            return None
        expires, value, weight = entry
        if expires <= time.monotonic():
            del self._cache[url]
            self._cache_chars -= weight
            return None
        return value

    def _remember(self, url: str, value: dict[str, Any] | str, ttl: float) -> None:
        old = self._cache.pop(url, None)
        if old is not None:
            self._cache_chars -= old[2]
        weight = len(url) + (len(value) if isinstance(value, str) else sum(
            len(key) + len(str(item)) for key, item in value.items()))
        if weight > CACHE_CHARS:
            return
        self._cache[url] = (time.monotonic() + ttl, value, weight)
        self._cache_chars += weight
        while len(self._cache) > CACHE_ENTRIES or self._cache_chars > CACHE_CHARS:
            _, (_, _, dropped) = self._cache.popitem(last=False)
            self._cache_chars -= dropped
