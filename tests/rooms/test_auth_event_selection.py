"""Auth events selection (server-server-api) for room versions 10, 11, 12."""

from __future__ import annotations

from typing import Any

import pytest
from authkit import (
    ALICE,
    BOB,
    CAROL,
    V12_CREATE_ID,
    VERSIONS,
    create_event,
    default_power_levels,
    version_id,
)

from kith.events.room_versions import V12, RoomVersion
from kith.rooms.auth_events import auth_event_keys, state_from_auth_events
from kith.rooms.auth_rules import check_auth

by_version = pytest.mark.parametrize("version", VERSIONS, ids=version_id)
CREATE = ("m.room.create", "")
PL = ("m.room.power_levels", "")
JR = ("m.room.join_rules", "")


def base(version: RoomVersion, sender: str) -> list[tuple[str, str]]:
    keys = [PL, ("m.room.member", sender)]
    return keys if version.room_id_from_create else [CREATE, *keys]


@by_version
def test_create_event_has_no_auth_events(version: RoomVersion) -> None:
    assert auth_event_keys("m.room.create", "", ALICE, {}, version) == []


@by_version
def test_message(version: RoomVersion) -> None:
    assert auth_event_keys("m.room.message", None, BOB, {"body": "x"}, version) == base(version, BOB)


@by_version
@pytest.mark.parametrize(
    "content, extra",
    [
        ({"membership": "join"}, [JR]),
        ({"membership": "knock"}, [JR]),
        ({"membership": "leave"}, []),
        ({"membership": "ban"}, []),
        ({"membership": "invite"}, [JR]),
        (
            {"membership": "invite", "third_party_invite": {"signed": {"token": "tok"}}},
            [JR, ("m.room.third_party_invite", "tok")],
        ),
        ({"membership": "invite", "third_party_invite": {"signed": {}}}, [JR]),
        (
            {"membership": "join", "join_authorised_via_users_server": ALICE},
            [JR, ("m.room.member", ALICE)],
        ),
        ({"membership": "leave", "join_authorised_via_users_server": ALICE}, []),
    ],
)
def test_member_event_on_someone_else(
    version: RoomVersion, content: dict[str, Any], extra: list[tuple[str, str]]
) -> None:
    keys = auth_event_keys("m.room.member", CAROL, BOB, content, version)
    assert keys == [*base(version, BOB), ("m.room.member", CAROL), *extra]


@by_version
def test_own_member_event_lists_the_member_key_once(version: RoomVersion) -> None:
    keys = auth_event_keys("m.room.member", BOB, BOB, {"membership": "join"}, version)
    assert keys == [*base(version, BOB), JR]


def test_v12_never_selects_create() -> None:
    for event_type in ("m.room.message", "m.room.member", "m.room.power_levels"):
        assert CREATE not in auth_event_keys(event_type, BOB, BOB, {"membership": "join"}, V12)


def test_state_from_auth_events() -> None:
    create = {"type": "m.room.create", "state_key": "", "sender": ALICE, "content": {}}
    member = {"type": "m.room.member", "state_key": ALICE, "content": {"membership": "join"}}
    junk = {"type": "m.room.member", "content": {}}
    assert state_from_auth_events([member, junk], create) == {
        CREATE: create,
        ("m.room.member", ALICE): member,
    }
    assert state_from_auth_events([create]) == {CREATE: create}


@by_version
def test_room_lifecycle_checked_against_auth_events_and_state(version: RoomVersion) -> None:
    """Build a room event by event; each is checked against the state before
    it and against its selected auth events, as receipt steps 4 and 5 do."""
    create = create_event(version)
    create_id = V12_CREATE_ID if version.room_id_from_create else "$create"
    room_id = "!" + create_id[1:] if version.room_id_from_create else create["room_id"]
    check_auth(create, {}, version)
    state: dict[tuple[str, str], Any] = {CREATE: create}
    steps: list[tuple[str, str, str | None, dict[str, Any]]] = [
        ("m.room.member", ALICE, ALICE, {"membership": "join"}),
        ("m.room.power_levels", ALICE, "", default_power_levels(version, {BOB: 50})),
        ("m.room.join_rules", ALICE, "", {"join_rule": "knock"}),
        ("m.room.member", BOB, BOB, {"membership": "knock"}),
        ("m.room.member", ALICE, BOB, {"membership": "invite"}),
        ("m.room.member", BOB, BOB, {"membership": "join"}),
        ("m.room.message", BOB, None, {"body": "hello"}),
        ("m.room.member", BOB, CAROL, {"membership": "ban"}),
        ("m.room.member", BOB, BOB, {"membership": "leave"}),
    ]
    previous = create_id
    for index, (event_type, sender, state_key, content) in enumerate(steps):
        keys = auth_event_keys(event_type, state_key, sender, content, version)
        auth_events = [state[k] for k in keys if k in state]
        event: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "room_id": room_id,
            "content": content,
            "prev_events": [previous],
            "depth": index + 2,
        }
        if state_key is not None:
            event["state_key"] = state_key
        create_for_auth = create if version.room_id_from_create else None
        check_auth(
            event,
            state_from_auth_events(auth_events, create_for_auth),
            version,
            auth_events=auth_events,
            create_event_id=create_id,
        )
        check_auth(event, state, version, create_event_id=create_id)
        if state_key is not None:
            state[(event_type, state_key)] = event
        previous = f"$event{index}"
