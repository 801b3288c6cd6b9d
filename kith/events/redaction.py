"""The redaction algorithm, per room version.

Spec: rooms/fragments/v9-redactions.md (used unchanged by room version 10) and
rooms/fragments/v11-redactions.md (room versions 11 and 12). Redaction matters
beyond moderation: the reference hash (event IDs) and event signatures are both
computed over the redacted form (server-server-api "Signing Events"), so this
module must agree with every other server byte for byte. Only the spec's lists
are applied; no key is kept or dropped on a hunch.

Events are plain JSON dicts in the federation (PDU) format. `redact_client_event`
applies the same content rules to an event in the client-server format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kith.events.room_versions import RoomVersion

# Spec v9-redactions: "the server must strip off any keys not in the following list".
_TOP_LEVEL_V10: frozenset[str] = frozenset({
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
    "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
    "origin_server_ts", "membership",
})
# Spec rooms/v11.md "Redactions": "The top-level origin, membership, and
# prev_state properties are no longer protected from redaction."
_TOP_LEVEL_V11: frozenset[str] = _TOP_LEVEL_V10 - {"prev_state", "origin", "membership"}

# Spec v9-redactions: per event type, the content keys that survive.
_CONTENT_V10: dict[str, tuple[str, ...]] = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.create": ("creator",),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.power_levels": (
        "ban", "events", "events_default", "kick", "redact", "state_default",
        "users", "users_default",
    ),
    "m.room.history_visibility": ("history_visibility",),
}
# Spec v11-redactions: power levels also keep `invite`; redactions keep `redacts`.
# m.room.create keeps all of its content and m.room.member keeps
# third_party_invite.signed; both are handled in `redact_content` because they
# are not plain key lists.
_CONTENT_V11: dict[str, tuple[str, ...]] = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.power_levels": (
        "ban", "events", "events_default", "invite", "kick", "redact",
        "state_default", "users", "users_default",
    ),
    "m.room.history_visibility": ("history_visibility",),
    "m.room.redaction": ("redacts",),
}

# Client-server `unsigned` members that describe how the event is being served,
# not what it said, so they stay after redaction. `redacted_because` is added
# separately. Anything else (prev_content, relation aggregations, ...) is dropped
# because it may repeat content the redaction is meant to remove.
_CLIENT_UNSIGNED_KEPT: frozenset[str] = frozenset({
    "age", "transaction_id", "membership", "replaces_state",
})


def redact_content(
    event_type: object, content: object, version: RoomVersion
) -> dict[str, Any]:
    """The part of `content` that survives redaction for this event type.

    The result is a new dict, but its values are shared with `content`; callers
    that go on to mutate must copy (`redact` does).
    """
    if not isinstance(content, Mapping):
        # A malformed event has nothing the protocol needs in its content.
        return {}
    if version.redaction_v11 and event_type == "m.room.create":
        # Spec v11-redactions: "m.room.create allows all keys".
        return dict(content)
    table = _CONTENT_V11 if version.redaction_v11 else _CONTENT_V10
    keys = table.get(event_type, ()) if isinstance(event_type, str) else ()
    kept = {key: content[key] for key in keys if key in content}
    if version.redaction_v11 and event_type == "m.room.member":
        # Spec v11-redactions: member events keep "the signed key of the
        # third_party_invite key"; rooms/v11.md: third_party_invite "is no longer
        # redacted, but will only contain the signed key after redaction".
        invite = content.get("third_party_invite")
        if isinstance(invite, Mapping):
            kept["third_party_invite"] = (
                {"signed": invite["signed"]} if "signed" in invite else {}
            )
    return kept


def redacted_view(pdu: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """The redacted form of `pdu`, sharing nested values with it.

    For read-only uses such as hashing and signing, where copying every nested
    value of a 64 KiB event would be wasted work. Use `redact` for a result that
    is safe to modify or store.
    """
    allowed = _TOP_LEVEL_V11 if version.redaction_v11 else _TOP_LEVEL_V10
    result = {key: value for key, value in pdu.items() if key in allowed}
    # `content` is on the kept list, so it is always present after redaction,
    # stripped down to the keys the event type protects.
    result["content"] = redact_content(pdu.get("type"), pdu.get("content"), version)
    return result


def redact(pdu: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """Apply the room version's redaction algorithm to a PDU.

    Returns an independent deep copy: nothing in the result is shared with `pdu`.
    `unsigned` is not on either version's list, so it is always removed.
    """
    copied = _copy_json(redacted_view(pdu, version))
    assert isinstance(copied, dict)
    return copied


def redact_client_event(
    client_event: Mapping[str, Any],
    version: RoomVersion,
    redacted_because: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Redact an event already in the client-server ClientEvent format.

    Keeps the ClientEvent identity fields (event_id, room_id, sender,
    origin_server_ts, type, state_key), strips content with the same per-type
    rules as the PDU algorithm, and puts the redaction event under
    `unsigned.redacted_because` (client-server-api "Redactions": servers should
    include a copy of the m.room.redaction event there). For room versions 11+
    a surviving `content.redacts` is mirrored at top level, as `to_client_event`
    does for live events (rooms/v11.md, backwards compatibility for clients).
    """
    result: dict[str, Any] = {}
    for key in ("event_id", "room_id", "sender", "origin_server_ts", "type", "state_key"):
        if key in client_event:
            result[key] = _copy_json(client_event[key])
    content = _copy_json(
        redact_content(client_event.get("type"), client_event.get("content"), version)
    )
    assert isinstance(content, dict)
    result["content"] = content
    if (
        version.redacts_in_content
        and client_event.get("type") == "m.room.redaction"
        and "redacts" in content
    ):
        result["redacts"] = content["redacts"]
    unsigned: dict[str, Any] = {}
    old_unsigned = client_event.get("unsigned")
    if isinstance(old_unsigned, Mapping):
        for key, value in old_unsigned.items():
            if key in _CLIENT_UNSIGNED_KEPT:
                unsigned[key] = _copy_json(value)
    if redacted_because is not None:
        unsigned["redacted_because"] = _copy_json(redacted_because)
    if unsigned:
        result["unsigned"] = unsigned
    return result


def _copy_json(value: object) -> object:
    """Deep copy of a JSON value; much cheaper than copy.deepcopy for this shape."""
    if isinstance(value, Mapping):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy_json(item) for item in value]
    return value
