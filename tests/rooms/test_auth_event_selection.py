"""Auth events selection (server-server-api) for room versions 10, 11, 12."""

from __future__ import annotations

from typing import Any

import pytest
from authkit import ALICE, BOB, CAROL, VERSIONS, version_id

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_events import auth_event_keys

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
    from kith.events.room_versions import V12

    for event_type in ("m.room.message", "m.room.member", "m.room.power_levels"):
        assert CREATE not in auth_event_keys(event_type, BOB, BOB, {"membership": "join"}, V12)
