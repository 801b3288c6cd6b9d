"""The `presence` section of /sync (sync.yaml; modules/presence.md).

"Presence events are sent to interested parties where users share a room
membership": an initial sync lists the users online or unavailable now, an
incremental one those whose presence changed in (since, upto], in both cases
only the users who share a joined room with the requester (and the requester
themselves), minus users they ignore, through the filter's `presence` part.
The cost follows the number of changed (or live) users, not the size of the
requester's rooms: each candidate's own room list (cached) is checked against
the requester's.
"""

from __future__ import annotations

from typing import Any

from kith.ephemeral.presence import PresenceTracker, RoomMembers
from kith.store.presence import PresenceStore
from kith.sync.filters import EventFilter, event_allowed

# An incremental sync after a long absence reads at most this many changes.
MAX_CHANGES = 5_000


class PresenceSection:
    def __init__(self, tracker: PresenceTracker, store: PresenceStore, rooms: RoomMembers) -> None:
        self._tracker = tracker
        self._store = store
        self._rooms = rooms

    async def sync_started(self, user_id: str, set_presence: str | None) -> None:
        await self._tracker.sync_started(user_id, set_presence)

    def sync_ended(self, user_id: str, set_presence: str | None) -> None:
        self._tracker.sync_ended(user_id, set_presence)

    async def shares_room(self, user_id: str, other: str, joined: set[str]) -> bool:
        if other == user_id:
            return True
        rooms = await self._rooms.rooms_for_user(other, ["join"])
        return any(room_id in joined for room_id, _, _ in rooms)

    async def events(self, user_id: str, joined: set[str], since: int | None, upto: int,
                     ignored: frozenset[str], presence_filter: EventFilter
                     ) -> list[dict[str, Any]]:
        if since is None:
            candidates = await self._tracker.live_users()
        else:
            candidates = await self._store.changed_since(since, upto, MAX_CHANGES)
        limit = presence_filter.limit or MAX_CHANGES
        out: list[dict[str, Any]] = []
        for other in candidates:
            if other in ignored:
                continue  # ignore_users.md: nothing the ignored user sends
            if not event_allowed(presence_filter, {"type": "m.presence", "sender": other}):
                continue
            if not await self.shares_room(user_id, other, joined):
                continue
            out.append({"type": "m.presence", "sender": other,
                        "content": await self._tracker.content_of(other)})
            if len(out) >= limit:
                break
        return out
