"""Timeline reads: message_pagination.yaml (/messages) and event_context.yaml
(/context). Both return only events the user may see (history visibility),
and neither returns non-state events of users the reader ignores
(modules/ignore_users.md)."""

from __future__ import annotations

import json
from typing import Any

from kith.errors import MatrixError, forbidden, invalid_param, not_found
from kith.http.types import Request, Requester, Route
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter, visible
from kith.store.events import EventStore, StoredEvent
from kith.sync.filter_errors import FilterError
from kith.sync.filters import RoomEventFilter, event_allowed, parse_room_event_filter
from kith.sync.ignored import NOBODY, IgnoredUsers, hides
from kith.sync.lazy_members import SentMembers
from kith.sync.tokens import pagination_token, parse_position

MAX_LIMIT = 1000
_END = 1 << 62


def parse_filter_arg(raw: str | None) -> RoomEventFilter | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise MatrixError(400, "M_NOT_JSON", "filter is not valid JSON") from None
    try:
        return parse_room_event_filter(value)
    except FilterError as err:
        raise MatrixError(400, err.errcode, err.message) from None


class Timeline:
    """Pages through a room's events for one user, skipping what they may not see."""

    def __init__(self, events: EventStore, visibility: VisibilityFilter) -> None:
        self._events = events
        self._visibility = visibility

    async def page(self, room_id: str, user_id: str, start: int, backwards: bool, limit: int,
                   stop: int | None, event_filter: RoomEventFilter | None,
                   ignored: frozenset[str] = NOBODY) -> tuple[list[StoredEvent], int | None]:
        """Up to `limit` visible events from position `start`; returns them and
        the position to continue from (None when the room has no more)."""
        memberships, visibility = await self._visibility.timelines(room_id, user_id)
        chosen: list[StoredEvent] = []
        pos = start
        batch = max(limit * 2, 20)
        for _ in range(50):  # bounded work per request
            if backwards:
                rows = await self._events.room_events(room_id, upto=pos, after=stop,
                                                      backwards=True, limit=batch)
            else:
                rows = await self._events.room_events(room_id, after=pos, upto=stop, limit=batch)
            for event in rows:
                pos = event.stream_id - 1 if backwards else event.stream_id
                if not visible(event, user_id, memberships, visibility):
                    continue
                if hides(ignored, event.sender, event.state_key):
                    continue
                if event_filter is not None and not event_allowed(
                        event_filter, {"type": event.type, "sender": event.sender,
                                       "content": event.content}, room_id):
                    continue
                chosen.append(event)
                if len(chosen) >= limit:
                    return chosen, pos
            if len(rows) < batch:
                return chosen, None
        return chosen, pos


def routes(events: EventStore, serializer: EventSerializer, visibility: VisibilityFilter,
           ignored_users: IgnoredUsers | None = None, sent_members: SentMembers | None = None
           ) -> list[Route]:
    timeline = Timeline(events, visibility)

    async def ignored_by(user_id: str) -> frozenset[str]:
        return await ignored_users.of(user_id) if ignored_users is not None else NOBODY

    async def reading_bound(room_id: str, user_id: str) -> int:
        """The last position the user may read in the room (their leave for
        former members); 403 for users who may not read it at all."""
        found = await events.membership(room_id, user_id)
        if found is not None and found[2]:
            # Spec (leaving.yaml, forget): a forgotten room's history is gone for them.
            raise forbidden("You have forgotten this room")
        if found is not None and found[0] == "join":
            return _END
        if await visibility.can_read_room_now(room_id, user_id):
            # world_readable: anyone may read on, former members too
            # (history_visibility.md rule 1); each event is still checked.
            return _END
        if found is not None and found[0] in ("leave", "ban"):
            return found[1]
        if found is not None and found[0] == "invite":
            # An invitee reads on while invited where history_visibility allows
            # it ("invited"), as /event does; each event is checked.
            return _END
        raise forbidden("You are not in this room")

    async def lazy_members(room_id: str, chunk: list[StoredEvent], requester: Requester,
                           upto: int, redundant: bool) -> list[dict[str, Any]]:
        # Lazy-loading room members: the member events of the chunk's senders,
        # read by key rather than the room's whole member list, less those the
        # device provably holds from /sync unless include_redundant_members.
        senders = {e.sender for e in chunk}
        state = await events.state_at(room_id, upto, ["m.room.member"], state_keys=senders)
        members = list(state.values())
        if not redundant and sent_members is not None:
            members = sent_members.unsent((requester.user_id, requester.device_id), room_id,
                                          members)
        return await serializer.serialize(members, requester)

    async def messages(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/messages"""
        user = request.user
        room_id = request.path_params["roomId"]
        direction = request.arg("dir") or "b"
        if direction not in ("b", "f"):
            raise invalid_param("dir must be b or f")
        backwards = direction == "b"
        limit = request.int_arg("limit", 10, minimum=0, maximum=MAX_LIMIT) or 0
        if await events.room_version(room_id) is None:
            raise forbidden("You are not in this room")
        bound = await reading_bound(room_id, user.user_id)
        raw_from = request.arg("from")
        if raw_from is not None:
            start = parse_position(raw_from)
        else:
            start = _END if backwards else 0
        start = min(start, bound) if backwards else start
        raw_to = request.arg("to")
        stop = parse_position(raw_to) if raw_to is not None else None
        if not backwards:
            stop = min(stop, bound) if stop is not None else (bound if bound != _END else None)
        event_filter = parse_filter_arg(request.arg("filter"))
        if limit == 0:
            return {"chunk": [], "start": raw_from or pagination_token(start)}
        chunk, next_pos = await timeline.page(room_id, user.user_id, start, backwards, limit,
                                              stop, event_filter, await ignored_by(user.user_id))
        if raw_from is None and backwards:
            start_token = pagination_token(chunk[0].stream_id if chunk else
                                           await events.room_position(room_id))
        else:
            start_token = raw_from or pagination_token(start)
        body: dict[str, Any] = {
            "chunk": await serializer.serialize(chunk, user),
            "start": start_token,
        }
        if next_pos is not None:
            body["end"] = pagination_token(next_pos)
        if event_filter is not None and event_filter.lazy_load_members and chunk:
            upto = max(e.stream_id for e in chunk)
            body["state"] = await lazy_members(room_id, chunk, user, upto,
                                               event_filter.include_redundant_members)
        return body

    async def context(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
        user = request.user
        room_id = request.path_params["roomId"]
        limit = request.int_arg("limit", 10, minimum=0, maximum=MAX_LIMIT) or 0
        event = await events.get_event(request.path_params["eventId"])
        if event is None or event.room_id != room_id or \
                not await visibility.can_see(room_id, user.user_id, event):
            raise not_found("Event not found")
        bound = await reading_bound(room_id, user.user_id)
        event_filter = parse_filter_arg(request.arg("filter"))
        # The asked-for event itself is returned even if its sender is ignored
        # (the client names it); the events around it follow the ignore list.
        ignored = await ignored_by(user.user_id)
        before_n = limit // 2
        after_n = limit - before_n
        before, before_next = await timeline.page(room_id, user.user_id, event.stream_id - 1,
                                                  True, before_n, None, event_filter, ignored) \
            if before_n else ([], event.stream_id - 1)
        after, after_next = await timeline.page(room_id, user.user_id, event.stream_id, False,
                                                after_n, None if bound == _END else bound,
                                                event_filter, ignored) if after_n else ([], event.stream_id)
        last = after[-1].stream_id if after else event.stream_id
        state = await events.state_at(room_id, last)
        if event_filter is not None and event_filter.lazy_load_members:
            senders = {e.sender for e in [*before, event, *after]}
            state = {k: v for k, v in state.items() if k[0] != "m.room.member" or k[1] in senders}
        return {
            "event": await serializer.serialize_one(event, user),
            "events_before": await serializer.serialize(before, user),
            "events_after": await serializer.serialize(after, user),
            "start": pagination_token(before_next if before_next is not None else 0),
            "end": pagination_token(after_next if after_next is not None else last),
            "state": await serializer.serialize(list(state.values()), user),
        }

    return [
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/messages", messages),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/context/{eventId}", context),
    ]
