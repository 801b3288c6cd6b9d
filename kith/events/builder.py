"""Building new, hashed and signed PDUs, and the size checks every PDU must pass.

Spec: server-server-api.md "Adding hashes and signatures to outgoing events";
the PDU formats of rooms/v10.md (pdu_v4 definition), rooms/v11.md (pdu_v11) and
rooms/v12.md (pdu_v12); client-server-api "Size limits".

Format decisions, per version:

* No `origin` member is written. None of the PDU definitions for the versions
  Kith supports (pdu_v4, pdu_v11, pdu_v12) defines it, and from room version 11
  the redaction algorithm no longer protects it, so it would only be noise.
* No `event_id` member is written: from room version 4 the event ID is derived
  from the event's reference hash (rooms/fragments/v4-event-ids.md).
* `redacts`: in room version 10 it is a top-level PDU member (pdu_v4); from
  room version 11 it lives only in `content` ("Moving the redacts property ...
  to a content property"). The top-level copy for older clients is added by
  `kith.events.client_format`, never stored in a v11+ PDU.
* Room version 12 `m.room.create` events have no `room_id`; the room ID is then
  "!" + the event ID without its "$" (appendices "Room IDs").
* Room version 10 `m.room.create` content needs a `creator` (the auth rules of
  v10 read it); the builder does not invent content, so callers must supply it.
  From room version 11 `creator` is gone and the sender is the creator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kith.canonical_json import (
    MAX_EVENT_BYTES,
    MAX_SAFE_INTEGER,
    check_canonical_json_value,
    encode_canonical_json,
)
from kith.events.errors import EventFieldTooLong, EventTooLarge, TooManyEventReferences
from kith.events.hashing import compute_content_hash, compute_event_id
from kith.events.redaction import redacted_view
from kith.events.room_versions import RoomVersion
from kith.signing import SigningKey, sign_json

# Spec client-server-api "Size limits": sender, room_id and event_id are bounded
# by the identifier limits of the appendices (255 bytes for user, room and event
# IDs); state_key and type by 255 bytes directly.
MAX_ID_BYTES = 255
_LIMITED_FIELDS = ("sender", "room_id", "state_key", "type", "event_id")

# Spec auth_events_prev_events_v4: "Must contain less than or equal to 20
# events" (prev_events) / "... 10 events" (auth_events).
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10


def build_pdu(
    *,
    version: RoomVersion,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    state_key: str | None,
    prev_events: Sequence[str],
    auth_events: Sequence[str],
    depth: int,
    origin_server_ts: int,
    server_name: str,
    signing_key: SigningKey,
    redacts: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Create a new PDU and return (event_id, pdu).

    The PDU carries `hashes.sha256` and this server's signature, following
    "Adding hashes and signatures to outgoing events": the content hash is
    computed over the full event, then the *redacted* event is signed and the
    signature copied back. `content` is deep-copied, so later changes by the
    caller cannot alter the signed event.

    `room_id` must be None exactly when building a room version 12
    `m.room.create` event (its room ID is "!" + event_id[1:]). `redacts` is
    required for, and only allowed on, `m.room.redaction` events; in room
    versions 11+ it may instead already be in `content`.

    Raises ValueError for inconsistent arguments, `CanonicalJSONError` (a
    ValueError) when the content has floats or out-of-range integers, and the
    `kith.events.errors` exceptions when a size limit is exceeded.
    """
    omit_room_id = version.room_id_from_create and event_type == "m.room.create"
    if omit_room_id and room_id is not None:
        raise ValueError(
            f"room version {version.identifier} create events have no room_id; "
            "it is derived from the event's hash"
        )
    if not omit_room_id and room_id is None:
        raise ValueError("room_id is required for this event")

    body = _copy_json_object(content)
    pdu: dict[str, Any] = {
        "auth_events": list(auth_events),
        "content": body,
        # Spec depth_v6: depth must stay below 2**53 - 1; "If the room's depth is
        # already at the limit, the depth must be set to the limit."
        "depth": min(depth, MAX_SAFE_INTEGER),
        "origin_server_ts": origin_server_ts,
        "prev_events": list(prev_events),
        "sender": sender,
        "type": event_type,
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    _place_redacts(pdu, body, version, event_type, redacts)

    # Spec rooms/v10.md "Event format": servers must strictly enforce canonical
    # JSON (integers only, in range) for events; refuse to mint one that others
    # would reject.
    check_canonical_json_value(pdu)

    pdu["hashes"] = {"sha256": compute_content_hash(pdu)}
    signed = sign_json(redacted_view(pdu, version), server_name, signing_key)
    pdu["signatures"] = signed["signatures"]
    event_id = compute_event_id(pdu, version)
    check_pdu_limits(pdu, event_id=event_id)
    return event_id, pdu


def _place_redacts(
    pdu: dict[str, Any],
    body: dict[str, Any],
    version: RoomVersion,
    event_type: str,
    redacts: str | None,
) -> None:
    is_redaction = event_type == "m.room.redaction"
    if redacts is not None and not is_redaction:
        raise ValueError("redacts is only meaningful for m.room.redaction events")
    if version.redacts_in_content:
        # Spec rooms/v11.md: "The redacts property of m.room.redaction events is
        # moved from a top-level event property to a property under the event
        # content."
        if redacts is not None:
            if "redacts" in body and body["redacts"] != redacts:
                raise ValueError("redacts argument disagrees with content.redacts")
            body["redacts"] = redacts
        if is_redaction and not isinstance(body.get("redacts"), str):
            raise ValueError("m.room.redaction needs the ID of the event it redacts")
    else:
        # pdu_v4: "redacts ... For redaction events, the ID of the event being
        # redacted" -- a top-level member in room version 10.
        if is_redaction and redacts is None:
            raise ValueError("m.room.redaction needs the ID of the event it redacts")
        if redacts is not None:
            pdu["redacts"] = redacts


def check_pdu_limits(pdu: Mapping[str, Any], *, event_id: str | None = None) -> None:
    """Raise if `pdu` breaks a size limit from the spec.

    Checks, in order: the byte length of `sender`, `room_id`, `state_key`,
    `type` and the event ID (from `event_id`, or an `event_id` member if the
    dict has one) against 255 bytes (`EventFieldTooLong`); the number of
    `prev_events` and `auth_events` (`TooManyEventReferences`); and the whole
    event as canonical JSON against 65536 bytes (`EventTooLarge`). Lengths are
    UTF-8 byte counts, as the spec says "bytes". Members of the wrong type are
    left to format validation and are not reported here.
    """
    for field in _LIMITED_FIELDS:
        value = event_id if field == "event_id" and event_id is not None else pdu.get(field)
        if isinstance(value, str):
            size = len(value.encode("utf-8"))
            if size > MAX_ID_BYTES:
                raise EventFieldTooLong(field, size, MAX_ID_BYTES)
    for field, limit in (("prev_events", MAX_PREV_EVENTS), ("auth_events", MAX_AUTH_EVENTS)):
        refs = pdu.get(field)
        if isinstance(refs, list) and len(refs) > limit:
            raise TooManyEventReferences(field, len(refs), limit)
    size = len(encode_canonical_json(pdu))
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(size, MAX_EVENT_BYTES)


def _copy_json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _copy_json(item) for key, item in value.items()}


def _copy_json(value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy_json(item) for item in value]
    return value
