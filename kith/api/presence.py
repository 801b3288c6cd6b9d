"""Presence: presence.yaml (modules/presence.md).

With `presence = true` in kith.toml, PUT sets the user's state and status
message and GET reads anyone's who shares a room with the requester. With it
off (the default; presence.md lets a server not share presence) every
existing user reads as `offline` and a user's own updates are accepted and
dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kith.api.fields import opt_str
from kith.ephemeral.presence import PresenceTracker
from kith.ephemeral.presence_rules import STATES
from kith.errors import bad_json, forbidden, missing_param, not_found
from kith.http.types import Request, Route
from kith.store.accounts import AccountStore

SharesRoom = Callable[[str, str], Awaitable[bool]]
MAX_STATUS_MSG = 1024


def routes(accounts: AccountStore, tracker: PresenceTracker | None = None,
           shares_room: SharesRoom | None = None) -> list[Route]:
    async def get_status(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/presence/{userId}/status"""
        user_id = request.path_params["userId"]
        user = await accounts.get_user(user_id)
        if user is None or user.deactivated:
            raise not_found("Unknown user")
        if tracker is None:
            return {"presence": "offline"}
        if user_id != request.user.user_id and (
                shares_room is None or not await shares_room(request.user.user_id, user_id)):
            # presence.md: presence is published to users who share a room.
            raise forbidden("You are not allowed to see their presence")
        return await tracker.content_of(user_id)

    async def put_status(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/presence/{userId}/status"""
        if request.path_params["userId"] != request.user.user_id:
            # presence.yaml: "You cannot set the presence state of another user."
            raise forbidden("Cannot set the presence of another user")
        body = request.json_object()
        presence = opt_str(body, "presence")
        if presence is None:
            raise missing_param("Missing presence")
        if presence not in STATES:
            raise bad_json(f"presence must be one of {', '.join(STATES)}")
        status_msg = opt_str(body, "status_msg")
        if status_msg is not None and len(status_msg) > MAX_STATUS_MSG:
            raise bad_json(f"status_msg is longer than {MAX_STATUS_MSG} characters")
        if tracker is not None:
            await tracker.set_status(request.user.user_id, presence,  # type: ignore[arg-type]
                                     status_msg)
        return {}

    return [
        Route("GET", "/_matrix/client/v3/presence/{userId}/status", get_status),
        Route("PUT", "/_matrix/client/v3/presence/{userId}/status", put_status,
              rate_limited=True),
    ]
