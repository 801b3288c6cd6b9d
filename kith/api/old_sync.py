"""The event stream API before /sync: old_sync.yaml (GET /events, GET
/events/{eventId}, GET /initialSync, all deprecated) and peeking_events.yaml
(GET /events with `room_id`, room_previews.md).

Deprecated is not removed: "Implementations of Matrix are required to
implement deprecated functionality of the specification" as long as they
advertise a version that includes it (spec: "Deprecation policy"), and every
version /versions lists still does.

GET /events returns what happened after `from` in the user's joined rooms, or
with `room_id` in that one room (peeking, which history visibility limits to
world_readable events for non-members), waiting up to `timeout` for something
to arrive. Tokens are sync tokens, so /initialSync's `end` works as `from`.
"""

from __future__ import annotations

import time
from typing import Any

from kith.api.room_initial_sync import RoomInfos, parse_limit
from kith.api.relations import parse_bool_arg
from kith.errors import not_found
from kith.http.types import Request, Requester, Route
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter
from kith.store.account_data import AccountDataStore
from kith.store.database import Database
from kith.store.events import EventStore, Persisted, StoredEvent
from kith.sync.notifier import Notifier
from kith.sync.tokens import SyncToken, parse_position

DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 60_000
MAX_EVENTS = 100
_END = 1 << 62


class EventStream:
    def __init__(self, db: Database, events: EventStore, serializer: EventSerializer,
                 visibility: VisibilityFilter, notifier: Notifier) -> None:
        self._db = db
        self._events = events
        self._serializer = serializer
        self._visibility = visibility
        self._notifier = notifier

    async def wake_peekers(self, results: list[Persisted]) -> None:
        """RoomService.after_persist hook: a peeker is no member, so it waits on
        the room's own key in the notifier (room IDs never look like user IDs)."""
        self._notifier.wake({r.room_id for r in results})

    async def _rooms(self, user_id: str, since: int, upto: int) -> list[str]:
        """The rooms the user is joined to, and those their membership changed
        in since the token (so a leave or a kick still reaches them)."""
        joined = [r for r, _, _ in await self._events.rooms_for_user(user_id, ["join"])]
        changed = await self._events.membership_changes_since(user_id, since, upto)
        return list(dict.fromkeys([*joined, *(r for r, _, _ in changed)]))

    async def _collect(self, user_id: str, rooms: list[str], since: int, upto: int
                       ) -> tuple[list[StoredEvent], int]:
        """The visible events in (since, upto], oldest first, at most
        MAX_EVENTS, and the position they reach: a room with more events than
        that ends the chunk early, so nothing is skipped."""
        bound = upto
        fetched = []
        for room_id in rooms:
            found = await self._events.room_events(room_id, after=since, upto=upto,
                                                   limit=MAX_EVENTS)
            if len(found) == MAX_EVENTS:
                bound = min(bound, found[-1].stream_id)
            fetched.append((room_id, found))
        chosen = [e for room_id, found in fetched
                  for e in await self._visibility.filter(room_id, user_id, found)
                  if e.stream_id <= bound]
        chosen.sort(key=lambda e: e.stream_id)
        if len(chosen) > MAX_EVENTS:
            chosen = chosen[:MAX_EVENTS]
            bound = chosen[-1].stream_id
        return chosen, bound

    async def events(self, requester: Requester, since: int | None, timeout_ms: int,
                     room_id: str | None) -> dict[str, Any]:
        user_id = requester.user_id
        key = room_id or user_id
        start = since if since is not None else self._db.current_stream_id
        deadline = time.monotonic() + min(timeout_ms, MAX_TIMEOUT_MS) / 1000
        while True:
            seen = self._notifier.version(key)
            upto = self._db.current_stream_id
            rooms = [room_id] if room_id is not None else await self._rooms(user_id, start, upto)
            chunk, end = await self._collect(user_id, rooms, start, upto)
            remaining = deadline - time.monotonic()
            if chunk or remaining <= 0 or self._notifier.closing:
                return {"start": SyncToken(start).encode(), "end": SyncToken(end).encode(),
                        "chunk": await self._serializer.serialize(chunk, requester)}
            await self._notifier.wait(key, seen, remaining)


def routes(stream: EventStream, infos: RoomInfos, events: EventStore,
           serializer: EventSerializer, visibility: VisibilityFilter,
           account_data: AccountDataStore, db: Database) -> list[Route]:
    async def get_events(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/events"""
        raw_from = request.arg("from")
        since = parse_position(raw_from) if raw_from is not None else None
        timeout = request.int_arg("timeout", DEFAULT_TIMEOUT_MS) or 0
        return await stream.events(request.user, since, timeout, request.arg("room_id"))

    async def get_event(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/events/{eventId}"""
        event = await events.get_event(request.path_params["eventId"])
        if event is None or not await visibility.can_see(event.room_id, request.user.user_id,
                                                         event):
            raise not_found("Event not found")
        return await serializer.serialize_one(event, request.user)

    async def initial_sync(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/initialSync"""
        user = request.user
        limit = parse_limit(request)
        wanted = ["join", "invite"]
        if parse_bool_arg(request, "archived"):
            wanted += ["leave", "ban"]
        end = db.current_stream_id
        global_data, room_data = await account_data.changed_since(user.user_id, None, end)
        rooms = []
        for room_id, _, _ in await events.rooms_for_user(user.user_id, wanted):
            info = await infos.room_info(user, room_id, limit, room_data.get(room_id, []))
            if info is not None:
                rooms.append(info)
        return {"end": SyncToken(end).encode(), "rooms": rooms, "presence": [],
                "account_data": global_data}

    return [
        Route("GET", "/_matrix/client/v3/events", get_events),
        Route("GET", "/_matrix/client/v3/events/{eventId}", get_event),
        Route("GET", "/_matrix/client/v3/initialSync", initial_sync),
    ]
