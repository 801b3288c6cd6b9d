"""The published room directory: GET and POST /publicRooms (list_public_rooms.yaml).

Only rooms published with visibility "public" (createRoom or
PUT /directory/list/room/{roomId}) are listed; every entry is computed from
the room's current state. Rooms are ordered by joined members, largest first,
then room ID, which list_public_rooms.yaml recommends as a stable order.
Tokens are "p{offset}" into that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kith.api.fields import opt_dict, opt_int, opt_list, opt_str
from kith.errors import invalid_param
from kith.http.types import Request, Route
from kith.store.events import EventStore, RoomSnapshot
from kith.store.relations import RelationStore

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class DirectoryQuery:
    limit: int
    offset: int
    search: str | None
    room_types: list[str | None] | None


def parse_since(token: str | None) -> int:
    if token is None:
        return 0
    if not token.startswith("p") or not token[1:].isdigit() or len(token) > 20:
        raise invalid_param("Unknown pagination token")
    return int(token[1:])


def _state_content(snapshot: RoomSnapshot, etype: str) -> dict[str, Any]:
    content = (snapshot.state.get((etype, "")) or {}).get("content")
    return content if isinstance(content, dict) else {}


def plain_topic(content: dict[str, Any]) -> str | None:
    """m.room.topic: the text/plain representation in `m.topic`, else `topic`.
    (public_rooms_chunk.yaml: omitted if no text/plain topic exists.)"""
    blocks = content.get("m.topic")
    if isinstance(blocks, list):
        for block in blocks:
            if isinstance(block, dict) and isinstance(block.get("body"), str) and \
                    block.get("mimetype", "text/plain") == "text/plain":
                return str(block["body"])
    topic = content.get("topic")
    return topic if isinstance(topic, str) else None


def room_entry(snapshot: RoomSnapshot, joined: int) -> dict[str, Any]:
    """One PublishedRoomsChunk (definitions/public_rooms_chunk.yaml)."""
    entry: dict[str, Any] = {
        "room_id": snapshot.room_id,
        "num_joined_members": joined,
        "world_readable": _state_content(snapshot, "m.room.history_visibility").get(
            "history_visibility") == "world_readable",
        "guest_can_join": _state_content(snapshot, "m.room.guest_access").get(
            "guest_access") == "can_join",
    }
    name = _state_content(snapshot, "m.room.name").get("name")
    if isinstance(name, str) and name:
        entry["name"] = name
    topic = plain_topic(_state_content(snapshot, "m.room.topic"))
    if topic:
        entry["topic"] = topic
    alias = _state_content(snapshot, "m.room.canonical_alias").get("alias")
    if isinstance(alias, str) and alias.startswith("#"):
        entry["canonical_alias"] = alias
    avatar = _state_content(snapshot, "m.room.avatar").get("url")
    if isinstance(avatar, str) and avatar.startswith("mxc://"):
        entry["avatar_url"] = avatar
    rule = _state_content(snapshot, "m.room.join_rules").get("join_rule")
    if isinstance(rule, str):
        entry["join_rule"] = rule
    room_type = _state_content(snapshot, "m.room.create").get("type")
    if isinstance(room_type, str):
        entry["room_type"] = room_type
    return entry


def matches(entry: dict[str, Any], snapshot: RoomSnapshot, query: DirectoryQuery) -> bool:
    if query.room_types is not None and entry.get("room_type") not in query.room_types:
        return False
    if query.search:
        term = query.search.casefold()
        alt = _state_content(snapshot, "m.room.canonical_alias").get("alt_aliases")
        haystack = [entry.get("name"), entry.get("topic"), entry.get("canonical_alias"),
                    *(alt if isinstance(alt, list) else [])]
        return any(isinstance(text, str) and term in text.casefold() for text in haystack)
    return True


def parse_post_body(body: dict[str, Any]) -> DirectoryQuery:
    limit = opt_int(body, "limit")
    since = opt_str(body, "since")
    search_filter = opt_dict(body, "filter") or {}
    search = opt_str(search_filter, "generic_search_term")
    types = opt_list(search_filter, "room_types")
    if types is not None and not all(t is None or isinstance(t, str) for t in types):
        raise invalid_param("room_types entries must be strings or null")
    if limit is not None and limit < 0:
        raise invalid_param("limit must not be negative")
    return DirectoryQuery(min(limit if limit is not None else DEFAULT_LIMIT, MAX_LIMIT),
                          parse_since(since), search, types)


def routes(events: EventStore, relations: RelationStore, server_name: str) -> list[Route]:
    def check_server(request: Request) -> None:
        server = request.arg("server")
        # Kith does not federate, so only its own directory can be listed.
        if server is not None and server != server_name:
            raise invalid_param(f"Cannot list the directory of {server}: no federation")

    async def listing(query: DirectoryQuery) -> dict[str, Any]:
        room_ids = await events.public_rooms()
        counts = await relations.joined_member_counts(room_ids)
        entries = []
        for room_id in room_ids:
            snapshot = await events.snapshot(room_id)
            if snapshot is None:
                continue
            entry = room_entry(snapshot, counts.get(room_id, 0))
            if matches(entry, snapshot, query):
                entries.append(entry)
        entries.sort(key=lambda e: (-e["num_joined_members"], e["room_id"]))
        page = entries[query.offset:query.offset + query.limit]
        body: dict[str, Any] = {"chunk": page, "total_room_count_estimate": len(entries)}
        if query.offset + query.limit < len(entries):
            body["next_batch"] = f"p{query.offset + query.limit}"
        if query.offset > 0:
            body["prev_batch"] = f"p{max(0, query.offset - query.limit)}"
        return body

    async def get_public_rooms(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/publicRooms"""
        check_server(request)
        limit = request.int_arg("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
        query = DirectoryQuery(limit if limit is not None else DEFAULT_LIMIT,
                               parse_since(request.arg("since")), None, None)
        return await listing(query)

    async def post_public_rooms(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/publicRooms"""
        check_server(request)
        return await listing(parse_post_body(request.json_object(allow_empty=True)))

    return [
        # list_public_rooms.yaml: GET has no `security`, so no access token is needed.
        Route("GET", "/_matrix/client/v3/publicRooms", get_public_rooms, auth="none"),
        Route("POST", "/_matrix/client/v3/publicRooms", post_public_rooms),
    ]
