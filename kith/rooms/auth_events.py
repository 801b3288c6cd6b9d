"""Auth events selection (server-server-api, "Auth events selection").

The `auth_events` of an event are the subset of the room state that gives the
sender permission to send it. `auth_event_keys` returns the (type, state_key)
pairs the algorithm may select; the caller keeps the ones present in the
current state ("..., if any").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_common import CREATE, JOIN_RULES, POWER_LEVELS, Event, StateKey


def auth_event_keys(
    event_type: str,
    state_key: str | None,
    sender: str,
    content: Mapping[str, Any],
    version: RoomVersion,
) -> list[StateKey]:
    """The state keys whose current events belong in the event's auth_events.

    Order: create (if the version selects it), power levels, sender's member
    event, then the member-event extras. No key appears twice.
    """
    # "The auth_events for the m.room.create event in a room is empty."
    if event_type == "m.room.create":
        return []
    keys: list[StateKey] = []

    def add(key: StateKey) -> None:
        if key not in keys:
            keys.append(key)

    # "Depending on the room version, the m.room.create event." Version 12
    # (rooms/v12.md): "The m.room.create event MUST NOT be selected."
    if not version.room_id_from_create:
        add(CREATE)
    # "The current m.room.power_levels event, if any."
    add(POWER_LEVELS)
    # "The sender's current m.room.member event, if any."
    add(("m.room.member", sender))
    if event_type != "m.room.member":
        return keys
    membership = content.get("membership")
    # "The target's current m.room.member event, if any."
    if isinstance(state_key, str):
        add(("m.room.member", state_key))
    # "If membership is join, invite or knock, the current m.room.join_rules
    # event, if any."
    if membership in ("join", "invite", "knock"):
        add(JOIN_RULES)
    # "If membership is invite and content contains a third_party_invite
    # property, the current m.room.third_party_invite event with state_key
    # matching content.third_party_invite.signed.token, if any."
    if membership == "invite" and "third_party_invite" in content:
        invite = content["third_party_invite"]
        signed = invite.get("signed") if isinstance(invite, Mapping) else None
        token = signed.get("token") if isinstance(signed, Mapping) else None
        if isinstance(token, str):
            add(("m.room.third_party_invite", token))
    # "If membership is join, content.join_authorised_via_users_server is
    # present, and the room version supports restricted rooms, then the
    # m.room.member event with state_key matching
    # content.join_authorised_via_users_server." Versions 10-12 all support
    # restricted rooms.
    if membership == "join":
        authoriser = content.get("join_authorised_via_users_server")
        if isinstance(authoriser, str):
            add(("m.room.member", authoriser))
    return keys


def state_from_auth_events(
    auth_events: Iterable[Event], create_event: Event | None = None
) -> dict[StateKey, Event]:
    """The state map to check an event "based on the event's auth events"
    (server-server-api, checks on receipt of a PDU, step 4).

    In version 12 the create event is not among the auth events; pass it as
    `create_event` (the event whose ID the room ID is). Entries without a
    string type and state_key are skipped; `check_auth(..., auth_events=...)`
    rejects such lists under rule 2.2 [v12: 3.2] anyway.
    """
    state: dict[StateKey, Event] = {}
    if create_event is not None:
        state[CREATE] = create_event
    for event in auth_events:
        event_type, state_key = event.get("type"), event.get("state_key")
        if isinstance(event_type, str) and isinstance(state_key, str):
            state[(event_type, state_key)] = event
    return state
