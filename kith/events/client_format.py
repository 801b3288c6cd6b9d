"""Serving PDUs to clients in the client-server ClientEvent format.

Spec: client-server-api "Room event format" (definitions client_event and
client_event_without_room_id) and rooms/v11.md "Moving the redacts property of
m.room.redaction events to a content property".

A ClientEvent holds content, event_id, origin_server_ts, room_id, sender, type,
state_key (present if, and only if, the event is a state event) and unsigned.
Federation-only members (hashes, signatures, auth_events, prev_events, depth)
are never exposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kith.events.room_versions import RoomVersion


def to_client_event(
    pdu: Mapping[str, Any],
    event_id: str,
    unsigned: Mapping[str, Any] | None,
    version: RoomVersion,
) -> dict[str, Any]:
    """The ClientEvent form of `pdu`, e.g. for /rooms/{roomId}/event/{eventId}.

    `room_id` comes from the PDU; a room version 12 create event has none, so it
    is derived from the event ID (appendices "Room IDs": the create event's ID
    with `!` as the sigil instead of `$`).
    """
    result = to_client_event_without_room_id(pdu, event_id, unsigned, version)
    room_id = pdu.get("room_id")
    if room_id is None and version.room_id_from_create and pdu.get("type") == "m.room.create":
        room_id = "!" + event_id[1:]
    result["room_id"] = room_id
    return result


def to_client_event_without_room_id(
    pdu: Mapping[str, Any],
    event_id: str,
    unsigned: Mapping[str, Any] | None,
    version: RoomVersion,
) -> dict[str, Any]:
    """The ClientEventWithoutRoomID form, used where the room is implied (/sync).

    `unsigned` is whatever the serving layer computed (age, transaction_id,
    prev_content, redacted_because, ...); it is included only when non-empty.
    The PDU's own `unsigned` is federation data and is not passed through.

    The returned `content` is a new dict; nested values are shared with `pdu`.
    """
    raw_content = pdu.get("content")
    content: dict[str, Any] = dict(raw_content) if isinstance(raw_content, Mapping) else {}
    result: dict[str, Any] = {
        "content": content,
        "event_id": event_id,
        "origin_server_ts": pdu.get("origin_server_ts"),
        "sender": pdu.get("sender"),
        "type": pdu.get("type"),
    }
    if "state_key" in pdu:
        result["state_key"] = pdu["state_key"]
    if pdu.get("type") == "m.room.redaction":
        _expose_redacts(pdu, result, content, version)
    if unsigned:
        result["unsigned"] = dict(unsigned)
    return result


def _expose_redacts(
    pdu: Mapping[str, Any],
    result: dict[str, Any],
    content: dict[str, Any],
    version: RoomVersion,
) -> None:
    if version.redacts_in_content:
        # rooms/v11.md: "For backwards-compatibility with older clients, servers
        # should add a redacts property to the top level of m.room.redaction
        # events when serving such events over the Client-Server API."
        if "redacts" in content:
            result["redacts"] = content["redacts"]
    elif "redacts" in pdu:
        # The PDU of room version 10 has `redacts` at top level, which is also
        # where older clients look for it.
        result["redacts"] = pdu["redacts"]
        # rooms/v11.md: "servers should add a redacts property to the content of
        # m.room.redaction events in *older* room versions when serving such
        # events over the Client-Server API." An existing content value is left
        # alone: it was part of the signed event.
        content.setdefault("redacts", pdu["redacts"])
