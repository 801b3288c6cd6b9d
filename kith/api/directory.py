"""Room aliases and the published room directory's per-room switch:
directory.yaml (/directory/room/{roomAlias}, /rooms/{roomId}/aliases) and
list_public_rooms.yaml (/directory/list/room/{roomId})."""

from __future__ import annotations

from typing import Any

from kith.api.fields import opt_str, req_str
from kith.errors import MatrixError, forbidden, invalid_param, not_found
from kith.http.types import Request, Requester, Route
from kith.ids import is_room_id, parse_room_alias
from kith.rooms.membership import membership_of
from kith.rooms.power_levels import creators, event_level, user_level
from kith.rooms.service import Intent, RoomService
from kith.rooms.visibility import VisibilityFilter
from kith.store.aliases import AliasExists, AliasStore
from kith.store.events import RoomSnapshot


def may_manage_directory(snapshot: RoomSnapshot, user: Requester) -> bool:
    """Kith's access check where directory.yaml and list_public_rooms.yaml let
    servers add their own: server administrators, the room's creators, and
    joined members with the power to send `m.room.canonical_alias`."""
    if user.is_admin or user.user_id in creators(snapshot.state, snapshot.version):
        return True
    if membership_of(user.user_id, snapshot.state) != "join":
        return False
    needed = event_level("m.room.canonical_alias", True, snapshot.state)
    return user_level(user.user_id, snapshot.state, snapshot.version) >= needed


def local_alias(raw: str, server_name: str) -> str:
    """The alias from the path: 400 M_INVALID_PARAM unless it is a valid alias
    (appendices "Room aliases") on this server."""
    try:
        _, server = parse_room_alias(raw)
    except ValueError:
        raise invalid_param("Room alias invalid") from None
    if server != server_name:
        raise invalid_param("Room alias must be on this server")
    return raw


def routes(rooms: RoomService, aliases: AliasStore, visibility: VisibilityFilter) -> list[Route]:
    events = rooms.events
    server_name = rooms.server_name

    async def set_alias(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
        user = request.user
        alias = local_alias(request.path_params["roomAlias"], server_name)
        room_id = req_str(request.json_object(), "room_id")
        if not is_room_id(room_id):
            raise invalid_param("room_id is not a room ID")
        snapshot = await events.snapshot(room_id)
        if snapshot is None:
            raise not_found("Room not found")
        if not user.is_admin and membership_of(user.user_id, snapshot.state) != "join":
            raise forbidden("You must be in the room to give it an alias")
        try:
            await aliases.create(alias, room_id, user.user_id)
        except AliasExists:
            # directory.yaml: 409 "A room alias with that name already exists".
            raise MatrixError(409, "M_UNKNOWN", f"Room alias {alias} already exists") from None
        return {}

    async def get_alias(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/directory/room/{roomAlias}"""
        raw = request.path_params["roomAlias"]
        try:
            parse_room_alias(raw)
        except ValueError:
            raise invalid_param("Room alias invalid") from None
        # Kith does not federate: an alias on another server is simply unknown.
        found = await aliases.lookup(raw)
        if found is None:
            raise not_found(f"Room alias {raw} not found")
        return {"room_id": found[0], "servers": [server_name]}

    async def delete_alias(request: Request) -> dict[str, Any]:
        """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
        user = request.user
        alias = request.path_params["roomAlias"]
        try:
            parse_room_alias(alias)
        except ValueError:
            raise invalid_param("Room alias invalid") from None
        found = await aliases.lookup(alias)
        if found is None:
            raise not_found(f"Room alias {alias} not found")
        room_id, creator = found
        snapshot = await events.snapshot(room_id)
        allowed = creator == user.user_id or user.is_admin or (
            snapshot is not None and may_manage_directory(snapshot, user))
        if not allowed:
            raise forbidden("Only the alias's creator or a room moderator may delete it")
        await aliases.delete(alias)
        if snapshot is not None:
            await _drop_from_canonical_alias(rooms, snapshot, alias, user.user_id)
        return {}

    async def local_aliases(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
        user = request.user
        room_id = request.path_params["roomId"]
        # directory.yaml: members, or anyone when the room is world_readable;
        # an unknown room gets the same 403 so that its existence is not revealed.
        if await events.room_version(room_id) is None or not (
                user.is_admin or await visibility.can_read_room_now(room_id, user.user_id)):
            raise forbidden("You are not a member of the room")
        return {"aliases": await aliases.for_room(room_id)}

    async def get_visibility(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/directory/list/room/{roomId}"""
        room_id = request.path_params["roomId"]
        if await events.room_version(room_id) is None:
            raise not_found("Room not found")
        return {"visibility": "public" if await events.is_public(room_id) else "private"}

    async def set_visibility(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
        user = request.user
        room_id = request.path_params["roomId"]
        # list_public_rooms.yaml: `visibility` defaults to `public`.
        value = opt_str(request.json_object(allow_empty=True), "visibility") or "public"
        if value not in ("public", "private"):
            raise invalid_param("visibility must be public or private")
        snapshot = await events.snapshot(room_id)
        if snapshot is None:
            raise not_found("Room not found")
        if not may_manage_directory(snapshot, user):
            raise forbidden("You may not change this room's directory visibility")
        await events.set_public(room_id, value == "public")
        return {}

    return [
        Route("PUT", "/_matrix/client/v3/directory/room/{roomAlias}", set_alias),
        Route("GET", "/_matrix/client/v3/directory/room/{roomAlias}", get_alias, auth="none"),
        Route("DELETE", "/_matrix/client/v3/directory/room/{roomAlias}", delete_alias),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/aliases", local_aliases),
        Route("GET", "/_matrix/client/v3/directory/list/room/{roomId}", get_visibility,
              auth="none"),
        Route("PUT", "/_matrix/client/v3/directory/list/room/{roomId}", set_visibility),
    ]


async def _drop_from_canonical_alias(rooms: RoomService, snapshot: RoomSnapshot, alias: str,
                                     sender: str) -> None:
    """directory.yaml DELETE note: servers may drop a deleted alias from the
    room's m.room.canonical_alias, and still succeed when the user may not
    send that event."""
    current = snapshot.state.get(("m.room.canonical_alias", ""))
    content = dict((current or {}).get("content") or {})
    alt = content.get("alt_aliases")
    changed = False
    if content.get("alias") == alias:
        content.pop("alias")
        changed = True
    if isinstance(alt, list) and alias in alt:
        content["alt_aliases"] = [a for a in alt if a != alias]
        changed = True
    if not changed:
        return
    try:
        await rooms.send(Intent(sender, "m.room.canonical_alias", content, ""), snapshot.room_id)
    except MatrixError:
        pass
