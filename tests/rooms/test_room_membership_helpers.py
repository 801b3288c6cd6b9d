"""membership.py: membership, join rule, history visibility reads, and
can_see_event per client-server-api/modules/history_visibility.md."""

from __future__ import annotations

import pytest
from authkit import ALICE, BOB, make_room

from kith.events.room_versions import V12
from kith.rooms.membership import can_see_event, history_visibility, join_rule, membership_of


def test_membership_of() -> None:
    room = make_room(V12)
    assert membership_of(ALICE, room.state) == "join"
    assert membership_of(BOB, room.state) == "leave"
    room.set_membership(BOB, "invite")
    assert membership_of(BOB, room.state) == "invite"
    room.apply(room.event("m.room.member", BOB, {}, BOB))
    assert membership_of(BOB, room.state) == "leave"


@pytest.mark.parametrize(
    "content, expected",
    [(None, "invite"), ({}, "invite"), ({"join_rule": 3}, "invite"), ({"join_rule": "public"}, "public")],
)
def test_join_rule(content: dict[str, object] | None, expected: str) -> None:
    room = make_room(V12, join_rule=None)
    if content is not None:
        room.apply(room.event("m.room.join_rules", ALICE, content, ""))
    assert join_rule(room.state) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, "shared"),
        ("joined", "joined"),
        ("invited", "invited"),
        ("world_readable", "world_readable"),
        ("shared", "shared"),
        ("org.example.secret", "shared"),
        (5, "shared"),
    ],
)
def test_history_visibility(value: object, expected: str) -> None:
    room = make_room(V12)
    if value is not None:
        room.apply(room.event("m.room.history_visibility", ALICE, {"history_visibility": value}, ""))
    assert history_visibility(room.state) == expected


# (membership at event, visibility at event, current membership) -> visible
VISIBILITY_TABLE = [
    # 1. world_readable: everyone, even users who never joined.
    (None, "world_readable", None, True),
    ("leave", "world_readable", "ban", True),
    # 2. joined at the event: always.
    ("join", "joined", "leave", True),
    ("join", "invited", "join", True),
    ("join", "shared", "ban", True),
    # 3. shared: users who joined after the event.
    (None, "shared", "join", True),
    ("invite", "shared", "join", True),
    (None, "shared", None, False),
    ("leave", "shared", "invite", False),
    # 4. invited: users invited at the event.
    ("invite", "invited", "leave", True),
    ("invite", "joined", "join", False),
    # 5. otherwise deny.
    (None, "joined", "join", False),
    (None, "invited", "join", False),
    ("leave", "joined", "join", False),
    ("knock", "invited", "join", False),
    ("ban", "shared", None, False),
    # Unknown visibility counts as shared.
    (None, "org.example.unknown", "join", True),
    (None, "org.example.unknown", None, False),
]


@pytest.mark.parametrize("at_event, visibility, now, visible", VISIBILITY_TABLE)
def test_can_see_event(at_event: str | None, visibility: str, now: str | None, visible: bool) -> None:
    assert can_see_event(BOB, at_event, visibility, now) is visible


def test_shared_uses_joined_after_event_when_known() -> None:
    # Joined after the event, then left: still sees shared history.
    assert can_see_event(BOB, None, "shared", "leave", joined_after_event=True)
    # Joined now, but the caller knows the join did not follow the event.
    assert not can_see_event(BOB, None, "shared", "join", joined_after_event=False)
    # Only the shared rule reads it.
    assert not can_see_event(BOB, None, "joined", "join", joined_after_event=True)
