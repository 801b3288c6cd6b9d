"""Presence: presence.yaml.

Kith does not track presence yet (modules/presence.md lets a server not
share it): every existing user reads as `offline`, and a user's own updates
are accepted and dropped.
"""

from __future__ import annotations

from typing import Any

from kith.api.fields import opt_str
from kith.errors import bad_json, forbidden, missing_param, not_found
from kith.http.types import Request, Route
from kith.store.accounts import AccountStore

PRESENCE_STATES = ("online", "offline", "unavailable")


def routes(accounts: AccountStore) -> list[Route]:
    async def get_status(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/presence/{userId}/status"""
        user = await accounts.get_user(request.path_params["userId"])
        if user is None or user.deactivated:
            raise not_found("Unknown user")
        return {"presence": "offline"}

    async def put_status(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/presence/{userId}/status"""
        if request.path_params["userId"] != request.user.user_id:
            # presence.yaml: "You cannot set the presence state of another user."
            raise forbidden("Cannot set the presence of another user")
        body = request.json_object()
        presence = opt_str(body, "presence")
        if presence is None:
            raise missing_param("Missing presence")
        if presence not in PRESENCE_STATES:
            raise bad_json(f"presence must be one of {', '.join(PRESENCE_STATES)}")
        opt_str(body, "status_msg")
        return {}

    return [
        Route("GET", "/_matrix/client/v3/presence/{userId}/status", get_status),
        Route("PUT", "/_matrix/client/v3/presence/{userId}/status", put_status),
    ]
