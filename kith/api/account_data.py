"""Client config: account-data.yaml (global and per-room account data) and
tags.yaml (room tags, kept as the room account data event `m.tag`)."""

from __future__ import annotations

from typing import Any

from kith.errors import MatrixError, bad_json, forbidden, invalid_param, not_found
from kith.http.types import Request, Route
from kith.ids import is_room_id
from kith.store.account_data import AccountDataStore
from kith.sync.notifier import Notifier

# account_data.md "Server Behaviour": servers MUST reject setting these
# server-managed types with a 405 (errcode M_BAD_JSON per account-data.yaml),
# for both global and room account data.
SERVER_MANAGED = frozenset({"m.fully_read", "m.push_rules"})
MAX_TAG_BYTES = 255


def own_user(request: Request, verb: str = "access") -> str:
    """The path's userId, which must be the requester (403 otherwise)."""
    user_id = request.path_params["userId"]
    if user_id != request.user.user_id:
        raise forbidden(f"Cannot {verb} account data for other users.")
    return user_id


def room_param(request: Request) -> str:
    room_id = request.path_params["roomId"]
    # account-data.yaml: 400 M_INVALID_PARAM when roomId is not a room ID.
    if not is_room_id(room_id):
        raise invalid_param(f"{room_id} is not a valid room ID.")
    return room_id


def writable_type(request: Request) -> str:
    etype = request.path_params["type"]
    if etype in SERVER_MANAGED:
        raise MatrixError(405, "M_BAD_JSON", f"Cannot set {etype} through this API.")
    return etype


def routes(store: AccountDataStore, notifier: Notifier) -> list[Route]:
    async def put_global(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/user/{userId}/account_data/{type}"""
        user_id = own_user(request, "add")
        etype = writable_type(request)
        content = request.json_object()
        await store.put(user_id, None, etype, content)
        notifier.wake([user_id])
        return {}

    async def get_global(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/user/{userId}/account_data/{type}"""
        user_id = own_user(request)
        content = await store.get(user_id, None, request.path_params["type"])
        if content is None:
            raise not_found("Account data not found.")
        return content

    async def put_room(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
        user_id = own_user(request, "add")
        room_id = room_param(request)
        etype = writable_type(request)
        content = request.json_object()
        await store.put(user_id, room_id, etype, content)
        notifier.wake([user_id])
        return {}

    async def get_room(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
        user_id = own_user(request)
        room_id = room_param(request)
        content = await store.get(user_id, room_id, request.path_params["type"])
        if content is None:
            raise not_found("Room account data not found.")
        return content

    async def get_tags(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags"""
        user_id = own_user(request)
        content = await store.get(user_id, room_param(request), "m.tag")
        return {"tags": _tags_of(content)}

    async def put_tag(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
        user_id = own_user(request, "add")
        room_id = room_param(request)
        tag = _tag_name(request)
        body = request.json_object()
        # definitions/tag.yaml: `order` is a number (in [0, 1]).
        order = body.get("order")
        if order is not None and (not isinstance(order, (int, float)) or isinstance(order, bool)):
            raise bad_json("order must be a number")

        def change(content: dict[str, Any] | None) -> dict[str, Any]:
            tags = _tags_of(content)
            tags[tag] = body
            return {**(content or {}), "tags": tags}

        await store.update(user_id, room_id, "m.tag", change)
        notifier.wake([user_id])
        return {}

    async def delete_tag(request: Request) -> dict[str, Any]:
        """DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
        user_id = own_user(request, "remove")
        room_id = room_param(request)
        tag = _tag_name(request)

        def change(content: dict[str, Any] | None) -> dict[str, Any] | None:
            tags = _tags_of(content)
            if tag not in tags:
                return None  # tags.yaml: removing an absent tag is still a 200
            del tags[tag]
            return {**(content or {}), "tags": tags}

        if await store.update(user_id, room_id, "m.tag", change) is not None:
            notifier.wake([user_id])
        return {}

    base = "/_matrix/client/v3/user/{userId}"
    return [
        Route("PUT", base + "/account_data/{type}", put_global),
        Route("GET", base + "/account_data/{type}", get_global),
        Route("PUT", base + "/rooms/{roomId}/account_data/{type}", put_room),
        Route("GET", base + "/rooms/{roomId}/account_data/{type}", get_room),
        Route("GET", base + "/rooms/{roomId}/tags", get_tags),
        Route("PUT", base + "/rooms/{roomId}/tags/{tag}", put_tag),
        Route("DELETE", base + "/rooms/{roomId}/tags/{tag}", delete_tag),
    ]


def _tags_of(content: dict[str, Any] | None) -> dict[str, Any]:
    tags = (content or {}).get("tags")
    return dict(tags) if isinstance(tags, dict) else {}


def _tag_name(request: Request) -> str:
    tag = request.path_params["tag"]
    if not tag or len(tag.encode()) > MAX_TAG_BYTES:
        raise invalid_param(f"Tag names must be 1 to {MAX_TAG_BYTES} bytes")
    return tag
