"""The authorisation rules of room versions 10, 11 and 12.

Spec: rooms/v10.md, rooms/v11.md, rooms/v12.md, "Authorisation rules".
Version 12 inserted a new rule 2, so its later top-level rules are one higher
than in versions 10 and 11; comments give both ("Rule 5 [v12: 6]").
Membership rules live in `auth_member`, power level rules in `auth_power`.

What `check_auth` does not decide, and who must:

* "Events must be signed by the server denoted by the sender property": the
  signature checks on receipt of a PDU (server-server-api), before this.
* Rule 2.3 [v12: 3.3], auth events that were themselves rejected: needs the
  caller's rejection records; the caller must not pass rejected events.
* Rule 2 of version 12, "the room_id is the event ID of an accepted
  m.room.create event": event IDs are reference hashes computed outside this
  package, so it is checked only when the caller passes `create_event_id`
  (the ID of the create event in `state`, which the caller knows was
  accepted). Without it the check is that `state` has a create event at all.
* Rule 2 [v12: 3] as a whole looks at the event's `auth_events`, which are
  event IDs; the caller passes the fetched auth events as `auth_events` to
  have rules 2.1, 2.2, 2.4 and 2.5 [v12: 3.1, 3.2, 3.4] applied, or None to
  skip them (for example when checking against the current state).
* Rule 4.2.1 [v12: 5.2.1] needs a real signature check; see
  `auth_member.check_membership`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kith.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from kith.rooms.auth_common import (
    CREATE,
    Event,
    StateMap,
    content_of,
    is_valid_user_id,
    numbered,
    server_name_of,
)
from kith.rooms.auth_events import auth_event_keys
from kith.rooms.auth_member import SignatureCheck, check_membership
from kith.rooms.auth_power import check_power_levels_event
from kith.rooms.errors import AuthError
from kith.rooms.membership import membership_of
from kith.rooms.power_levels import action_level, event_level, user_level

__all__ = ["AuthError", "check_auth", "check_create_event"]


def check_auth(
    event: Event,
    state: StateMap,
    version: RoomVersion,
    *,
    auth_events: Sequence[Event] | None = None,
    create_event_id: str | None = None,
    verify_signature: SignatureCheck | None = None,
) -> None:
    """Raise AuthError unless `event` is allowed given `state` (the room state
    before the event, keyed by (type, state_key)). Returns None if allowed."""
    event_type = event.get("type")
    sender = event.get("sender")
    if not isinstance(event_type, str) or not isinstance(sender, str):
        # Not an authorisation rule: receipt check 1, "Is a valid event".
        raise AuthError("format", "event needs a string type and sender")

    # Rule 1: If type is m.room.create: ...
    if event_type == "m.room.create":
        check_create_event(event, version)
        return

    create = state.get(CREATE)
    if create is None:
        # v10/v11 rule 2.4 "If there is no m.room.create event among the
        # entries, reject", applied to the state; v12 rule 2 cannot hold
        # without an accepted create event either.
        raise AuthError(numbered(version, "2.4", "2"), "the room has no m.room.create event")
    if version.room_id_from_create and create_event_id is not None:
        # Rule 2 (v12): If the event's room_id is not an event ID for an
        # accepted (not rejected) m.room.create event, with the sigil ! instead
        # of $, reject.
        if event.get("room_id") != "!" + create_event_id[1:]:
            raise AuthError("2", "room_id is not the create event's ID")

    if auth_events is not None:
        _check_auth_events(event, event_type, sender, auth_events, version)

    # Rule 3 [v12: 4]: If the content of the m.room.create event in the room
    # state has the property m.federate set to false, and the sender domain of
    # the event does not match the sender domain of the create event, reject.
    create_sender = create.get("sender")
    if content_of(create).get("m.federate") is False and (
        not isinstance(create_sender, str)
        or server_name_of(sender) != server_name_of(create_sender)
    ):
        raise AuthError(numbered(version, "3", "4"), "the room does not federate")

    # Rule 4 [v12: 5]: If type is m.room.member: ...
    if event_type == "m.room.member":
        check_membership(
            event,
            state,
            version,
            create_event_id=create_event_id,
            verify_signature=verify_signature,
        )
        return

    # Rule 5 [v12: 6]: If the sender's current membership state is not join,
    # reject.
    if membership_of(sender, state) != "join":
        raise AuthError(numbered(version, "5", "6"), f"{sender} is not joined to the room")

    sender_level = user_level(sender, state, version)
    # Rule 6 [v12: 7]: If type is m.room.third_party_invite:
    if event_type == "m.room.third_party_invite":
        # Rule 6.1 [v12: 7.1]: Allow if and only if sender's current power
        # level is greater than or equal to the invite level.
        if sender_level >= action_level("invite", state):
            return
        raise AuthError(numbered(version, "6.1", "7.1"), "sender's level is below the invite level")

    state_key = event.get("state_key")
    is_state = isinstance(state_key, str)
    # Rule 7 [v12: 8]: If the event type's required power level is greater
    # than the sender's power level, reject. (For m.room.redaction this is the
    # level for that event type; the redact level is not considered here.)
    required = event_level(event_type, is_state, state)
    if required > sender_level:
        raise AuthError(
            numbered(version, "7", "8"), f"sending {event_type} needs level {required}"
        )

    # Rule 8 [v12: 9]: If the event has a state_key that starts with an @ and
    # does not match the sender, reject.
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise AuthError(numbered(version, "8", "9"), "state keys starting with @ belong to that user")

    # Rule 9 [v12: 10]: If type is m.room.power_levels: ...
    if event_type == "m.room.power_levels":
        check_power_levels_event(event, state, version)
        return

    # Rule 10 [v12: 11]: Otherwise, allow.


def check_create_event(event: Event, version: RoomVersion) -> None:
    """Rule 1: the m.room.create rules, which need no room state."""
    sender = event.get("sender")
    content = content_of(event)
    # Rule 1.1: If it has any prev_events, reject.
    if event.get("prev_events"):
        raise AuthError("1.1", "m.room.create cannot have prev_events")
    if version.room_id_from_create:
        # Rule 1.2 (v12): If the event has a room_id, reject.
        if "room_id" in event:
            raise AuthError("1.2", "m.room.create cannot have a room_id in this version")
    else:
        # Rule 1.2 (v10, v11): If the domain of the room_id does not match the
        # domain of the sender, reject.
        room_id = event.get("room_id")
        if (
            not isinstance(room_id, str)
            or not isinstance(sender, str)
            or server_name_of(room_id) is None
            or server_name_of(room_id) != server_name_of(sender)
        ):
            raise AuthError("1.2", "room_id and sender domains differ")
    # Rule 1.3: If content.room_version is present and is not a recognised
    # version, reject.
    if "room_version" in content:
        room_version = content["room_version"]
        if not isinstance(room_version, str) or room_version not in KNOWN_ROOM_VERSIONS:
            raise AuthError("1.3", f"unrecognised room_version {room_version!r}")
    # Rule 1.4 (v10): If content has no creator property, reject.
    if not version.creator_is_sender and "creator" not in content:
        raise AuthError("1.4", "m.room.create content needs a creator")
    # Rule 1.4 (v12): If additional_creators is present in content and is not
    # an array of strings where each string passes the same user ID
    # validation applied to sender, reject.
    if version.infinite_creator_power and "additional_creators" in content:
        extra: Any = content["additional_creators"]
        if not isinstance(extra, list) or not all(is_valid_user_id(u) for u in extra):
            raise AuthError("1.4", "additional_creators must be a list of user IDs")
    # Rule 1.5 (v10, v12) / 1.4 (v11): Otherwise, allow.


def _check_auth_events(
    event: Event,
    event_type: str,
    sender: str,
    auth_events: Sequence[Event],
    version: RoomVersion,
) -> None:
    # Rule 2 [v12: 3]: Considering the event's auth_events:
    keys: list[tuple[str, str] | None] = []
    for entry in auth_events:
        entry_type, entry_key = entry.get("type"), entry.get("state_key")
        if isinstance(entry_type, str) and isinstance(entry_key, str):
            keys.append((entry_type, entry_key))
        else:
            keys.append(None)
    # Rule 2.1 [v12: 3.1]: If there are duplicate entries for a given type and
    # state_key pair, reject.
    pairs = [k for k in keys if k is not None]
    if len(set(pairs)) != len(pairs):
        raise AuthError(numbered(version, "2.1", "3.1"), "duplicate auth events")
    # Rule 2.2 [v12: 3.2]: If there are entries whose type and state_key don't
    # match those specified by the auth events selection algorithm described
    # in the server specification, reject. (v12: m.room.create MUST NOT be
    # selected, and `auth_event_keys` leaves it out.)
    state_key = event.get("state_key")
    allowed = auth_event_keys(
        event_type,
        state_key if isinstance(state_key, str) else None,
        sender,
        content_of(event),
        version,
    )
    # (An entry without a string type and state_key matches nothing.)
    unexpected = [k for k in keys if k is None or k not in allowed]
    if unexpected:
        raise AuthError(numbered(version, "2.2", "3.2"), f"unexpected auth events {unexpected}")
    # Rule 2.3 [v12: 3.3] (auth events that were rejected) is the caller's.
    # Rule 2.4 (v10, v11): If there is no m.room.create event among the
    # entries, reject.
    if not version.room_id_from_create and CREATE not in keys:
        raise AuthError("2.4", "auth events lack the m.room.create event")
    # Rule 2.5 [v12: 3.4]: If any event in auth_events has a room_id which
    # does not match that of the event being authorised, reject. (The v12
    # spec source writes this item as "5."; it is rendered, and numbered
    # here, as 3.4.)
    room_id = event.get("room_id")
    if any(e.get("room_id") != room_id for e in auth_events):
        raise AuthError(numbered(version, "2.5", "3.4"), "auth event from another room")
