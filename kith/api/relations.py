"""Child events and threads: relations.yaml (GET /rooms/{roomId}/relations/...)
and threads_list.yaml (GET /rooms/{roomId}/threads), both under /_matrix/client/v1.

Tokens are the "t{pos}" pagination tokens of /messages (kith.sync.tokens), so
a /messages or /sync token works as `from`/`to` as relations.yaml requires.
Only events the user may see (history visibility) are returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kith.api.search_query import visible_windows
from kith.errors import forbidden, invalid_param, not_found
from kith.http.types import Request, Route
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter, visible
from kith.store.aggregations import Scope
from kith.store.events import EventStore, StoredEvent
from kith.store.relations import RelationStore
from kith.sync.ignored import hides
from kith.sync.tokens import pagination_token, parse_position

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# relations.yaml `recurse`: "Homeservers SHOULD traverse at least 3 levels".
RECURSION_DEPTH = 3
_MAX_DESCENDANTS = 2000
_END = 1 << 62
Fetch = Callable[[int, int], Awaitable[list[StoredEvent]]]


def parse_bool_arg(request: Request, name: str) -> bool | None:
    raw = request.arg(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise invalid_param(f"{name} must be true or false")
    return raw == "true"


async def visible_page(fetch: Fetch, keep: Callable[[StoredEvent], bool], start: int,
                       backwards: bool, limit: int,
                       position: Callable[[StoredEvent], int] = lambda e: e.stream_id
                       ) -> tuple[list[StoredEvent], int | None]:
    """Up to `limit` kept events from `start`; `fetch(pos, batch)` returns the next
    rows after position `pos` in the paging direction, each at `position(event)`.
    Returns the events and the position to continue from, None when there is
    nothing more."""
    chosen: list[StoredEvent] = []
    pos = start
    batch = max(limit * 2, 20)
    for _ in range(50):  # bounded work per request
        rows = await fetch(pos, batch)
        for event in rows:
            pos = position(event) - 1 if backwards else position(event)
            if keep(event):
                chosen.append(event)
                if len(chosen) >= limit:
                    return chosen, pos
        if len(rows) < batch:
            return chosen, None
    return chosen, pos


def routes(events: EventStore, relations: RelationStore, serializer: EventSerializer,
           visibility: VisibilityFilter,
           ignored_of: Callable[[str], Awaitable[frozenset[str]]]) -> list[Route]:

    async def parents_to_depth(room_id: str, event_id: str) -> list[str]:
        """The event and its descendants down to RECURSION_DEPTH - 1 levels, so
        that children of those reach RECURSION_DEPTH levels below the parent."""
        found = [event_id]
        seen = {event_id}
        frontier = [event_id]
        for _ in range(RECURSION_DEPTH - 1):
            children = [c for c in await relations.relation_children(
                room_id, frontier, _MAX_DESCENDANTS) if c not in seen]
            if not children:
                break
            seen.update(children)
            found.extend(children)
            frontier = children
        return found

    async def get_relations(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}"""
        user = request.user
        room_id = request.path_params["roomId"]
        event_id = request.path_params["eventId"]
        rel_type = request.path_params.get("relType")
        event_type = request.path_params.get("eventType")
        direction = request.arg("dir") or "b"
        if direction not in ("b", "f"):
            raise invalid_param("dir must be b or f")
        backwards = direction == "b"
        limit = request.int_arg("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT) or 0
        recurse = parse_bool_arg(request, "recurse")
        raw_from, raw_to = request.arg("from"), request.arg("to")
        start = parse_position(raw_from) if raw_from else (_END if backwards else 0)
        stop = parse_position(raw_to) if raw_to else None
        # relations.yaml 404: the parent is unknown or the user may not read it.
        parent = await events.get_event(event_id)
        if parent is None or parent.room_id != room_id or \
                not await visibility.can_see(room_id, user.user_id, parent):
            raise not_found("Event not found")
        parents = await parents_to_depth(room_id, event_id) if recurse else [event_id]
        memberships, history = await visibility.timelines(room_id, user.user_id)
        # ignore_users.md: an ignored user's events are not delivered at all.
        ignored = await ignored_of(user.user_id)

        async def fetch(pos: int, batch: int) -> list[StoredEvent]:
            if backwards:
                return await relations.related_events(room_id, parents, rel_type, event_type,
                                                      stop, pos, True, batch)
            return await relations.related_events(room_id, parents, rel_type, event_type,
                                                  pos, stop, False, batch)

        chunk: list[StoredEvent] = []
        next_pos: int | None = None
        if limit:
            chunk, next_pos = await visible_page(
                fetch, lambda e: visible(e, user.user_id, memberships, history)
                and not hides(ignored, e.sender, e.state_key), start, backwards, limit)
        body: dict[str, Any] = {"chunk": await serializer.serialize(chunk, user)}
        if next_pos is not None:
            body["next_batch"] = pagination_token(next_pos)
        if raw_from:
            body["prev_batch"] = raw_from
        if recurse is not None:
            # relations.yaml: present exactly when the client supplied `recurse`.
            body["recursion_depth"] = RECURSION_DEPTH if recurse else 1
        return body

    async def get_threads(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/rooms/{roomId}/threads"""
        user = request.user
        room_id = request.path_params["roomId"]
        include = request.arg("include") or "all"
        if include not in ("all", "participated"):
            raise invalid_param("include must be all or participated")
        limit = request.int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT) or 1
        raw_from = request.arg("from")
        start = parse_position(raw_from) if raw_from else _END
        # threads_list.yaml 403: the room does not exist, the user is banned, or
        # may neither read nor peek into it.
        # A forgotten room's history is gone for the user (leaving.yaml, forget),
        # as on /messages.
        found = await events.membership(room_id, user.user_id)
        if await events.room_version(room_id) is None or (found is not None and found[0] == "ban") \
                or (found is not None and found[2]) \
                or (found is None and not await visibility.can_read_room_now(room_id, user.user_id)):
            raise forbidden("You are not allowed to view this room")
        participant = user.user_id if include == "participated" else None
        memberships, history = await visibility.timelines(room_id, user.user_id)
        ignored = await ignored_of(user.user_id)
        # A thread is listed, and ordered, by the thread events the user may
        # see (history visibility, not from ignored users), as its bundled
        # m.thread summary counts them: threads_list.yaml orders "by the
        # latest_event of each thread root in its bundle".
        scope = Scope(tuple((lo, hi) for _, lo, hi in
                            visible_windows(room_id, user.user_id, memberships, history)),
                      ignored)
        latest_of: dict[str, int] = {}

        async def fetch(pos: int, batch: int) -> list[StoredEvent]:
            roots = await relations.thread_roots(room_id, pos, batch, participant, scope)
            latest_of.update(roots)
            loaded = await events.get_events([r for r, _ in roots])
            return [loaded[r] for r, _ in roots if r in loaded]

        # Roots page by their thread's latest event (threads_list.yaml ordering).
        def keep(event: StoredEvent) -> bool:
            return visible(event, user.user_id, memberships, history) and \
                not hides(ignored, event.sender, event.state_key)

        chunk, next_pos = await visible_page(fetch, keep, start, True, limit,
                                             lambda e: latest_of[e.event_id])
        body: dict[str, Any] = {"chunk": await serializer.serialize(chunk, user)}
        if next_pos is not None:
            body["next_batch"] = pagination_token(next_pos)
        return body

    prefix = "/_matrix/client/v1/rooms/{roomId}"
    return [
        Route("GET", prefix + "/relations/{eventId}", get_relations),
        Route("GET", prefix + "/relations/{eventId}/{relType}", get_relations),
        Route("GET", prefix + "/relations/{eventId}/{relType}/{eventType}", get_relations),
        Route("GET", prefix + "/threads", get_threads),
    ]

