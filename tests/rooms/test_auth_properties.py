"""Hypothesis properties of the authorisation core, for versions 10-12."""

from __future__ import annotations

import copy
import math
from typing import Any

from authkit import ALICE, BOB, CAROL, DAVE, VERSIONS, Room, make_room
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_rules import check_auth
from kith.rooms.errors import AuthError
from kith.rooms.power_levels import LEVEL_KEYS, user_level

EVE = "@eve:a.example"
USERS = [ALICE, BOB, CAROL, DAVE, EVE]
OTHERS = USERS[1:]
MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock"]
JOIN_RULES = [None, "public", "invite", "knock", "restricted", "knock_restricted", "private"]
LEVELS = st.sampled_from([0, 10, 50, 60, 100])

versions = st.sampled_from(VERSIONS)


@st.composite
def power_content(draw: st.DrawFn) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for key in LEVEL_KEYS:
        if draw(st.booleans()):
            content[key] = draw(LEVELS)
    content["users"] = draw(st.dictionaries(st.sampled_from(USERS), LEVELS, max_size=4))
    if draw(st.booleans()):
        names = st.sampled_from(["m.room.power_levels", "m.room.topic", "m.room.message"])
        content["events"] = draw(st.dictionaries(names, LEVELS, max_size=3))
    if draw(st.booleans()):
        content["notifications"] = {"room": draw(LEVELS)}
    return content


@st.composite
def rooms(draw: st.DrawFn, version: RoomVersion) -> Room:
    room = make_room(version, join_rule=draw(st.sampled_from(JOIN_RULES)))
    room.apply(room.power_levels(ALICE, **draw(power_content())))
    for user in OTHERS:
        membership = draw(st.none() | st.sampled_from(MEMBERSHIPS))
        if membership is not None:
            room.set_membership(user, membership, user)
    return room


@st.composite
def events(draw: st.DrawFn, room: Room) -> dict[str, Any]:
    sender = draw(st.sampled_from(USERS))
    kind = draw(st.sampled_from(["member", "message", "state", "power_levels", "tpi"]))
    if kind == "member":
        content: dict[str, Any] = {"membership": draw(st.sampled_from(MEMBERSHIPS))}
        if draw(st.booleans()):
            authoriser = draw(st.sampled_from(USERS))
            content["join_authorised_via_users_server"] = authoriser
        event = room.member(draw(st.sampled_from(USERS)), content.pop("membership"), sender, **content)
        event["signatures"] = {u.split(":")[1]: {"ed25519:k": "s"} for u in USERS}
        return event
    if kind == "message":
        return room.event("m.room.message", sender, {"body": "x"})
    if kind == "state":
        state_key = draw(st.sampled_from(["", *USERS]))
        return room.event("m.room.topic", sender, {"topic": "t"}, state_key)
    if kind == "power_levels":
        return room.power_levels(sender, **draw(power_content()))
    return room.event("m.room.third_party_invite", sender, {}, "token")


def outcome(event: Any, state: Any, version: RoomVersion) -> str | None:
    try:
        check_auth(event, state, version)
    except AuthError as error:
        return error.rule
    return None


def reorder(value: Any, rnd: Any) -> Any:
    """The same JSON value with every object's keys in a shuffled order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: reorder(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [reorder(v, rnd) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(data=st.data(), version=versions)
def test_result_independent_of_ordering(data: st.DataObject, version: RoomVersion) -> None:
    room = data.draw(rooms(version))
    event = data.draw(events(room))
    rnd = data.draw(st.randoms(use_true_random=False))
    expected = outcome(event, room.state, version)
    keys = list(room.state)
    rnd.shuffle(keys)
    shuffled_state = {key: reorder(room.state[key], rnd) for key in keys}
    assert outcome(reorder(event, rnd), shuffled_state, version) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data(), version=versions)
def test_check_auth_does_not_mutate_inputs(data: st.DataObject, version: RoomVersion) -> None:
    room = data.draw(rooms(version))
    event = data.draw(events(room))
    before = copy.deepcopy((event, room.state))
    outcome(event, room.state, version)
    assert (event, room.state) == before


@st.composite
def edited(draw: st.DrawFn, content: dict[str, Any]) -> dict[str, Any]:
    """`content` with a few keys or `users` entries set or removed."""
    result = copy.deepcopy(content)
    users = result.setdefault("users", {})
    for _ in range(draw(st.integers(1, 3))):
        level = draw(st.none() | LEVELS)
        if draw(st.booleans()):
            key = draw(st.sampled_from(LEVEL_KEYS))
            target: dict[str, Any] = result
        else:
            key, target = draw(st.sampled_from(USERS)), users
        if level is None:
            target.pop(key, None)
        else:
            target[key] = level
    return result


@settings(max_examples=400, deadline=None)
@given(data=st.data(), version=versions, fresh=st.booleans())
def test_power_levels_change_never_grants_more_than_sender_has(
    data: st.DataObject, version: RoomVersion, fresh: bool
) -> None:
    room = data.draw(rooms(version))
    sender = data.draw(st.sampled_from(USERS))
    room.set_membership(sender, "join", sender)
    content = data.draw(power_content() if fresh else edited(room.levels()))
    event = room.power_levels(sender, **content)
    if outcome(event, room.state, version) is not None:
        return
    sender_level = user_level(sender, room.state, version)
    old_default = room.levels().get("users_default", 0)
    after = {**room.state, ("m.room.power_levels", ""): event}
    for user in USERS:
        old, new = user_level(user, room.state, version), user_level(user, after, version)
        # Nobody rises above the sender's own level. The one way a level can
        # still rise is the rules' quirk of dropping an entry below an
        # untouched users_default higher than the sender's level.
        assert new <= max(old, sender_level, old_default)
        if old_default <= sender_level:
            assert new <= max(old, sender_level)
    # The sender cannot promote themselves (same users_default caveat).
    assert user_level(sender, after, version) <= max(sender_level, old_default)
    # Every threshold set or changed is within the sender's level.
    new_content = event["content"]
    for key in LEVEL_KEYS:
        if key in new_content and new_content[key] != room.levels().get(key):
            assert new_content[key] <= sender_level


@settings(max_examples=200, deadline=None)
@given(data=st.data(), version=versions)
def test_banned_users_cannot_join_or_knock(data: st.DataObject, version: RoomVersion) -> None:
    room = data.draw(rooms(version))
    user = data.draw(st.sampled_from(OTHERS))
    room.set_membership(user, "ban")
    for membership in ("join", "knock"):
        assert outcome(room.member(user, membership), room.state, version) is not None


@settings(max_examples=200, deadline=None)
@given(data=st.data(), version=versions)
def test_non_members_can_only_touch_membership(data: st.DataObject, version: RoomVersion) -> None:
    # rooms/v10.md: "Unless you are a member of the room, the only permitted
    # operations (apart from the initial create/join) are: joining a public
    # room; accepting or rejecting an invitation to a room." (Knocking and
    # restricted joins came later; they are member events too.)
    room = data.draw(rooms(version))
    event = data.draw(events(room))
    sender = event["sender"]
    if room.state.get(("m.room.member", sender), {}).get("content", {}).get("membership") == "join":
        return
    if event["type"] != "m.room.member":
        assert outcome(event, room.state, version) is not None


@settings(max_examples=100, deadline=None)
@given(data=st.data(), version=versions)
def test_v12_creator_level_is_infinite_else_finite(data: st.DataObject, version: RoomVersion) -> None:
    room = data.draw(rooms(version))
    level = user_level(ALICE, room.state, version)
    assert math.isinf(level) is version.infinite_creator_power
    for user in OTHERS:
        assert math.isfinite(user_level(user, room.state, version))


def test_quirk_removing_an_entry_below_a_high_users_default() -> None:
    # The rules let a moderator drop another user's entry that is below the
    # moderator's level (9.8 [v12: 10.9]) without touching users_default
    # (so 9.5 [v12: 10.6] does not look at it); the user then falls back to
    # users_default, which may be higher than the moderator's own level.
    for version in VERSIONS:
        room = make_room(version, users={BOB: 50, CAROL: 10})
        room.apply(room.power_levels(ALICE, **{**room.levels(), "users_default": 60}))
        room.set_membership(BOB, "join", BOB)
        room.levels()["events"]["m.room.power_levels"] = 50
        users = {k: v for k, v in room.levels()["users"].items() if k != CAROL}
        event = room.power_levels(BOB, **{**room.levels(), "users": users})
        assert outcome(event, room.state, version) is None
        after = {**room.state, ("m.room.power_levels", ""): event}
        assert user_level(CAROL, after, version) == 60
