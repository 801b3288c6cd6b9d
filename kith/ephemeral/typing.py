"""Who is typing in which room (spec: client-server-api modules/
typing_notifications.md, typing.yaml).

Typing state is ephemeral and never stored: it lives here, in memory, and a
restart forgets it. Every change (start, stop, expiry) bumps `serial`; /sync
keeps the serial it last saw in its token and asks `changed_rooms(since)` which
rooms' `m.typing` event to send again. The event always carries the full list
of typers, since clients REPLACE their knowledge with it.

Expiry is lazy (every read drops expired typers) plus one asyncio timer per
room, set for the room's earliest expiry, so the room's members are woken when
someone stops typing without sending anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

WakeRoom = Callable[[str], Awaitable[None]]

MAX_TIMEOUT_MS = 120_000
DEFAULT_TIMEOUT_MS = 30_000


class TypingTracker:
    def __init__(self, wake_room: WakeRoom, clock: Callable[[], float] = time.monotonic) -> None:
        self._wake_room = wake_room
        self._clock = clock
        self._typers: dict[str, dict[str, float]] = {}   # room -> user -> expiry (s)
        self._changed_at: dict[str, int] = {}             # room -> serial of last change
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Serials carry on across restarts: a run starts at the wall clock in
        # microseconds, above any serial the previous run reached (that would
        # take more than one typing change per microsecond), so a token from
        # before a restart asks for every change of this run.
        self._serial = time.time_ns() // 1000

    # -- reading ---------------------------------------------------------------------

    @property
    def serial(self) -> int:
        self._expire_all()
        return self._serial

    def changed_rooms(self, since_serial: int) -> set[str]:
        """Rooms whose typing list changed after `since_serial`. A serial from
        the future (a token minted before a restart) yields every room that
        has typers now, which is all a client can be missing."""
        self._expire_all()
        if since_serial > self._serial:
            return {room for room, typers in self._typers.items() if typers}
        return {room for room, at in self._changed_at.items() if at > since_serial}

    def typing_users(self, room_id: str) -> list[str]:
        self._expire(room_id)
        return sorted(self._typers.get(room_id, {}))

    def event_for(self, room_id: str) -> dict[str, Any]:
        """The room's `m.typing` ephemeral event (event-schemas m.typing.yaml)."""
        return {"type": "m.typing", "content": {"user_ids": self.typing_users(room_id)}}

    # -- writing ---------------------------------------------------------------------

    async def set(self, room_id: str, user_id: str, typing: bool,
                  timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Record a PUT /rooms/{roomId}/typing/{userId} and wake the room."""
        self._expire(room_id)
        typers = self._typers.setdefault(room_id, {})
        was_typing = user_id in typers
        if typing:
            timeout = min(max(timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
            typers[user_id] = self._clock() + timeout
            self._schedule(room_id)
        else:
            typers.pop(user_id, None)
            if not typers:
                self._drop_room(room_id)
        # Repeated "still typing" requests only move the expiry: nobody else
        # needs to hear about them.
        if typing != was_typing:
            self._bump(room_id)
            await self._wake(room_id)

    # -- expiry ----------------------------------------------------------------------

    def _bump(self, room_id: str) -> None:
        self._serial += 1
        self._changed_at[room_id] = self._serial

    def _expire(self, room_id: str) -> bool:
        typers = self._typers.get(room_id)
        if not typers:
            return False
        now = self._clock()
        gone = [user for user, expiry in typers.items() if expiry <= now]
        for user in gone:
            del typers[user]
        if gone:
            self._bump(room_id)
            if not typers:
                self._drop_room(room_id)
        return bool(gone)

    def _expire_all(self) -> None:
        for room_id in list(self._typers):
            self._expire(room_id)

    def _drop_room(self, room_id: str) -> None:
        self._typers.pop(room_id, None)
        timer = self._timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()

    def _schedule(self, room_id: str) -> None:
        typers = self._typers.get(room_id)
        old = self._timers.pop(room_id, None)
        if old is not None:
            old.cancel()
        if not typers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (plain unit use): lazy expiry alone suffices
        delay = max(0.0, min(typers.values()) - self._clock())
        self._timers[room_id] = loop.call_later(delay + 0.001, self._on_timer, room_id)

    def _on_timer(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        if self._expire(room_id):
            task = asyncio.get_running_loop().create_task(self._wake(room_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._schedule(room_id)

    async def _wake(self, room_id: str) -> None:
        try:
            await self._wake_room(room_id)
        except Exception:
            log.exception("waking room %s after a typing change failed", room_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
