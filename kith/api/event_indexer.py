"""Keeps tables derived from the events table (notifications, the search
index) caught up, after each commit and off the request path.

RoomService.after_persist only wakes the indexer: sending an event costs no
extra transaction, and the catch-up starts DELAY_S later, so that a burst of
events is handled in one go and the work does not compete with delivering
the new event to waiting /sync requests. Each
consumer remembers its own stream position in its own tables, so nothing is
lost if the process stops with work pending: the next catch-up continues from
there. Readers that need the derived data up to date (GET /notifications,
POST /search) await `catch_up()` first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kith.store.events import Persisted

log = logging.getLogger(__name__)

Consumer = Callable[[], Awaitable[None]]
DELAY_S = 0.05


class EventIndexer:
    def __init__(self, consumers: list[Consumer]) -> None:
        self._consumers = consumers
        self._lock = asyncio.Lock()
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def after_persist(self, results: list[Persisted]) -> None:
        """RoomService.after_persist hook: schedule a catch-up."""
        if self._closed:
            return
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        # Runs until no event arrived during the last catch-up, then ends, so
        # an idle server has no task waiting.
        while self._pending and not self._closed:
            await asyncio.sleep(DELAY_S)
            self._pending = False
            try:
                await self.catch_up()
            except Exception:
                log.exception("indexing events failed")
                return

    async def catch_up(self) -> None:
        async with self._lock:
            for consumer in self._consumers:
                await consumer()

    def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
