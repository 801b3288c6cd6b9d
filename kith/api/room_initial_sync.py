"""GET /_matrix/client/v3/rooms/{roomId}/initialSync (room_initial_sync.yaml),
and the RoomInfo it returns, which GET /initialSync (old_sync.yaml) lists too.

Spec: client-server-api/modules/room_previews.md: the endpoint is now for
"peeking" into rooms one has not joined, which history visibility allows for
world_readable rooms. A RoomInfo holds the latest `limit` messages the user
may see and the state: for members the current state, for those who left the
state when they left (and the messages before that), for a peeker the current
state of the world-readable room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kith.api.messages import Timeline
from kith.errors import forbidden
from kith.http.types import Request, Requester, Route
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter
from kith.store.account_data import AccountDataStore
from kith.store.events import EventStore
from kith.sync.tokens import pagination_token

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_END = 1 << 62


class RoomInfos:
    def __init__(self, events: EventStore, serializer: EventSerializer,
                 visibility: VisibilityFilter, account_data: AccountDataStore,
                 ignored_of: Callable[[str], Awaitable[frozenset[str]]]) -> None:
        self._events = events
        self._serializer = serializer
        self._visibility = visibility
        self._account_data = account_data
        self._ignored_of = ignored_of
        self._timeline = Timeline(events, visibility)

    async def room_info(self, requester: Requester, room_id: str, limit: int,
                        room_data: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
        """The RoomInfo of a room for the user, or None when they may not see
        it (never a member, or forgotten, and not world readable)."""
        user_id = requester.user_id
        found = await self._events.membership(room_id, user_id)
        if found is not None and found[2]:
            return None  # leaving.yaml, forget: the room's history is gone for them
        membership = found[0] if found is not None else None
        info: dict[str, Any] = {"room_id": room_id}
        if membership in ("join", "invite", "leave", "ban"):
            info["membership"] = membership
        if membership == "invite":
            invite = await self._events.state_event_at(room_id, "m.room.member", user_id, _END)
            if invite is not None:
                info["invite"] = await self._serializer.serialize_one(invite, requester)
        if membership == "join":
            upto = await self._events.room_position(room_id)
        elif membership in ("leave", "ban") and found is not None:
            upto = found[1]
        elif await self._visibility.can_read_room_now(room_id, user_id):
            upto = await self._events.room_position(room_id)
        elif membership == "invite":
            return info
        else:
            return None
        chunk, earlier = await self._timeline.page(room_id, user_id, upto, True, limit, None,
                                                   None, await self._ignored_of(user_id))
        chunk.reverse()
        messages: dict[str, Any] = {"chunk": await self._serializer.serialize(chunk, requester),
                                    "end": pagination_token(upto)}
        if earlier is not None:
            messages["start"] = pagination_token(earlier)
        state = await self._events.state_at(room_id, upto)
        if room_data is None:
            _, by_room = await self._account_data.changed_since(user_id, None, _END)
            room_data = by_room.get(room_id, [])
        info.update({
            "messages": messages,
            "state": await self._serializer.serialize(list(state.values()), requester),
            "visibility": "public" if await self._events.is_public(room_id) else "private",
            "account_data": room_data,
        })
        return info


def parse_limit(request: Request) -> int:
    limit = request.int_arg("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    return limit if limit is not None else DEFAULT_LIMIT


def routes(infos: RoomInfos) -> list[Route]:
    async def room_initial_sync(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/rooms/{roomId}/initialSync"""
        info = await infos.room_info(request.user, request.path_params["roomId"],
                                     parse_limit(request))
        if info is None:
            # room_initial_sync.yaml 403: "You aren't a member of the room and
            # weren't previously a member of the room."
            raise forbidden("You are not a member of this room and it is not world readable")
        return info

    return [Route("GET", "/_matrix/client/v3/rooms/{roomId}/initialSync", room_initial_sync)]
