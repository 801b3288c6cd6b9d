"""GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event
(room_event_by_timestamp.yaml, added in v1.6).

The event closest to `ts` in direction `dir`: with `f` the first event whose
origin_server_ts is at or after ts, with `b` the last one at or before it.
Only events the requester may see count (history visibility, as for
/messages), so the answer never reveals an event they could not fetch; when
none qualifies the answer is 404 M_NOT_FOUND. Kith does not federate, so the
federation fallback the endpoint describes does not apply.
"""

from __future__ import annotations

from typing import Any

from kith.errors import invalid_param, missing_param, not_found
from kith.http.types import Request, Route
from kith.rooms.visibility import VisibilityFilter, visible
from kith.store.events import EventStore
from kith.store.timestamps import TimestampStore

BATCH = 100
MAX_BATCHES = 20  # bounded work: at most 2,000 hidden events are skipped


def routes(events: EventStore, timestamps: TimestampStore, visibility: VisibilityFilter
           ) -> list[Route]:
    async def timestamp_to_event(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event"""
        user_id = request.user.user_id
        room_id = request.path_params["roomId"]
        direction = request.arg("dir")
        if direction is None:
            raise missing_param("Missing query parameter dir")
        if direction not in ("f", "b"):
            raise invalid_param("dir must be f or b")
        ts = request.int_arg("ts")
        if ts is None:
            raise missing_param("Missing query parameter ts")
        forwards = direction == "f"
        membership = await events.membership(room_id, user_id)
        # A forgotten room's history is gone for the user (leaving.yaml, forget).
        if membership is None or not membership[2]:
            memberships, history = await visibility.timelines(room_id, user_id)
            after: tuple[int, int] | None = None
            for _ in range(MAX_BATCHES):
                batch = await timestamps.around(room_id, ts, forwards, after, BATCH)
                for event in batch:
                    if visible(event, user_id, memberships, history):
                        return {"event_id": event.event_id,
                                "origin_server_ts": event.pdu["origin_server_ts"]}
                if len(batch) < BATCH:
                    break
                after = (int(batch[-1].pdu["origin_server_ts"]), batch[-1].stream_id)
        way = "forward" if forwards else "backward"
        raise not_found(f"Unable to find event from {ts} in {way} direction")

    return [Route("GET", "/_matrix/client/v1/rooms/{roomId}/timestamp_to_event",
                  timestamp_to_event)]
