"""m.room.member rules (rule 4 in versions 10 and 11, rule 5 in version 12).

Each row: a room builder, an event, and the rejecting rule as numbered in
v10/v11 and in v12 (None = allowed). Third party invites are in
test_auth_third_party_invites.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from authkit import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    V12_CREATE_ID,
    VERSIONS,
    Case,
    Room,
    create_event,
    make_room,
    version_id,
)

from kith.events.room_versions import V10, V11, V12, RoomVersion

by_version = pytest.mark.parametrize("version", VERSIONS, ids=version_id)
SIGNED_BY_B = {"signatures": {"b.example": {"ed25519:k": "sig"}}}
SIGNED_BY_C = {"signatures": {"c.example": {"ed25519:k": "sig"}}}


def room_with(
    join_rule: str | None = "invite",
    members: dict[str, str] | None = None,
    users: dict[str, int] | None = None,
    **levels: int,
) -> Callable[[RoomVersion], Room]:
    """A room builder: join rule, memberships {user: membership}, levels."""

    def build(version: RoomVersion) -> Room:
        room = make_room(version, join_rule=join_rule, users=users)
        if levels:
            room.apply(room.power_levels(**{**room.levels(), **levels}))
        for user, membership in (members or {}).items():
            room.set_membership(user, membership, user if membership == "join" else ALICE)
        return room

    return build


def restricted_join(authoriser: str | None, signed: dict[str, Any]) -> Callable[[Room], Any]:
    def build(room: Room) -> Any:
        content = {} if authoriser is None else {"join_authorised_via_users_server": authoriser}
        return {**room.member(BOB, "join", **content), **signed}

    return build


PUBLIC = room_with("public")
MODS = room_with("invite", {BOB: "join", CAROL: "join"}, users={BOB: 50})

JOIN_CASES = [
    Case("join a public room", lambda r: r.member(BOB, "join"), None, PUBLIC),
    Case("join on behalf of someone else", lambda r: r.member(BOB, "join", CAROL), ("4.3.2", "5.3.2"), PUBLIC),
    Case("banned user cannot join", lambda r: r.member(BOB, "join"), ("4.3.3", "5.3.3"), room_with("public", {BOB: "ban"})),
    Case("join an invite room without invite", lambda r: r.member(BOB, "join"), ("4.3.7", "5.3.7")),
    Case("join an invite room with invite", lambda r: r.member(BOB, "join"), None, room_with("invite", {BOB: "invite"})),
    Case("profile change while joined", lambda r: r.member(BOB, "join", displayname="B"), None, room_with("invite", {BOB: "join"})),
    Case("join a knock room without invite", lambda r: r.member(BOB, "join"), ("4.3.7", "5.3.7"), room_with("knock", {BOB: "knock"})),
    Case("join a knock room with invite", lambda r: r.member(BOB, "join"), None, room_with("knock", {BOB: "invite"})),
    Case("join a private room", lambda r: r.member(BOB, "join"), ("4.3.7", "5.3.7"), room_with("private")),
    Case("no join rules: invited user joins", lambda r: r.member(BOB, "join"), None, room_with(None, {BOB: "invite"})),
    Case("no join rules: uninvited user denied", lambda r: r.member(BOB, "join"), ("4.3.7", "5.3.7"), room_with(None)),
    Case("left user rejoins an invite room", lambda r: r.member(BOB, "join"), ("4.3.7", "5.3.7"), room_with("invite", {BOB: "leave"})),
]

RESTRICTED_CASES = [
    Case(
        f"{rule}: invited user joins",
        lambda r: r.member(BOB, "join"),
        None,
        room_with(rule, {BOB: "invite"}),
    )
    for rule in ("restricted", "knock_restricted")
] + [
    Case(
        f"{rule}: authorised by joined user with invite power",
        restricted_join(CAROL, SIGNED_BY_C),
        None,
        room_with(rule, {CAROL: "join"}),
    )
    for rule in ("restricted", "knock_restricted")
] + [
    Case(
        "restricted: no authorising user",
        restricted_join(None, {}),
        ("4.3.5.2", "5.3.5.2"),
        room_with("restricted", {CAROL: "join"}),
    ),
    Case(
        "restricted: authorising user not joined",
        restricted_join(DAVE, {"signatures": {"d.example": {"ed25519:k": "sig"}}}),
        ("4.3.5.2", "5.3.5.2"),
        room_with("restricted", {DAVE: "invite"}),
    ),
    Case(
        "restricted: authorising user below the invite level",
        restricted_join(CAROL, SIGNED_BY_C),
        ("4.3.5.2", "5.3.5.2"),
        room_with("restricted", {CAROL: "join"}, invite=10),
    ),
    Case(
        "restricted: authorising server did not sign",
        restricted_join(CAROL, SIGNED_BY_B),
        ("4.2.1", "5.2.1"),
        room_with("restricted", {CAROL: "join"}),
    ),
    Case(
        "authoriser key must be a user ID",
        restricted_join("carol", SIGNED_BY_C),
        ("4.2.1", "5.2.1"),
        room_with("restricted", {CAROL: "join"}),
    ),
    Case(
        "restricted: banned user cannot use an authoriser",
        restricted_join(CAROL, SIGNED_BY_C),
        ("4.3.3", "5.3.3"),
        room_with("restricted", {CAROL: "join", BOB: "ban"}),
    ),
]

INVITE_CASES = [
    Case("member invites", lambda r: r.member(CAROL, "invite", BOB), None, room_with("invite", {BOB: "join"})),
    Case("non-member cannot invite", lambda r: r.member(CAROL, "invite", BOB), ("4.4.2", "5.4.2"), room_with("invite", {BOB: "invite"})),
    Case("cannot invite a joined user", lambda r: r.member(CAROL, "invite", ALICE), ("4.4.3", "5.4.3"), MODS),
    Case("cannot invite a banned user", lambda r: r.member(DAVE, "invite", ALICE), ("4.4.3", "5.4.3"), room_with("invite", {DAVE: "ban"})),
    Case("invite below the invite level", lambda r: r.member(DAVE, "invite", CAROL), ("4.4.5", "5.4.5"), room_with("invite", {CAROL: "join"}, invite=10)),
    Case("invite at the invite level", lambda r: r.member(DAVE, "invite", BOB), None, room_with("invite", {BOB: "join"}, users={BOB: 10}, invite=10)),
    Case("re-invite a knocking user", lambda r: r.member(DAVE, "invite", ALICE), None, room_with("knock", {DAVE: "knock"})),
]

LEAVE_CASES = [
    Case("member leaves", lambda r: r.member(BOB, "leave"), None, MODS),
    Case("invitee rejects invite", lambda r: r.member(BOB, "leave"), None, room_with("invite", {BOB: "invite"})),
    Case("knock retracted", lambda r: r.member(BOB, "leave"), None, room_with("knock", {BOB: "knock"})),
    Case("leave without membership", lambda r: r.member(BOB, "leave"), ("4.5.1", "5.5.1")),
    Case("banned user cannot unban self", lambda r: r.member(BOB, "leave"), ("4.5.1", "5.5.1"), room_with("invite", {BOB: "ban"})),
    Case("non-member cannot kick", lambda r: r.member(CAROL, "leave", DAVE), ("4.5.2", "5.5.2"), room_with("invite", {CAROL: "join"})),
    Case("moderator kicks user", lambda r: r.member(CAROL, "leave", BOB), None, MODS),
    Case("user cannot kick moderator", lambda r: r.member(BOB, "leave", CAROL), ("4.5.5", "5.5.5"), MODS),
    Case("kick needs more power than target", lambda r: r.member(CAROL, "leave", BOB), ("4.5.5", "5.5.5"), room_with("invite", {BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: 50})),
    Case("kick below the kick level", lambda r: r.member(CAROL, "leave", BOB), ("4.5.5", "5.5.5"), room_with("invite", {BOB: "join", CAROL: "join"}, users={BOB: 40, CAROL: 10})),
    Case("unban needs the ban level", lambda r: r.member(DAVE, "leave", BOB), ("4.5.3", "5.5.3"), room_with("invite", {BOB: "join", DAVE: "ban"}, users={BOB: 55}, ban=60)),
    Case("unban with ban and kick level", lambda r: r.member(DAVE, "leave", BOB), None, room_with("invite", {BOB: "join", DAVE: "ban"}, users={BOB: 60}, ban=60)),
    Case("revoke an invite", lambda r: r.member(DAVE, "leave", BOB), None, room_with("invite", {BOB: "join", DAVE: "invite"}, users={BOB: 50})),
]

BAN_CASES = [
    Case("moderator bans user", lambda r: r.member(CAROL, "ban", BOB), None, MODS),
    Case("moderator bans non-member", lambda r: r.member(DAVE, "ban", BOB), None, MODS),
    Case("non-member cannot ban", lambda r: r.member(CAROL, "ban", DAVE), ("4.6.1", "5.6.1"), room_with("invite", {CAROL: "join"}, users={DAVE: 100})),
    Case("ban by lower power", lambda r: r.member(CAROL, "ban", BOB), ("4.6.3", "5.6.3"), room_with("invite", {BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: 60})),
    Case("ban by equal power", lambda r: r.member(BOB, "ban", CAROL), ("4.6.3", "5.6.3"), room_with("invite", {BOB: "join", CAROL: "join"}, users={BOB: 50, CAROL: 50})),
    Case("ban below the ban level", lambda r: r.member(DAVE, "ban", CAROL), ("4.6.3", "5.6.3"), room_with("invite", {CAROL: "join"}, users={CAROL: 40})),
]

KNOCK_CASES = [
    Case("knock on a knock room", lambda r: r.member(BOB, "knock"), None, room_with("knock")),
    Case("knock on a knock_restricted room", lambda r: r.member(BOB, "knock"), None, room_with("knock_restricted")),
    Case("knock again after leaving", lambda r: r.member(BOB, "knock"), None, room_with("knock", {BOB: "leave"})),
    Case("knock on an invite room", lambda r: r.member(BOB, "knock"), ("4.7.1", "5.7.1")),
    Case("knock on a public room", lambda r: r.member(BOB, "knock"), ("4.7.1", "5.7.1"), PUBLIC),
    Case("knock on a restricted room", lambda r: r.member(BOB, "knock"), ("4.7.1", "5.7.1"), room_with("restricted")),
    Case("knock for someone else", lambda r: r.member(BOB, "knock", CAROL), ("4.7.2", "5.7.2"), room_with("knock")),
    Case("banned user cannot knock", lambda r: r.member(BOB, "knock"), ("4.7.4", "5.7.4"), room_with("knock", {BOB: "ban"})),
    Case("invited user cannot knock", lambda r: r.member(BOB, "knock"), ("4.7.4", "5.7.4"), room_with("knock", {BOB: "invite"})),
    Case("joined user cannot knock", lambda r: r.member(BOB, "knock"), ("4.7.4", "5.7.4"), room_with("knock", {BOB: "join"})),
]

MALFORMED_CASES = [
    Case("no state_key", lambda r: r.event("m.room.member", BOB, {"membership": "join"}), ("4.1", "5.1"), PUBLIC),
    Case("no membership", lambda r: r.event("m.room.member", BOB, {}, BOB), ("4.1", "5.1"), PUBLIC),
    Case("unknown membership", lambda r: r.member(BOB, "lurk"), ("4.8", "5.8"), PUBLIC),
]

ALL_CASES = JOIN_CASES + RESTRICTED_CASES + INVITE_CASES + LEAVE_CASES + BAN_CASES + KNOCK_CASES + MALFORMED_CASES


@by_version
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_member_rules(version: RoomVersion, case: Case) -> None:
    case.run(version)


# --- Rule 4.3.1 [v12: 5.3.1]: the creator's first join ----------------------


def bare_room(version: RoomVersion, **create_content: Any) -> Room:
    """Only the create event: the state before the creator's join."""
    create = create_event(version, **create_content)
    room_id = "!" + V12_CREATE_ID[1:] if version.room_id_from_create else create["room_id"]
    return Room(version, {("m.room.create", ""): create}, room_id)


def first_join(room: Room, user: str) -> dict[str, Any]:
    create_id = V12_CREATE_ID if room.version.room_id_from_create else "$create"
    return {**room.member(user, "join"), "prev_events": [create_id]}


@by_version
def test_creator_first_join_allowed(version: RoomVersion) -> None:
    room = bare_room(version)
    assert room.rejected_by(first_join(room, ALICE)) is None
    assert room.rejected_by(first_join(room, BOB)) == ("5.3.7" if version is V12 else "4.3.7")


def test_v10_first_join_uses_content_creator() -> None:
    room = bare_room(V10, creator=BOB)
    assert room.rejected_by(first_join(room, BOB)) is None
    assert room.rejected_by(first_join(room, ALICE)) == "4.3.7"


def test_v11_first_join_ignores_content_creator() -> None:
    room = bare_room(V11, creator=BOB)
    assert room.rejected_by(first_join(room, ALICE)) is None
    assert room.rejected_by(first_join(room, BOB)) == "4.3.7"


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_first_join_checks_create_event_id_when_given(version: RoomVersion) -> None:
    room = bare_room(version)
    join = first_join(room, ALICE)
    assert room.rejected_by(join, create_event_id="$create") is None
    assert room.rejected_by(join, create_event_id="$another") == "4.3.7"


def test_v12_first_join_must_follow_the_create_event() -> None:
    room = bare_room(V12)
    assert room.rejected_by({**first_join(room, ALICE), "prev_events": ["$other"]}) == "5.3.7"
    # Additional creators are not "the sender of the m.room.create".
    room = bare_room(V12, additional_creators=[BOB])
    assert room.rejected_by(first_join(room, BOB)) == "5.3.7"


# --- Version 12: creators have infinite power ------------------------------


def test_v12_nobody_can_kick_or_ban_a_creator() -> None:
    room = room_with("invite", {BOB: "join"}, users={BOB: 100})(V12)
    assert room.rejected_by(room.member(ALICE, "leave", BOB)) == "5.5.5"
    assert room.rejected_by(room.member(ALICE, "ban", BOB)) == "5.6.3"
    assert room.rejected_by(room.member(BOB, "ban", ALICE)) is None


def test_v12_additional_creators_are_equals() -> None:
    room = make_room(V12, create_content={"additional_creators": [BOB]})
    room.set_membership(BOB, "join", BOB)
    assert room.rejected_by(room.member(ALICE, "leave", BOB)) == "5.5.5"
    assert room.rejected_by(room.member(CAROL, "ban", BOB)) is None


@pytest.mark.parametrize("version", [V10, V11], ids=version_id)
def test_creator_has_no_special_power_before_v12(version: RoomVersion) -> None:
    room = room_with("invite", {BOB: "join"}, users={BOB: 100})(version)
    assert room.rejected_by(room.member(ALICE, "ban", BOB)) == "4.6.3"


@by_version
def test_custom_signature_checker_decides_rule_2_1(version: RoomVersion) -> None:
    room = room_with("restricted", {CAROL: "join"})(version)
    join = restricted_join(CAROL, {})(room)
    seen: list[str] = []

    def checker(event: Any, server: str) -> bool:
        seen.append(server)
        return server == "c.example"

    assert room.rejected_by(join, verify_signature=checker) is None
    assert seen == ["c.example"]
    want = "5.2.1" if version is V12 else "4.2.1"
    assert room.rejected_by(join, verify_signature=lambda e, s: False) == want
