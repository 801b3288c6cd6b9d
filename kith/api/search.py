"""POST /_matrix/client/v3/search (search.yaml): server-side search of room events.

Spec: client-server-api/modules/search.md. The `room_events` category covers
the rooms the user is or was in (not those they forgot), "including those
that they have left", and only events they may see: each room contributes the
stream ranges its history visibility lets them read (search_query.visible_windows),
so matches, `count` and pagination never involve an event they could not
fetch. "The search will not include rooms that are end to end encrypted": a
room with m.room.encryption in its state is left out whole (its messages are
ciphertext anyway; this also drops plaintext sent before encryption was on).

Ordering is by FTS5's bm25 relevance (`rank`, higher is better) or newest
first (`recent`). `next_batch` is opaque: a rank offset or a stream position,
and for a group's next_batch the group it stays in. Redacted events, events
of erased senders that this reader gets redacted, and events outside the
request's `filter` are skipped after matching, so a page can hold fewer
results than the limit while next_batch still leads on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kith.api.messages import Timeline
from kith.api.search_query import (
    Batch,
    Criteria,
    decode_batch,
    match_expression,
    parse_criteria,
    terms,
    visible_windows,
)
from kith.errors import invalid_param
from kith.http.types import Request, Requester, Route
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter
from kith.store.events import EventStore, StoredEvent
from kith.store.search import Query, SearchStore
from kith.sync.filters import event_allowed, room_allowed
from kith.sync.ignored import hides
from kith.sync.tokens import pagination_token

MAX_ROUNDS = 5
# The user's rooms that search covers: all they are or were in.
SEARCHED_MEMBERSHIPS = ("join", "leave", "ban")
_SEARCHED_FIELD = {"m.room.message": "body", "m.room.name": "name", "m.room.topic": "topic"}


@dataclass(slots=True)
class Page:
    found: list[tuple[StoredEvent, float, dict[str, Any]]]
    position: int | None
    more: bool
    # (group key, value) -> matches looked at: a group's own rank offset.
    examined: dict[tuple[str, str], int]


class RoomEventSearch:
    def __init__(self, events: EventStore, store: SearchStore, serializer: EventSerializer,
                 visibility: VisibilityFilter, caught_up: Callable[[], Awaitable[None]],
                 ignored_of: Callable[[str], Awaitable[frozenset[str]]]) -> None:
        self._events = events
        self._store = store
        self._serializer = serializer
        self._visibility = visibility
        self._caught_up = caught_up
        self._ignored_of = ignored_of
        self._timeline = Timeline(events, visibility)

    async def _windows(self, user_id: str, criteria: Criteria, room: str | None
                       ) -> list[tuple[str, int, int]]:
        rooms = [r for r, _, _ in await self._events.rooms_for_user(user_id, SEARCHED_MEMBERSHIPS)]
        windows: list[tuple[str, int, int]] = []
        for room_id in rooms:
            if room is not None and room_id != room:
                continue
            if not room_allowed(criteria.event_filter, room_id):
                continue
            snapshot = await self._events.snapshot(room_id)
            if snapshot is None or ("m.room.encryption", "") in snapshot.state:
                continue
            memberships, history = await self._visibility.timelines(room_id, user_id)
            windows += visible_windows(room_id, user_id, memberships, history)
        return windows

    async def run(self, requester: Requester, criteria: Criteria, batch: Batch | None
                  ) -> dict[str, Any]:
        if batch is not None and batch.by_rank != criteria.by_rank:
            raise invalid_param("next_batch belongs to a search with another order_by")
        await self._caught_up()
        group = batch.group if batch else None
        words = terms(criteria.search_term)
        windows = await self._windows(requester.user_id, criteria,
                                      group[1] if group and group[0] == "room_id" else None)
        senders = (group[1],) if group and group[0] == "sender" else None
        # ignore_users.md: an ignored user's events are not delivered, so they
        # are neither results nor part of `count`.
        ignored = await self._ignored_of(requester.user_id)
        query = Query(match_expression(words), criteria.keys, windows if words else [], senders,
                      ignored)
        page = await self._page(requester, criteria, query, batch.position if batch else None)
        results = []
        for event, rank, event_json in page.found:
            result: dict[str, Any] = {"rank": rank, "result": event_json}
            if criteria.context is not None:
                result["context"] = await self._context(requester, criteria, event)
            results.append(result)
        body: dict[str, Any] = {"results": results, "highlights": words,
                                "count": await self._store.count(query)}
        if page.more:
            body["next_batch"] = Batch(criteria.by_rank, page.position, group).encode()
        if criteria.group_by:
            body["groups"] = _groups(criteria, page, group)
        if criteria.include_state:
            body["state"] = await self._state(requester, {e.room_id for e, _, _ in page.found})
        return body

    async def _page(self, requester: Requester, criteria: Criteria, query: Query,
                    start: int | None) -> Page:
        """Up to `limit` results from `start`, the position to go on from and
        whether more may follow."""
        limit = criteria.limit
        ignored = await self._ignored_of(requester.user_id)
        page = Page([], start, False, {})
        batch_size = max(limit * 2, 20)
        for _ in range(MAX_ROUNDS):
            rows = await self._store.search(query, criteria.by_rank, page.position, batch_size)
            stored = {e.stream_id: e for e in await self._store.events_at([r.stream_id for r in rows])}
            for row in rows:
                if len(page.found) == limit:
                    page.more = True
                    return page
                page.position = (page.position or 0) + 1 if criteria.by_rank else row.stream_id
                for key in ("room_id", "sender"):
                    value = row.room_id if key == "room_id" else row.sender
                    page.examined[(key, value)] = page.examined.get((key, value), 0) + 1
                event = stored.get(row.stream_id)
                # ignore_users.md: what an ignored user sent is not delivered.
                if event is not None and not hides(ignored, event.sender, event.state_key):
                    shown = await self._shown(event, criteria, requester)
                    if shown is not None:
                        page.found.append((event, row.rank, shown))
            if len(rows) < batch_size:
                return page
        page.more = True
        return page

    async def _shown(self, event: StoredEvent, criteria: Criteria, requester: Requester
                     ) -> dict[str, Any] | None:
        """The result as the requester sees it, or None when it is not shown."""
        if event.redacted_by or not event_allowed(
                criteria.event_filter,
                {"type": event.type, "sender": event.sender, "content": event.content},
                event.room_id):
            return None
        event_json = await self._serializer.serialize_one(event, requester)
        # An erased sender's event comes back redacted to some readers: its
        # text matched, but it must not be shown.
        if _SEARCHED_FIELD.get(event.type) not in (event_json.get("content") or {}):
            return None
        return event_json

    async def _context(self, requester: Requester, criteria: Criteria, event: StoredEvent
                       ) -> dict[str, Any]:
        """search.yaml "Event Context": events around the result, as /context."""
        context = criteria.context
        assert context is not None
        user_id, room_id = requester.user_id, event.room_id
        ignored = await self._ignored_of(user_id)
        before, before_next = await self._timeline.page(
            room_id, user_id, event.stream_id - 1, True, context.before, None, None, ignored) \
            if context.before else ([], event.stream_id - 1)
        after, after_next = await self._timeline.page(
            room_id, user_id, event.stream_id, False, context.after, None, None, ignored) \
            if context.after else ([], event.stream_id)
        last = after[-1].stream_id if after else event.stream_id
        out: dict[str, Any] = {
            "events_before": await self._serializer.serialize(before, requester),
            "events_after": await self._serializer.serialize(after, requester),
            "start": pagination_token(before_next if before_next is not None else 0),
            "end": pagination_token(after_next if after_next is not None else last),
        }
        if context.include_profile:
            out["profile_info"] = await self._profiles(event, [event, *before, *after])
        return out

    async def _profiles(self, result: StoredEvent, shown: list[StoredEvent]
                        ) -> dict[str, dict[str, str]]:
        """The senders' profiles in the room's state at the result (search.yaml:
        "historic profile information")."""
        senders = sorted({e.sender for e in shown})
        state = await self._events.state_at(result.room_id, result.stream_id, ["m.room.member"],
                                            state_keys=senders)
        profiles: dict[str, dict[str, str]] = {}
        for (_, user_id), member in state.items():
            profile = {k: member.content[k] for k in ("displayname", "avatar_url")
                       if isinstance(member.content.get(k), str)}
            profiles[user_id] = profile
        return profiles

    async def _state(self, requester: Requester, room_ids: set[str]
                     ) -> dict[str, list[dict[str, Any]]]:
        """search.yaml `state`: each result room's current state, or for rooms
        the user left, the state when they left (what they could last see)."""
        out = {}
        for room_id in sorted(room_ids):
            membership = await self._events.membership(room_id, requester.user_id)
            if membership is not None and membership[0] == "join":
                state = await self._events.current_state_events(room_id)
            else:
                upto = membership[1] if membership is not None else 0
                state = await self._events.state_at(room_id, upto)
            out[room_id] = await self._serializer.serialize(list(state.values()), requester)
        return out


def _groups(criteria: Criteria, page: Page, scope: tuple[str, str] | None
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """search.yaml `groups`: the results per room or sender, in order of first
    appearance. While more results may follow, each group has a next_batch
    that continues within it: for `recent` from the same stream position, for
    `rank` after the group's matches looked at so far (bm25 scores do not
    depend on the other conditions, so a group's matches keep their order)."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for key in criteria.group_by:
        by_value: dict[str, dict[str, Any]] = {}
        for event, _, _ in page.found:
            value = event.room_id if key == "room_id" else event.sender
            entry = by_value.setdefault(value, {"results": [], "order": len(by_value) + 1})
            entry["results"].append(event.event_id)
        for value, entry in by_value.items():
            if not page.more or (scope is not None and scope != (key, value)):
                continue
            if not criteria.by_rank or scope is not None:
                position = page.position
            else:
                position = page.examined.get((key, value), 0)
            entry["next_batch"] = Batch(criteria.by_rank, position, (key, value)).encode()
        groups[key] = by_value
    return groups


def routes(search: RoomEventSearch) -> list[Route]:
    async def post_search(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/search"""
        body = request.json_object()
        categories = body.get("search_categories")
        if not isinstance(categories, dict):
            raise invalid_param("search_categories must be an object")
        raw_batch = request.arg("next_batch")
        batch = decode_batch(raw_batch) if raw_batch else None
        out: dict[str, Any] = {}
        room_events = categories.get("room_events")
        if room_events is not None:
            if not isinstance(room_events, dict):
                raise invalid_param("room_events must be an object")
            out["room_events"] = await search.run(request.user, parse_criteria(room_events),
                                                  batch)
        return {"search_categories": out}

    return [Route("POST", "/_matrix/client/v3/search", post_search, rate_limited=True)]
