"""Membership: inviting.yaml, joining.yaml, leaving.yaml, kicking.yaml,
banning.yaml, knocking.yaml, rooms.yaml (members, joined_members)."""

from __future__ import annotations

from typing import Any

from kith.api.fields import opt_str, req_str
from kith.api.rooms import profile_of, unknown_local_user
from kith.errors import MatrixError, forbidden, not_found
from kith.http.types import Request, Route
from kith.ids import is_room_id, is_valid_user_id
from kith.rooms.membership import join_rule
from kith.rooms.power_levels import action_level, user_level
from kith.rooms.serialize import EventSerializer
from kith.rooms.service import RoomService
from kith.rooms.visibility import VisibilityFilter
from kith.store.accounts import AccountStore
from kith.store.aliases import AliasStore
from kith.store.events import RoomSnapshot
from kith.sync.tokens import parse_position


def routes(rooms: RoomService, accounts: AccountStore, aliases: AliasStore,
           serializer: EventSerializer, visibility: VisibilityFilter) -> list[Route]:
    events = rooms.events

    async def resolve(room: str) -> str:
        if room.startswith("#"):
            found = await aliases.lookup(room)
            if found is None:
                raise not_found("Room alias not found")
            return found[0]
        if not is_room_id(room):
            raise MatrixError(400, "M_INVALID_PARAM", "Not a room ID or alias")
        return room

    def target_of(body: dict[str, Any]) -> str:
        target = req_str(body, "user_id")
        if not is_valid_user_id(target):
            raise MatrixError(400, "M_INVALID_PARAM", "Invalid user ID")
        return target

    async def restricted_authoriser(snapshot: RoomSnapshot, user_id: str) -> str | None:
        """For restricted rooms: a joined local user who may invite, if the
        joiner meets an allow condition (spec: "Restricted rooms")."""
        rule_content = snapshot.state.get(("m.room.join_rules", ""), {}).get("content") or {}
        allowed = False
        for condition in rule_content.get("allow") or []:
            if isinstance(condition, dict) and condition.get("type") == "m.room_membership":
                other = condition.get("room_id")
                if isinstance(other, str):
                    found = await events.membership(other, user_id)
                    if found is not None and found[0] == "join":
                        allowed = True
        if not allowed:
            return None
        needed = action_level("invite", snapshot.state)
        for key in sorted(snapshot.members("join")):
            if user_level(key, snapshot.state, snapshot.version) >= needed:
                return key
        return None

    async def do_join(request: Request, room: str) -> dict[str, Any]:
        user = request.user
        body = request.json_object(allow_empty=True)
        room_id = await resolve(room)
        snapshot = await events.snapshot(room_id)
        if snapshot is None:
            raise not_found("Unknown room")
        extra: dict[str, Any] = {}
        if join_rule(snapshot.state) in ("restricted", "knock_restricted") and \
                rooms.membership_in(snapshot, user.user_id) not in ("invite", "join"):
            authoriser = await restricted_authoriser(snapshot, user.user_id)
            if authoriser is not None:
                extra["join_authorised_via_users_server"] = authoriser
        await rooms.set_membership(user.user_id, room_id, user.user_id, "join",
                                   opt_str(body, "reason"), extra,
                                   await profile_of(accounts, user.user_id))
        return {"room_id": room_id}

    async def join_by_id_or_alias(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/join/{roomIdOrAlias}"""
        return await do_join(request, request.path_params["roomIdOrAlias"])

    async def join_room(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/join"""
        return await do_join(request, request.path_params["roomId"])

    async def knock(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/knock/{roomIdOrAlias}"""
        user = request.user
        body = request.json_object(allow_empty=True)
        room_id = await resolve(request.path_params["roomIdOrAlias"])
        await rooms.set_membership(user.user_id, room_id, user.user_id, "knock",
                                   opt_str(body, "reason"), None,
                                   await profile_of(accounts, user.user_id))
        return {"room_id": room_id}

    async def invite(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/invite"""
        body = request.json_object()
        target = target_of(body)
        room_id = request.path_params["roomId"]
        snapshot = await rooms.snapshot_or_404(room_id)
        if rooms.membership_in(snapshot, target) == "join":
            raise forbidden(f"{target} is already in the room")
        if await unknown_local_user(accounts, target, rooms.server_name):
            raise not_found("Unknown user")
        await rooms.set_membership(request.user.user_id, room_id, target, "invite",
                                   opt_str(body, "reason"), None, await profile_of(accounts, target))
        return {}

    async def leave(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/leave"""
        body = request.json_object(allow_empty=True)
        user = request.user
        room_id = request.path_params["roomId"]
        snapshot = await rooms.snapshot_or_404(room_id)
        if rooms.membership_in(snapshot, user.user_id) in ("leave", "ban"):
            return {}  # already out: leaving again changes nothing
        await rooms.set_membership(user.user_id, room_id, user.user_id, "leave",
                                   opt_str(body, "reason"))
        return {}

    async def forget(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/forget"""
        user = request.user
        request.json_object(allow_empty=True)  # the body is `{}`; anything else is bad JSON
        room_id = request.path_params["roomId"]
        found = await events.membership(room_id, user.user_id)
        if found is None:
            raise not_found("You were never in this room")
        if found[0] in ("join", "invite", "knock"):
            raise MatrixError(400, "M_UNKNOWN", "Leave the room before forgetting it")
        await events.forget(room_id, user.user_id)
        return {}

    def moderation(membership: str, unban: bool = False) -> Any:
        async def handler(request: Request) -> dict[str, Any]:
            body = request.json_object()
            target = target_of(body)
            room_id = request.path_params["roomId"]
            snapshot = await rooms.snapshot_or_404(room_id)
            current = rooms.membership_in(snapshot, target)
            if unban and current != "ban":
                raise forbidden(f"{target} is not banned")
            if not unban and membership == "leave" and current == "ban":
                raise forbidden("Use unban to lift a ban")
            await rooms.set_membership(request.user.user_id, room_id, target, membership,
                                       opt_str(body, "reason"))
            return {}

        return handler

    async def joined_members(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
        room_id = request.path_params["roomId"]
        if not await visibility.can_read_room_now(room_id, request.user.user_id):
            raise forbidden("You are not in this room")
        state = await events.current_state_events(room_id)
        joined: dict[str, Any] = {}
        for (etype, key), event in state.items():
            if etype == "m.room.member" and event.content.get("membership") == "join":
                entry: dict[str, Any] = {}
                for field, source in (("display_name", "displayname"), ("avatar_url", "avatar_url")):
                    if isinstance(event.content.get(source), str):
                        entry[field] = event.content[source]
                joined[key] = entry
        return {"joined": joined}

    async def members(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/members"""
        user = request.user
        room_id = request.path_params["roomId"]
        found = await events.membership(room_id, user.user_id)
        if found is not None and found[2]:
            raise forbidden("You have forgotten this room")
        if found is None or found[0] not in ("join", "leave", "ban"):
            if not await visibility.can_read_room_now(room_id, user.user_id):
                raise forbidden("You are not in this room")
            found = ("join", 1 << 62, False)
        upto = found[1] if found[0] != "join" else (1 << 62)
        at = request.arg("at")
        if at is not None:
            upto = min(upto, parse_position(at))
            # rooms.yaml `at` reads past state: only where history visibility
            # lets the user see the room at that point, joined now or not.
            if not await visibility.can_see_state_at(room_id, user.user_id, upto):
                raise forbidden("You may not see this room's members at that point")
        state = await events.state_at(room_id, upto, ["m.room.member"])
        wanted = request.arg("membership")
        unwanted = request.arg("not_membership")
        chosen = [
            e for e in state.values()
            if (wanted is None or e.content.get("membership") == wanted)
            and (unwanted is None or e.content.get("membership") != unwanted)
        ]
        return {"chunk": await serializer.serialize(chosen, user)}

    return [
        Route("POST", "/_matrix/client/v3/join/{roomIdOrAlias}", join_by_id_or_alias, rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/join", join_room, rate_limited=True),
        Route("POST", "/_matrix/client/v3/knock/{roomIdOrAlias}", knock, rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/invite", invite, rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/leave", leave, rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/forget", forget),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/kick", moderation("leave"), rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/ban", moderation("ban"), rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/unban", moderation("leave", unban=True), rate_limited=True),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/joined_members", joined_members),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/members", members),
    ]
