"""Reporting content (report_content.yaml): events, rooms and users.

Reports are stored for the administrator (kith.store.reports). Kith answers
404 for an unknown or invisible event or room, as report_content.yaml allows,
after a short random delay so that timing says little about existence.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from kith.api.fields import opt_int, opt_str, req_str
from kith.errors import invalid_param, not_found
from kith.http.types import Request, Route
from kith.ids import is_valid_user_id
from kith.rooms.visibility import VisibilityFilter
from kith.store.accounts import AccountStore
from kith.store.events import EventStore
from kith.store.reports import ReportStore

MAX_REASON = 4096


async def _jitter(max_ms: int) -> None:
    """report_content.yaml: "homeservers MAY add a random delay"."""
    if max_ms:
        await asyncio.sleep(secrets.randbelow(max_ms) / 1000)


def _reason(body: dict[str, Any], required: bool) -> str | None:
    reason = req_str(body, "reason") if required else opt_str(body, "reason")
    if reason is not None and len(reason) > MAX_REASON:
        raise invalid_param(f"reason is longer than {MAX_REASON} characters")
    return reason


def routes(events: EventStore, reports: ReportStore, accounts: AccountStore,
           visibility: VisibilityFilter, jitter_ms: int = 50) -> list[Route]:

    async def report_event(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}"""
        user = request.user
        room_id = request.path_params["roomId"]
        event_id = request.path_params["eventId"]
        body = request.json_object(allow_empty=True)
        reason = _reason(body, required=False)
        # `score` was removed in v1.18; older clients still send it (-100..0).
        score = opt_int(body, "score")
        if score is not None and not -100 <= score <= 0:
            raise invalid_param("score must be between -100 and 0")
        await _jitter(jitter_ms)
        # report_content.yaml 404: the event is unknown, or the reporter is not
        # joined to its room (since v1.8), or may not see it.
        membership = await events.membership(room_id, user.user_id)
        event = await events.get_event(event_id)
        if membership is None or membership[0] != "join" or event is None or \
                event.room_id != room_id or \
                not await visibility.can_see(room_id, user.user_id, event):
            raise not_found("The event was not found or you are not joined to the room")
        await reports.add(user.user_id, room_id=room_id, event_id=event_id, reason=reason,
                          score=score)
        return {}

    async def report_room(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/report"""
        user = request.user
        room_id = request.path_params["roomId"]
        reason = _reason(request.json_object(), required=True)
        await _jitter(jitter_ms)
        # The reporter need not be joined (report_content.yaml).
        if await events.room_version(room_id) is None:
            raise not_found("The room was not found")
        await reports.add(user.user_id, room_id=room_id, reason=reason)
        return {}

    async def report_user(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/users/{userId}/report"""
        user = request.user
        target = request.path_params["userId"]
        reason = _reason(request.json_object(), required=True)
        if not is_valid_user_id(target):
            raise invalid_param("Invalid user ID")
        await _jitter(jitter_ms)
        # Only local users are known to a server that does not federate.
        if await accounts.get_user(target) is None:
            raise not_found("The user was not found")
        await reports.add(user.user_id, target_user=target, reason=reason)
        return {}

    return [
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/report/{eventId}", report_event,
              rate_limited=True),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/report", report_room, rate_limited=True),
        Route("POST", "/_matrix/client/v3/users/{userId}/report", report_user, rate_limited=True),
    ]
