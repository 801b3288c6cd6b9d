"""Typing notifications: typing.yaml."""

from __future__ import annotations

from typing import Any

from kith.api.fields import opt_bool, opt_int
from kith.ephemeral.typing import DEFAULT_TIMEOUT_MS, TypingTracker
from kith.errors import bad_json, forbidden, missing_param
from kith.http.types import Request, Route
from kith.store.events import EventStore


def routes(tracker: TypingTracker, events: EventStore) -> list[Route]:
    async def set_typing(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}"""
        room_id = request.path_params["roomId"]
        user_id = request.path_params["userId"]
        if user_id != request.user.user_id:
            raise forbidden("Cannot set the typing state of another user")
        body = request.json_object()
        # typing.yaml: `typing` is required; `timeout` may be omitted when false.
        if "typing" not in body:
            raise missing_param("Missing typing")
        if not isinstance(body["typing"], bool):
            raise bad_json("typing must be a boolean")
        typing = opt_bool(body, "typing", False)
        timeout = opt_int(body, "timeout")
        membership = await events.membership(room_id, user_id)
        if membership is None or membership[0] != "join":
            raise forbidden("You are not joined to this room")
        await tracker.set(room_id, user_id, typing,
                          DEFAULT_TIMEOUT_MS if timeout is None else timeout)
        return {}

    return [Route("PUT", "/_matrix/client/v3/rooms/{roomId}/typing/{userId}", set_typing,
                  rate_limited=True)]
