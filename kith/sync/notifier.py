"""Wakes long-polling /sync requests when something arrives for their user.

Each user has a version number that every notification bumps. A /sync reads
the version before it computes its answer and, if the answer is empty, waits
until the version moves: nothing that happens between the two can be missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class Notifier:
    def __init__(self) -> None:
        # Versions come from one global counter, so a wake sets them with one
        # dict.update (C speed) however many members a room has.
        self._seq = 0
        self._versions: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._closing = False

    def version(self, user_id: str) -> int:
        return self._versions.get(user_id, 0)

    def wake(self, user_ids: Iterable[str]) -> None:
        users = user_ids if isinstance(user_ids, (set, frozenset)) else set(user_ids)
        if not users:
            return
        self._seq += 1
        self._versions.update(dict.fromkeys(users, self._seq))
        for user_id in self._events.keys() & users:
            self._events.pop(user_id).set()

    async def wait(self, user_id: str, seen_version: int, timeout_s: float) -> None:
        """Return when the user's version differs from seen_version, on
        shutdown, or after timeout_s."""
        if self._closing or self.version(user_id) != seen_version or timeout_s <= 0:
            return
        event = self._events.get(user_id)
        if event is None:
            event = self._events[user_id] = asyncio.Event()
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            if self._events.get(user_id) is event and not event.is_set():
                # Nobody else waits on it only if it is still unset; leaving a
                # set event would be harmless, an unset one is shared.
                pass

    def close(self) -> None:
        """Release every waiter (shutdown)."""
        self._closing = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    @property
    def closing(self) -> bool:
        return self._closing
