"""Spaces: GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml).

Spec: client-server-api/modules/spaces.md. The tree is walked depth first over
the `m.space.child` state of space-rooms (rooms whose m.room.create `type` is
`m.space`), children in the order "Ordering of children within a space"
defines. Kith does not federate, so only rooms this server knows are walked;
the `via` servers of an unknown child are never contacted and it is skipped.

Only rooms the requester may see are returned or walked into (the `rooms`
description of space_hierarchy.yaml): joined or invited, a public join rule,
a restricted rule they meet through an allowed room they are joined to, a
knockable room, or world_readable history. A banned user sees none of them.

Pagination is stateless: `from` is the number of rooms already returned plus
the max_depth and suggested_only of the first request (which space_hierarchy.yaml
says cannot change), so a page walks the tree again from the root, bounded by
MAX_VISITED rooms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kith.api.public_rooms import room_entry
from kith.api.relations import parse_bool_arg
from kith.errors import forbidden, invalid_param
from kith.http.types import Request, Route
from kith.rooms.membership import history_visibility, join_rule, membership_of
from kith.store.events import EventStore, RoomSnapshot

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_MAX_DEPTH = 10
MAX_DEPTH = 20
MAX_VISITED = 2000
SPACE = "m.space"

# A child's `order` is valid when it is a string of at most 50 printable ASCII
# characters, \x20 to \x7E (m.space.child event schema, `order`).
_ORDER_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F))

Joined = Callable[[str], Awaitable[bool]]


def _content(state_event: dict[str, Any] | None) -> dict[str, Any]:
    content = (state_event or {}).get("content")
    return content if isinstance(content, dict) else {}


def is_space(snapshot: RoomSnapshot) -> bool:
    return _content(snapshot.state.get(("m.room.create", ""))).get("type") == SPACE


def valid_order(order: object) -> bool:
    return isinstance(order, str) and len(order) <= 50 and all(c in _ORDER_CHARS for c in order)


def child_events(snapshot: RoomSnapshot, suggested_only: bool) -> list[dict[str, Any]]:
    """The space's m.space.child events that name a child, in the spec's order.

    spaces.md: a child is removed by omitting `via`, so only events whose `via`
    is a non-empty list count. Ordering: children with a valid `order` first,
    by that string (code points), then by origin_server_ts, then by room ID.
    """
    children = []
    for (etype, state_key), pdu in snapshot.state.items():
        if etype != "m.space.child" or not state_key.startswith("!"):
            continue
        content = _content(pdu)
        via = content.get("via")
        if not isinstance(via, list) or not via:
            continue
        if suggested_only and content.get("suggested") is not True:
            continue
        children.append(pdu)

    def key(pdu: dict[str, Any]) -> tuple[int, str, int, str]:
        order = _content(pdu).get("order")
        ts = pdu.get("origin_server_ts")
        ts_key = ts if isinstance(ts, int) else 0
        if valid_order(order):
            return (0, str(order), ts_key, str(pdu["state_key"]))
        return (1, "", ts_key, str(pdu["state_key"]))

    return sorted(children, key=key)


def stripped_child(pdu: dict[str, Any]) -> dict[str, Any]:
    """A StrippedChildStateEvent: stripped state plus origin_server_ts."""
    return {"type": pdu["type"], "state_key": pdu["state_key"], "content": _content(pdu),
            "sender": pdu["sender"], "origin_server_ts": pdu.get("origin_server_ts", 0)}


def allowed_rooms(snapshot: RoomSnapshot) -> list[str]:
    """Room IDs of the `m.room_membership` conditions of a restricted join rule."""
    allow = _content(snapshot.state.get(("m.room.join_rules", ""))).get("allow")
    if not isinstance(allow, list):
        return []
    return [str(a["room_id"]) for a in allow if isinstance(a, dict)
            and a.get("type") == "m.room_membership" and isinstance(a.get("room_id"), str)]


async def may_see(snapshot: RoomSnapshot, user_id: str, joined: Joined) -> bool:
    """Whether a room belongs in the requester's hierarchy (space_hierarchy.yaml)."""
    membership = membership_of(user_id, snapshot.state)
    if membership == "ban":
        return False
    if membership in ("join", "invite"):
        return True
    if history_visibility(snapshot.state) == "world_readable":
        return True
    rule = join_rule(snapshot.state)
    if rule in ("public", "knock", "knock_restricted"):
        return True
    if rule == "restricted":
        for room_id in allowed_rooms(snapshot):
            if await joined(room_id):
                return True
    return False


def summary(snapshot: RoomSnapshot, space: bool, suggested_only: bool) -> dict[str, Any]:
    """One SpaceHierarchyRoomsChunk (room_summary.yaml plus children_state)."""
    entry = room_entry(snapshot, len(snapshot.members("join")))
    entry["room_version"] = snapshot.version.identifier
    algorithm = _content(snapshot.state.get(("m.room.encryption", ""))).get("algorithm")
    if algorithm == "m.megolm.v1.aes-sha2":
        entry["encryption"] = algorithm
    if entry.get("join_rule") in ("restricted", "knock_restricted"):
        entry["allowed_room_ids"] = allowed_rooms(snapshot)
    # space_hierarchy.yaml: "If the room is not a space-room, this should be empty."
    entry["children_state"] = ([stripped_child(c) for c in child_events(snapshot, suggested_only)]
                               if space else [])
    return entry


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    max_depth: int
    suggested_only: bool

    def token(self) -> str:
        return f"{self.offset}_{self.max_depth}_{int(self.suggested_only)}"


def parse_from(token: str, max_depth: int, suggested_only: bool) -> int:
    parts = token.split("_")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(token) > 30:
        raise invalid_param("Unknown pagination token")
    if int(parts[1]) != max_depth or parts[2] != str(int(suggested_only)):
        raise invalid_param("suggested_only and max_depth cannot change on paginated requests")
    return int(parts[0])


async def walk(events: EventStore, root: str, user_id: str, page: Page, limit: int
               ) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` rooms after the first `page.offset` of a depth-first walk;
    the bool says whether more rooms follow."""
    memberships: dict[str, bool] = {}

    async def joined(room_id: str) -> bool:
        if room_id not in memberships:
            found = await events.membership(room_id, user_id)
            memberships[room_id] = found is not None and found[0] == "join"
        return memberships[room_id]

    rooms: list[dict[str, Any]] = []
    seen = 0
    visited: set[str] = set()
    stack: list[tuple[str, int]] = [(root, 0)]
    while stack and len(visited) < MAX_VISITED:
        room_id, depth = stack.pop()
        if room_id in visited:
            continue  # spaces.md: loops must be broken gracefully
        visited.add(room_id)
        snapshot = await events.snapshot(room_id)
        if snapshot is None or not await may_see(snapshot, user_id, joined):
            continue
        if seen >= page.offset + limit:
            return rooms, True
        space = is_space(snapshot)
        if seen >= page.offset:
            rooms.append(summary(snapshot, space, page.suggested_only))
        seen += 1
        if space and depth < page.max_depth:
            children = child_events(snapshot, page.suggested_only)
            stack.extend((str(c["state_key"]), depth + 1) for c in reversed(children))
    return rooms, False


def routes(events: EventStore) -> list[Route]:
    async def hierarchy(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/rooms/{roomId}/hierarchy"""
        user_id = request.user.user_id
        room_id = request.path_params["roomId"]
        limit = request.int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        max_depth = request.int_arg("max_depth", DEFAULT_MAX_DEPTH, maximum=MAX_DEPTH)
        suggested_only = parse_bool_arg(request, "suggested_only") or False
        assert limit is not None and max_depth is not None
        raw_from = request.arg("from")
        offset = parse_from(raw_from, max_depth, suggested_only) if raw_from else 0
        snapshot = await events.snapshot(room_id)

        async def joined(rid: str) -> bool:
            found = await events.membership(rid, user_id)
            return found is not None and found[0] == "join"

        # space_hierarchy.yaml 403: the room does not exist, the user is
        # banned, or it is not set up for peeking.
        if snapshot is None or not await may_see(snapshot, user_id, joined):
            raise forbidden("You are not allowed to view this room")
        page = Page(offset, max_depth, suggested_only)
        rooms, more = await walk(events, room_id, user_id, page, limit)
        body: dict[str, Any] = {"rooms": rooms}
        if more:
            body["next_batch"] = Page(offset + len(rooms), max_depth, suggested_only).token()
        return body

    return [Route("GET", "/_matrix/client/v1/rooms/{roomId}/hierarchy", hierarchy)]

