"""m.room.power_levels rules (rule 9 in versions 10 and 11, rule 10 in 12)
and the power level helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from authkit import ALICE, BOB, CAROL, DAVE, VERSIONS, Case, Room, make_room, version_id

from kith.events.room_versions import V10, V11, V12, RoomVersion
from kith.rooms.power_levels import (
    action_level,
    creators,
    event_level,
    notification_level,
    user_level,
)

by_version = pytest.mark.parametrize("version", VERSIONS, ids=version_id)


def mod_room(version: RoomVersion) -> Room:
    """BOB is a 50 moderator allowed to send power levels; CAROL has 10,
    DAVE 50, `events` has an entry at 100, notifications.room is 50."""
    room = make_room(version, users={BOB: 50, CAROL: 10, DAVE: 50})
    levels = room.levels()
    levels["events"] = {"m.room.power_levels": 50, "m.room.tombstone": 100}
    levels["notifications"] = {"room": 50, "org.example.high": 100}
    room.set_membership(BOB, "join", BOB)
    return room


def change(sender: str = BOB, **updates: Any) -> Callable[[Room], dict[str, Any]]:
    """A power levels event from `sender`: the current content with
    `updates` applied (a value of None removes the key)."""

    def build(room: Room) -> dict[str, Any]:
        content = {**room.levels(), **updates}
        return room.power_levels(sender, **{k: v for k, v in content.items() if v is not None})

    return build


def users(room: Room, **changes: int | None) -> dict[str, int]:
    named = {"bob": BOB, "carol": CAROL, "dave": DAVE, "alice": ALICE}
    result = dict(room.levels()["users"])
    for name, level in changes.items():
        if level is None:
            result.pop(named[name], None)
        else:
            result[named[name]] = level
    return result


def with_users(sender: str = BOB, **changes: int | None) -> Callable[[Room], dict[str, Any]]:
    return lambda room: change(sender, users=users(room, **changes))(room)


def events_map(entries: dict[str, int | None]) -> Callable[[Room], dict[str, Any]]:
    def build(room: Room) -> dict[str, Any]:
        current = dict(room.levels()["events"])
        for key, level in entries.items():
            if level is None:
                current.pop(key, None)
            else:
                current[key] = level
        return change(events=current)(room)

    return build


SHAPE_CASES = [
    Case("integer levels accepted", change(kick=40), None, mod_room),
    Case("string level rejected", change(kick="40"), ("9.1", "10.1"), mod_room),
    Case("boolean level rejected", change(ban=True), ("9.1", "10.1"), mod_room),
    Case("float level rejected", change(invite=0.0), ("9.1", "10.1"), mod_room),
    Case("huge level rejected", change(users_default=2**53), ("9.1", "10.1"), mod_room),
    Case("string events value rejected", change(events={"m.room.name": "50"}), ("9.2", "10.2"), mod_room),
    Case("events not an object", change(events=[50]), ("9.2", "10.2"), mod_room),
    Case("string notifications value rejected", change(notifications={"room": "50"}), ("9.2", "10.2"), mod_room),
    Case("users not an object", change(users=[BOB]), ("9.3", "10.3"), mod_room),
    Case("users key not a user ID", change(users={"bob": 0}), ("9.3", "10.3"), mod_room),
    Case("string users value rejected", lambda r: change(users={**r.levels()["users"], CAROL: "10"})(r), ("9.3", "10.3"), mod_room),
]

CHANGE_CASES = [
    # Rule 9.5 [v12: 10.6]: top-level levels.
    Case("lower kick within own level", change(kick=40), None, mod_room),
    Case("raise ban above own level", change(ban=60), ("9.5.2", "10.6.2"), mod_room),
    Case("add a level above own level", change(redact=None, invite=51), ("9.5.2", "10.6.2"), mod_room),
    Case("change a level currently above own", lambda r: change(state_default=10)(r.apply(change(ALICE, state_default=75)(r))), ("9.5.1", "10.6.1"), mod_room),
    Case("remove a level currently above own", lambda r: change(state_default=None)(r.apply(change(ALICE, state_default=75)(r))), ("9.5.1", "10.6.1"), mod_room),
    Case("unchanged high level is fine", lambda r: change(kick=20)(r.apply(change(ALICE, ban=75)(r))), None, mod_room),
    # Rules 9.6, 9.7 [v12: 10.7, 10.8]: events and notifications entries.
    Case("change an events entry above own", events_map({"m.room.tombstone": 50}), ("9.6.1", "10.7.1"), mod_room),
    Case("remove an events entry above own", events_map({"m.room.tombstone": None}), ("9.6.1", "10.7.1"), mod_room),
    Case("add an events entry above own", events_map({"m.room.topic": 60}), ("9.7.1", "10.8.1"), mod_room),
    Case("add an events entry at own level", events_map({"m.room.topic": 50}), None, mod_room),
    Case("remove a notifications entry above own", lambda r: change(notifications={"room": 50})(r), ("9.6.1", "10.7.1"), mod_room),
    Case("raise notifications.room above own", lambda r: change(notifications={**r.levels()["notifications"], "room": 51})(r), ("9.7.1", "10.8.1"), mod_room),
    # Rules 9.8, 9.9 [v12: 10.9, 10.10]: users entries.
    Case("promote a user to own level", with_users(carol=50), None, mod_room),
    Case("promote a user above own level", with_users(carol=51), ("9.9.1", "10.10.1"), mod_room),
    Case("add a user above own level", lambda r: change(users={**r.levels()["users"], "@eve:e.example": 70})(r), ("9.9.1", "10.10.1"), mod_room),
    Case("demote a lower user", with_users(carol=0), None, mod_room),
    Case("remove a lower user", with_users(carol=None), None, mod_room),
    Case("demote an equal user", with_users(dave=0), ("9.8.1", "10.9.1"), mod_room),
    Case("remove an equal user", with_users(dave=None), ("9.8.1", "10.9.1"), mod_room),
    Case("demote self", with_users(bob=20), None, mod_room),
    Case("remove own entry", with_users(bob=None), None, mod_room),
    Case("raise self above own level", with_users(bob=51), ("9.9.1", "10.10.1"), mod_room),
    # Rule 7 [v12: 8] comes first: sending m.room.power_levels needs its level.
    Case("needs the m.room.power_levels event level", lambda r: change(kick=40)(r.apply(events_map({"m.room.power_levels": 60})(r))), ("7", "8"), mod_room),
]


@by_version
@pytest.mark.parametrize("case", SHAPE_CASES + CHANGE_CASES, ids=lambda c: c.name)
def test_power_levels_rules(version: RoomVersion, case: Case) -> None:
    case.run(version)


@by_version
def test_first_power_levels_event_allowed(version: RoomVersion) -> None:
    # Rule 9.4 [v12: 10.5]: no previous m.room.power_levels event: allow.
    room = make_room(version, power_levels=False)
    event = room.power_levels(ALICE, users={BOB: 1000}, ban=1000)
    assert room.rejected_by(event) is None
    # Shape rules still apply to the first event.
    event = room.power_levels(ALICE, ban="1000")
    assert room.rejected_by(event) == ("10.1" if version is V12 else "9.1")


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_creator_may_be_listed_before_v12(version: RoomVersion) -> None:
    room = make_room(version)
    assert room.rejected_by(change(ALICE, users={ALICE: 100, BOB: 100})(room)) is None


def test_v12_creator_cannot_be_listed_in_users() -> None:
    # Rule 10.4: creators cannot appear in users, so they cannot be demoted.
    room = make_room(V12)
    assert room.rejected_by(change(ALICE, users={ALICE: 0})(room)) == "10.4"
    assert room.rejected_by(change(ALICE, users={ALICE: 100})(room)) == "10.4"
    first = make_room(V12, power_levels=False)
    assert first.rejected_by(first.power_levels(ALICE, users={ALICE: 100})) == "10.4"


def test_v12_additional_creator_cannot_be_listed_in_users() -> None:
    room = make_room(V12, create_content={"additional_creators": [BOB]})
    assert room.rejected_by(change(ALICE, users={BOB: 50})(room)) == "10.4"
    assert room.rejected_by(change(ALICE, users={CAROL: 50})(room)) is None


def test_v12_creator_may_set_any_level() -> None:
    room = make_room(V12)
    event = change(ALICE, users={BOB: 2**53 - 1}, ban=2**53 - 1)(room)
    assert room.rejected_by(event) is None


# --- Helpers ---------------------------------------------------------------


@by_version
def test_user_level(version: RoomVersion) -> None:
    room = make_room(version, users={BOB: 50})
    assert user_level(BOB, room.state, version) == 50
    assert user_level(CAROL, room.state, version) == 0
    room.apply(change(ALICE, users_default=5)(room))
    assert user_level(CAROL, room.state, version) == 5
    expected_creator = math.inf if version is V12 else 100
    assert user_level(ALICE, room.state, version) == expected_creator


@by_version
def test_user_level_without_power_levels(version: RoomVersion) -> None:
    room = make_room(version, power_levels=False)
    assert user_level(ALICE, room.state, version) == (math.inf if version is V12 else 100)
    assert user_level(BOB, room.state, version) == 0


def test_creators_per_version() -> None:
    for version, expected in ((V10, {BOB}), (V11, {ALICE}), (V12, {ALICE, CAROL})):
        room = make_room(version, create_content={"creator": BOB, "additional_creators": [CAROL]})
        assert creators(room.state, version) == frozenset(expected)
    assert creators({}, V12) == frozenset()


@by_version
def test_defaults_without_power_levels(version: RoomVersion) -> None:
    state = make_room(version, power_levels=False).state
    assert event_level("m.room.topic", True, state) == 50
    assert event_level("m.room.message", False, state) == 0
    assert [action_level(a, state) for a in ("invite", "kick", "ban", "redact")] == [0, 50, 50, 50]
    assert notification_level("room", state) == 50


@by_version
def test_levels_from_power_levels(version: RoomVersion) -> None:
    room = make_room(version)
    room.apply(
        change(
            ALICE,
            events={"m.room.message": 7, "m.room.name": 70},
            events_default=3,
            state_default=30,
            invite=1,
            kick=2,
            ban=4,
            redact=5,
            notifications={"room": 20},
        )(room)
    )
    state = room.state
    assert event_level("m.room.message", False, state) == 7
    assert event_level("m.room.name", True, state) == 70
    assert event_level("org.example", False, state) == 3
    assert event_level("org.example", True, state) == 30
    assert [action_level(a, state) for a in ("invite", "kick", "ban", "redact")] == [1, 2, 4, 5]
    assert notification_level("room", state) == 20
    assert notification_level("org.example", state) == 50
