"""Presence tracking (spec: client-server-api modules/presence.md): the I/O
around kith.ephemeral.presence_rules.

Online and unavailable users are held in memory, with their clients'
connections (running /sync requests and when the last one ended). Offline
users are not: their last state is read from the store when asked. A change
others must hear about (state or status message) is written to the store,
which gives it a position in the global stream for /sync, and wakes the
long-polls of everyone who shares a room with the user. One timer, running
while anyone is online or unavailable, applies the idle and offline timeouts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from kith.ephemeral.presence_rules import (
    IDLE_TIMEOUT_MS, SYNC_TIMEOUT_MS, Presence, PresenceState, content, on_activity, on_put,
    on_sync, on_tick)
from kith.store.events import Persisted
from kith.store.presence import PresenceStore

log = logging.getLogger(__name__)

TICK_S = 5.0
Wake = Callable[[Iterable[str]], None]


class RoomMembers(Protocol):
    async def rooms_for_user(self, user_id: str, memberships: Iterable[str]
                             ) -> list[tuple[str, str, int]]: ...

    async def members(self, room_id: str, memberships: Iterable[str] = ...) -> list[str]: ...


def _wall_ms() -> int:
    return int(time.time() * 1000)


class PresenceTracker:
    def __init__(self, store: PresenceStore, rooms: RoomMembers, wake: Wake,
                 clock_ms: Callable[[], int] | None = None, idle_ms: int = IDLE_TIMEOUT_MS,
                 sync_timeout_ms: int = SYNC_TIMEOUT_MS) -> None:
        self._store = store
        self._rooms = rooms
        self._wake = wake
        self._clock = clock_ms or _wall_ms
        self._idle_ms = idle_ms
        self._sync_timeout_ms = sync_timeout_ms
        self._live: dict[str, Presence] = {}    # online or unavailable users
        self._syncing: dict[str, int] = {}      # user -> running /sync requests
        self._last_seen: dict[str, int] = {}    # user -> when a client was last connected
        self._loaded = False
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- reading ---------------------------------------------------------------------

    async def current(self, user_id: str) -> Presence:
        await self._load()
        found = self._live.get(user_id)
        if found is not None:
            return found
        return await self._store.get(user_id) or Presence()

    async def content_of(self, user_id: str) -> dict[str, Any]:
        return content(await self.current(user_id), self._clock())

    async def live_users(self) -> list[str]:
        """Users online or unavailable now: what an initial /sync reports."""
        await self._load()
        return list(self._live)

    # -- inputs ----------------------------------------------------------------------

    async def set_status(self, user_id: str, state: PresenceState, status_msg: str | None) -> None:
        """PUT /presence/{userId}/status."""
        now = self._clock()
        self._last_seen[user_id] = now
        await self._apply(user_id, on_put(await self.current(user_id), state, status_msg, now))

    async def sync_started(self, user_id: str, set_presence: str | None) -> None:
        if set_presence != "offline":
            # sync.yaml: with "offline" the client "is not marked as being
            # online", so it does not count as a connection either.
            self._syncing[user_id] = self._syncing.get(user_id, 0) + 1
            self._last_seen[user_id] = self._clock()
        current = await self.current(user_id)
        await self._apply(user_id, on_sync(current, set_presence, self._clock()))

    def sync_ended(self, user_id: str, set_presence: str | None) -> None:
        if set_presence == "offline":
            return
        left = self._syncing.get(user_id, 0) - 1
        if left > 0:
            self._syncing[user_id] = left
        else:
            self._syncing.pop(user_id, None)
        self._last_seen[user_id] = self._clock()

    async def activity(self, user_id: str) -> None:
        self._last_seen[user_id] = self._clock()  # the client that sent it is there
        await self._apply(user_id, on_activity(await self.current(user_id), self._clock()))

    async def after_persist(self, results: list[Persisted]) -> None:
        """RoomService.after_persist: sending an event is a pro-active event."""
        for sender in {str(p.pdu.get("sender")) for p in results}:
            await self.activity(sender)

    # -- timeouts --------------------------------------------------------------------

    async def tick(self) -> None:
        """Apply the idle and offline timeouts to everyone online or unavailable."""
        now = self._clock()
        for user_id, current in list(self._live.items()):
            connected = self._syncing.get(user_id, 0) > 0
            seen = self._last_seen.get(user_id, 0)
            nxt = on_tick(current, now, connected, seen, self._idle_ms, self._sync_timeout_ms)
            if nxt != current:
                await self._apply(user_id, nxt)
        stale = [u for u, seen in self._last_seen.items()
                 if u not in self._live and u not in self._syncing
                 and now - seen > self._sync_timeout_ms]
        for user_id in stale:
            del self._last_seen[user_id]

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- internals -------------------------------------------------------------------

    async def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        now = self._clock()
        for user_id, presence in await self._store.not_offline():
            # Nobody is connected after a restart: these go offline after the
            # sync timeout unless their clients come back.
            self._live.setdefault(user_id, presence)
            self._last_seen.setdefault(user_id, now)
        self._schedule()

    async def _apply(self, user_id: str, new: Presence) -> None:
        old = self._live.get(user_id) or await self._store.get(user_id) or Presence()
        if new.state == "offline":
            self._live.pop(user_id, None)
        else:
            self._live[user_id] = new
            self._schedule()
        if new.published() != old.published():
            await self._store.put(user_id, new)
            await self._wake_sharing(user_id)

    async def _wake_sharing(self, user_id: str) -> None:
        # presence.md: presence goes to the users who share a room with the user.
        users = {user_id}
        for room_id, _, _ in await self._rooms.rooms_for_user(user_id, ["join"]):
            users.update(await self._rooms.members(room_id))
        self._wake(users)

    def _schedule(self) -> None:
        if self._timer is not None or self._closed or not self._live:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (plain unit use): tick() is called directly
        self._timer = loop.call_later(TICK_S, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._run_tick())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("presence timeouts failed")
        self._schedule()
