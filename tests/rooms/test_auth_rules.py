"""Authorisation rules other than membership and power levels, for room
versions 10, 11 and 12: create event (rule 1), the v12 room ID rule, auth
events (rule 2 [v12: 3]), m.federate, sender must be joined, third party
invite events, required power level, "@" state keys, redactions."""

from __future__ import annotations

from typing import Any

import pytest
from authkit import (
    ALICE,
    BOB,
    CAROL,
    V12_CREATE_ID,
    VERSIONS,
    Case,
    Room,
    create_event,
    expect,
    make_room,
    version_id,
)

from kith.events.room_versions import V10, V11, V12, RoomVersion
from kith.rooms.auth_redaction import redaction_applies, redaction_target
from kith.rooms.auth_rules import check_auth, check_create_event
from kith.rooms.errors import AuthError

by_version = pytest.mark.parametrize("version", VERSIONS, ids=version_id)


def joined(*users: str, **kwargs: Any) -> Any:
    """A room builder where `users` have joined."""

    def build(version: RoomVersion) -> Room:
        room = make_room(version, **kwargs)
        for user in users:
            room.set_membership(user, "join", user)
        return room

    return build


GENERAL_CASES = [
    # Rule 5 [v12: 6]: the sender's current membership must be join.
    Case("joined member may send a message", lambda r: r.event("m.room.message", ALICE, {"body": "hi"}), None),
    Case("non-member may not send a message", lambda r: r.event("m.room.message", BOB, {}), ("5", "6")),
    Case(
        "invited user may not send a message",
        lambda r: r.set_membership(BOB, "invite").event("m.room.message", BOB, {}),
        ("5", "6"),
    ),
    # Rule 6 [v12: 7]: m.room.third_party_invite needs the invite level.
    Case(
        "third party invite at invite level allowed",
        lambda r: r.event("m.room.third_party_invite", BOB, {}, "tok"),
        None,
        joined(BOB),
    ),
    Case(
        "third party invite below invite level denied",
        lambda r: r.apply(r.power_levels(**{**r.levels(), "invite": 10})).event(
            "m.room.third_party_invite", BOB, {}, "tok"
        ),
        ("6.1", "7.1"),
        joined(BOB),
    ),
    # Rule 7 [v12: 8]: the event type's required power level.
    Case(
        "state event needs state_default",
        lambda r: r.event("m.room.topic", BOB, {"topic": "x"}, ""),
        ("7", "8"),
        joined(BOB),
    ),
    Case(
        "state event at state_default allowed",
        lambda r: r.event("m.room.topic", BOB, {"topic": "x"}, ""),
        None,
        joined(BOB, users={BOB: 50}),
    ),
    Case(
        "events override state_default",
        lambda r: r.event("m.room.name", BOB, {"name": "x"}, ""),
        ("7", "8"),
        joined(BOB, users={BOB: 49}),
    ),
    Case(
        "message needs events_default",
        lambda r: r.apply(r.power_levels(**{**r.levels(), "events_default": 10})).event(
            "m.room.message", BOB, {}
        ),
        ("7", "8"),
        joined(BOB),
    ),
    Case(
        "without power levels only the creator may send state",
        lambda r: r.event("m.room.topic", BOB, {}, ""),
        ("7", "8"),
        joined(BOB, power_levels=False),
    ),
    Case(
        "without power levels the creator may send state",
        lambda r: r.event("m.room.topic", ALICE, {}, ""),
        None,
        joined(power_levels=False),
    ),
    # Rule 8 [v12: 9]: state keys starting with "@" belong to that user.
    Case(
        "state_key @sender is the sender's own",
        lambda r: r.event("org.example.profile", BOB, {}, BOB),
        None,
        joined(BOB, users={BOB: 50}),
    ),
    Case(
        "state_key @other denied",
        lambda r: r.event("org.example.profile", BOB, {}, CAROL),
        ("8", "9"),
        joined(BOB, users={BOB: 50}),
    ),
    Case(
        "state_key @other denied even for the creator",
        lambda r: r.event("org.example.profile", ALICE, {}, BOB),
        ("8", "9"),
    ),
    # Redactions: only the m.room.redaction event level counts, not `redact`.
    Case(
        "redaction allowed below the redact level",
        lambda r: r.event("m.room.redaction", BOB, {"redacts": "$x"}, redacts="$x"),
        None,
        joined(BOB),
    ),
    Case(
        "redaction denied by its event level",
        lambda r: r.apply(
            r.power_levels(**{**r.levels(), "events": {"m.room.redaction": 20}})
        ).event("m.room.redaction", BOB, {"redacts": "$x"}),
        ("7", "8"),
        joined(BOB),
    ),
    # Rule 3 [v12: 4]: m.federate false keeps other servers out.
    Case(
        "m.federate false rejects other servers",
        lambda r: r.event("m.room.message", BOB, {}),
        ("3", "4"),
        joined(BOB, create_content={"m.federate": False}),
    ),
    Case(
        "m.federate false still allows the creator's server",
        lambda r: r.event("m.room.message", "@other:a.example", {}),
        None,
        joined("@other:a.example", create_content={"m.federate": False}),
    ),
    Case(
        "m.federate false rejects remote joins",
        lambda r: r.member(BOB, "join"),
        ("3", "4"),
        lambda v: make_room(v, join_rule="public", create_content={"m.federate": False}),
    ),
]


@by_version
@pytest.mark.parametrize("case", GENERAL_CASES, ids=lambda c: c.name)
def test_general_rules(version: RoomVersion, case: Case) -> None:
    case.run(version)


# --- Rule 1: m.room.create ---------------------------------------------------


@by_version
def test_create_allowed(version: RoomVersion) -> None:
    check_create_event(create_event(version), version)


@by_version
def test_create_with_prev_events_denied(version: RoomVersion) -> None:
    # Rule 1.1: If it has any prev_events, reject.
    event = create_event(version)
    event["prev_events"] = ["$earlier"]
    with pytest.raises(AuthError) as err:
        check_create_event(event, version)
    assert err.value.rule == "1.1"


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_create_room_id_domain_must_match_sender(version: RoomVersion) -> None:
    # Rule 1.2 (v10, v11): the room_id's domain must match the sender's.
    event = create_event(version)
    event["room_id"] = "!room:elsewhere.example"
    with pytest.raises(AuthError) as err:
        check_create_event(event, version)
    assert err.value.rule == "1.2"


def test_v12_create_must_not_have_room_id() -> None:
    # Rule 1.2 (v12): If the event has a room_id, reject.
    event = create_event(V12)
    event["room_id"] = "!room:a.example"
    with pytest.raises(AuthError) as err:
        check_create_event(event, V12)
    assert err.value.rule == "1.2"


@by_version
@pytest.mark.parametrize("room_version", ["9", "1", "org.example.unknown", 12])
def test_create_unknown_room_version_denied(version: RoomVersion, room_version: Any) -> None:
    # Rule 1.3: If content.room_version is present and is not a recognised
    # version, reject. (Kith recognises 10, 11 and 12.)
    event = create_event(version, room_version=room_version)
    with pytest.raises(AuthError) as err:
        check_create_event(event, version)
    assert err.value.rule == "1.3"


@by_version
def test_create_without_room_version_allowed(version: RoomVersion) -> None:
    event = create_event(version)
    del event["content"]["room_version"]
    check_create_event(event, version)


def test_v10_create_needs_creator() -> None:
    # Rule 1.4 (v10): If content has no creator property, reject.
    event = create_event(V10)
    del event["content"]["creator"]
    with pytest.raises(AuthError) as err:
        check_create_event(event, V10)
    assert err.value.rule == "1.4"
    # v11 dropped the rule: the sender is the creator.
    check_create_event({**create_event(V11), "content": {"room_version": "11"}}, V11)


@pytest.mark.parametrize(
    "additional, ok",
    [
        ([BOB, CAROL], True),
        ([], True),
        (["@historical:B.example"], True),
        (["bob"], False),
        (["@bob"], False),
        (["@bob:bad host"], False),
        ([BOB, 7], False),
        (BOB, False),
        ({"user": BOB}, False),
        (["@" + "x" * 250 + ":b.example"], False),
    ],
)
def test_v12_additional_creators_must_be_user_ids(additional: Any, ok: bool) -> None:
    # Rule 1.4 (v12): additional_creators must be an array of valid user IDs.
    event = create_event(V12, additional_creators=additional)
    if ok:
        check_create_event(event, V12)
    else:
        with pytest.raises(AuthError) as err:
            check_create_event(event, V12)
        assert err.value.rule == "1.4"


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_additional_creators_ignored_before_v12(version: RoomVersion) -> None:
    check_create_event(create_event(version, additional_creators="nonsense"), version)


@by_version
def test_create_is_checked_through_check_auth(version: RoomVersion) -> None:
    event = create_event(version)
    check_auth(event, {}, version)
    event["prev_events"] = ["$x"]
    with pytest.raises(AuthError):
        check_auth(event, {}, version)


# --- The room must exist; v12 rule 2 ---------------------------------------


@by_version
def test_no_create_event_in_state_denied(version: RoomVersion) -> None:
    room = make_room(version)
    del room.state[("m.room.create", "")]
    assert room.rejected_by(room.event("m.room.message", ALICE, {})) == expect(version, "2.4", "2")


def test_v12_room_id_must_be_create_event_id() -> None:
    room = make_room(V12)
    message = room.event("m.room.message", ALICE, {})
    assert room.rejected_by(message, create_event_id=V12_CREATE_ID) is None
    assert room.rejected_by(message, create_event_id="$someotherevent") == "2"


# --- Rule 2 [v12: 3]: auth_events ------------------------------------------


def auth_events_for(room: Room, *keys: tuple[str, str]) -> list[dict[str, Any]]:
    return [room.state[key] for key in keys]


@by_version
def test_auth_events_selected_correctly_allowed(version: RoomVersion) -> None:
    room = make_room(version)
    keys = [("m.room.power_levels", ""), ("m.room.member", ALICE)]
    if not version.room_id_from_create:
        keys.insert(0, ("m.room.create", ""))
    event = room.event("m.room.message", ALICE, {})
    assert room.rejected_by(event, auth_events=auth_events_for(room, *keys)) is None


@by_version
def test_auth_events_duplicates_denied(version: RoomVersion) -> None:
    room = make_room(version)
    keys = [("m.room.member", ALICE), ("m.room.member", ALICE)]
    if not version.room_id_from_create:
        keys.insert(0, ("m.room.create", ""))
    event = room.event("m.room.message", ALICE, {})
    assert room.rejected_by(event, auth_events=auth_events_for(room, *keys)) == expect(
        version, "2.1", "3.1"
    )


@by_version
def test_auth_events_not_selected_denied(version: RoomVersion) -> None:
    # Join rules are not selected for a message.
    room = make_room(version)
    keys = [("m.room.member", ALICE), ("m.room.join_rules", "")]
    if not version.room_id_from_create:
        keys.insert(0, ("m.room.create", ""))
    event = room.event("m.room.message", ALICE, {})
    assert room.rejected_by(event, auth_events=auth_events_for(room, *keys)) == expect(
        version, "2.2", "3.2"
    )


def test_v12_create_event_must_not_be_an_auth_event() -> None:
    room = make_room(V12)
    room.state[("m.room.create", "")]["room_id"] = room.room_id
    event = room.event("m.room.message", ALICE, {})
    auth = auth_events_for(room, ("m.room.create", ""), ("m.room.member", ALICE))
    assert room.rejected_by(event, auth_events=auth) == "3.2"


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_auth_events_must_include_create(version: RoomVersion) -> None:
    # Rule 2.4 (v10, v11): If there is no m.room.create event among the entries.
    room = make_room(version)
    event = room.event("m.room.message", ALICE, {})
    auth = auth_events_for(room, ("m.room.member", ALICE))
    assert room.rejected_by(event, auth_events=auth) == "2.4"


@by_version
def test_auth_event_from_another_room_denied(version: RoomVersion) -> None:
    room = make_room(version)
    keys = [("m.room.member", ALICE)]
    if not version.room_id_from_create:
        keys.insert(0, ("m.room.create", ""))
    auth = [dict(e) for e in auth_events_for(room, *keys)]
    auth[-1]["room_id"] = "!other:a.example"
    event = room.event("m.room.message", ALICE, {})
    assert room.rejected_by(event, auth_events=auth) == expect(version, "2.5", "3.4")


# --- Redactions ------------------------------------------------------------


@by_version
def test_redaction_target_location(version: RoomVersion) -> None:
    room = make_room(version)
    top = room.event("m.room.redaction", ALICE, {}, redacts="$top")
    inner = room.event("m.room.redaction", ALICE, {"redacts": "$inner"})
    if version.redacts_in_content:
        assert (redaction_target(top, version), redaction_target(inner, version)) == (None, "$inner")
    else:
        assert (redaction_target(top, version), redaction_target(inner, version)) == ("$top", None)


@by_version
def test_redaction_applies_with_redact_level_or_same_server(version: RoomVersion) -> None:
    room = joined(BOB, CAROL, users={CAROL: 50})(version)
    original = room.event("m.room.message", ALICE, {})
    by_bob = room.event("m.room.redaction", BOB, {"redacts": "$m"})
    by_carol = room.event("m.room.redaction", CAROL, {"redacts": "$m"})
    same_server = room.event("m.room.redaction", "@mod:a.example", {"redacts": "$m"})
    assert not redaction_applies(by_bob, original, room.state, version)
    assert redaction_applies(by_carol, original, room.state, version)
    assert redaction_applies(same_server, original, room.state, version)
    own = room.event("m.room.message", BOB, {})
    assert redaction_applies(by_bob, own, room.state, version)
