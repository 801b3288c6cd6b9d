"""Room creation, sending and state: create_room.yaml, room_send.yaml,
room_state.yaml, rooms.yaml (event, state), redaction.yaml, list_joined_rooms.yaml."""

from __future__ import annotations

from typing import Any

from kith.errors import MatrixError, bad_json, forbidden, not_found
from kith.http.types import Request, Route
from kith.ids import parse_room_alias
from kith.rooms import create as create_plan
from kith.rooms.serialize import EventSerializer
from kith.rooms.service import Intent, RoomService
from kith.rooms.visibility import VisibilityFilter
from kith.store.accounts import AccountStore
from kith.store.aliases import AliasExists, AliasStore
from kith.store.event_rows import Txn, redact_path, send_path

# Spec "Room aliases": the alias namespace is per-server; these state events are
# managed through dedicated endpoints or need care.
_DIRECT_MEMBER_KEYS = ("membership",)


async def profile_of(accounts: AccountStore, user_id: str) -> dict[str, Any]:
    user = await accounts.get_user(user_id)
    if user is None:
        return {}
    return {"displayname": user.displayname, "avatar_url": user.avatar_url}


async def unknown_local_user(accounts: AccountStore, user_id: str, server_name: str) -> bool:
    """A user ID of this server that names no account: there is nobody to invite."""
    return user_id.endswith(":" + server_name) and await accounts.get_user(user_id) is None


def routes(rooms: RoomService, accounts: AccountStore, aliases: AliasStore,
           serializer: EventSerializer, visibility: VisibilityFilter,
           encryption: str = "private") -> list[Route]:
    events = rooms.events

    async def create_room(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/createRoom"""
        user = request.user
        plan = create_plan.parse_request(request.json_object(allow_empty=True))
        for invitee in plan.invite:
            # As POST /invite refuses an unknown local user, so does createRoom,
            # before anything is stored. create_room.yaml documents only 400 for
            # an invalid request; the M_NOT_FOUND code says why (client-server-api
            # "Standard error response": the errcode wins over the status).
            if await unknown_local_user(accounts, invitee, rooms.server_name):
                raise MatrixError(400, "M_NOT_FOUND", f"Unknown user {invitee}")
        alias = None
        if plan.alias_localpart is not None:
            alias = f"#{plan.alias_localpart}:{rooms.server_name}"
            if ":" in plan.alias_localpart or " " in plan.alias_localpart or not plan.alias_localpart:
                raise MatrixError(400, "M_INVALID_PARAM", "Invalid alias localpart")
            if await aliases.lookup(alias) is not None:
                raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken")
        intents = create_plan.creation_intents(
            user.user_id, plan, rooms.server_name, await profile_of(accounts, user.user_id),
            encryption)
        makers = [rooms.maker(intents[0], plan.version)] + [rooms.maker(i) for i in intents[1:]]
        try:
            persisted = await rooms.persist(None, makers)
        except MatrixError as err:
            if err.errcode == "M_FORBIDDEN":
                # create_room.yaml: state the request asks for that the auth rules
                # refuse makes the whole request invalid; nothing was stored.
                raise MatrixError(400, "M_INVALID_ROOM_STATE", err.message) from None
            raise
        room_id = persisted[0].room_id
        if alias is not None:
            try:
                await aliases.create(alias, room_id, user.user_id)
            except AliasExists:
                raise MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken") from None
        if plan.visibility == "public":
            await events.set_public(room_id, True)
        return {"room_id": room_id}

    async def send_message(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"""
        user = request.user
        room_id = request.path_params["roomId"]
        etype = request.path_params["eventType"]
        content = request.json_object()
        txn = Txn(user.user_id, user.device_id, send_path(room_id, etype),
                  request.path_params["txnId"])
        if etype == "m.room.redaction":
            redacts = content.get("redacts")
            if not isinstance(redacts, str):
                raise bad_json("m.room.redaction needs content.redacts")
            persisted = await rooms.redact(user.user_id, room_id, redacts, content.get("reason"),
                                           txn)
            return {"event_id": persisted.event_id}
        persisted = await rooms.send(Intent(user.user_id, etype, content, None, txn), room_id)
        return {"event_id": persisted.event_id}

    async def put_state(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
        user = request.user
        room_id = request.path_params["roomId"]
        etype = request.path_params["eventType"]
        state_key = request.path_params.get("stateKey", "")
        content = request.json_object()
        if etype == "m.room.member":
            # Membership goes through the dedicated endpoints' semantics but is
            # still just a state event checked by the auth rules.
            membership = content.get("membership")
            if not isinstance(membership, str):
                raise bad_json("membership must be a string")
            if membership == "invite" and await unknown_local_user(accounts, state_key,
                                                                   rooms.server_name):
                raise not_found("Unknown user")  # as POST /invite answers
        if etype == "m.room.canonical_alias":
            await _check_canonical_alias(content, room_id, aliases, rooms.server_name)
        persisted = await rooms.send(Intent(user.user_id, etype, content, state_key), room_id)
        return {"event_id": persisted.event_id}

    async def redact(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
        user = request.user
        body = request.json_object(allow_empty=True)
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise bad_json("reason must be a string")
        room_id, event_id = request.path_params["roomId"], request.path_params["eventId"]
        persisted = await rooms.redact(
            user.user_id, room_id, event_id, reason,
            Txn(user.user_id, user.device_id, redact_path(room_id, event_id),
                request.path_params["txnId"]))
        return {"event_id": persisted.event_id}

    async def get_state(request: Request) -> Any:
        """GET /_matrix/client/v3/rooms/{roomId}/state"""
        user = request.user
        room_id = request.path_params["roomId"]
        state = await _readable_state(room_id, user.user_id)
        return await serializer.serialize(list(state.values()), user)

    async def get_state_event(request: Request) -> Any:
        """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
        user = request.user
        room_id = request.path_params["roomId"]
        key = (request.path_params["eventType"], request.path_params.get("stateKey", ""))
        state = await _readable_state(room_id, user.user_id)
        event = state.get(key)
        if event is None:
            raise not_found("Event not found")
        if request.arg("format") == "event":
            return await serializer.serialize_one(event, user)
        if event.redacted_by:
            return (await serializer.serialize_one(event, user)).get("content", {})
        return event.content

    async def _readable_state(room_id: str, user_id: str) -> dict[tuple[str, str], Any]:
        membership = await events.membership(room_id, user_id)
        if await events.room_version(room_id) is None:
            raise forbidden("You are not in this room")  # do not reveal existence
        if membership is not None and membership[2]:
            raise forbidden("You have forgotten this room")
        if membership is not None and membership[0] == "join":
            return await events.current_state_events(room_id)
        if membership is not None and membership[0] in ("leave", "ban"):
            # Spec room_state.yaml: a user who left sees the state as it was
            # when they left.
            return await events.state_at(room_id, membership[1])
        if await visibility.can_read_room_now(room_id, user_id):
            return await events.current_state_events(room_id)
        raise forbidden("You are not allowed to see this room's state")

    async def get_event(request: Request) -> Any:
        """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
        user = request.user
        room_id = request.path_params["roomId"]
        event = await events.get_event(request.path_params["eventId"])
        if event is None or event.room_id != room_id:
            raise not_found("Event not found")
        membership = await events.membership(room_id, user.user_id)
        if membership is not None and membership[2]:
            raise not_found("Event not found")  # forgotten rooms' history is gone
        if not await visibility.can_see(room_id, user.user_id, event):
            raise not_found("Event not found")
        return await serializer.serialize_one(event, user)

    async def joined_rooms(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/joined_rooms"""
        rows = await events.rooms_for_user(request.user.user_id, ["join"])
        return {"joined_rooms": [r[0] for r in rows]}

    return [
        Route("POST", "/_matrix/client/v3/createRoom", create_room, rate_limited=True),
        Route("PUT", "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}", send_message,
              rate_limited=True),
        Route("PUT", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}", put_state,
              rate_limited=True),
        Route("PUT", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}", put_state,
              rate_limited=True),
        Route("PUT", "/_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}", redact,
              rate_limited=True),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/state", get_state),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}", get_state_event),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/state/{eventType}", get_state_event),
        Route("GET", "/_matrix/client/v3/rooms/{roomId}/event/{eventId}", get_event),
        Route("GET", "/_matrix/client/v3/joined_rooms", joined_rooms),
    ]


async def _check_canonical_alias(content: dict[str, Any], room_id: str, aliases: AliasStore,
                                 server_name: str) -> None:
    """Spec m.room.canonical_alias: the server checks the aliases point at this room."""
    names: list[Any] = []
    if "alias" in content and content["alias"] is not None:
        names.append(content["alias"])
    alt = content.get("alt_aliases", [])
    if not isinstance(alt, list):
        raise bad_json("alt_aliases must be a list")
    names.extend(alt)
    for name in names:
        if not isinstance(name, str):
            raise bad_json("aliases must be strings")
        try:
            # m.room.canonical_alias: servers SHOULD validate the alias grammar.
            parse_room_alias(name)
        except ValueError:
            raise MatrixError(400, "M_INVALID_PARAM", f"{name[:80]!r} is not a room alias") \
                from None
        if not name.endswith(":" + server_name):
            continue
        found = await aliases.lookup(name)
        if found is None or found[0] != room_id:
            raise MatrixError(400, "M_BAD_ALIAS", f"{name} does not point to this room")
