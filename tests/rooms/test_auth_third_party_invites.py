"""Third party invites: rule 4.4.1 [v12: 5.4.1], with real ed25519 keys."""

from __future__ import annotations

from typing import Any

import pytest
from authkit import ALICE, BOB, CAROL, VERSIONS, Room, expect, make_room, version_id
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_third_party import invite_public_keys, signed_matches_invite

by_version = pytest.mark.parametrize("version", VERSIONS, ids=version_id)

IDENTITY_KEY = generate_signing_key("0")
OTHER_KEY = generate_signing_key("1")
TOKEN = "abc123"


def public_key(key: Any, urlsafe: bool = False) -> str:
    if urlsafe:
        return encode_base64(bytes(get_verify_key(key)), urlsafe=True)
    return str(encode_verify_key_base64(get_verify_key(key)))


def signed_for(mxid: str, key: Any = IDENTITY_KEY, token: str = TOKEN) -> dict[str, Any]:
    signed: dict[str, Any] = sign_json({"mxid": mxid, "token": token}, "id.example", key)
    return signed


def room_with_invite(version: RoomVersion, **invite_content: Any) -> Room:
    """ALICE (joined) has issued an m.room.third_party_invite for TOKEN."""
    room = make_room(version)
    content = invite_content or {"public_key": public_key(IDENTITY_KEY), "display_name": "b..."}
    room.apply(room.event("m.room.third_party_invite", ALICE, content, TOKEN))
    return room


def tp_invite(room: Room, target: str = BOB, sender: str = ALICE, **third_party: Any) -> dict[str, Any]:
    body = third_party if third_party else {"display_name": "b...", "signed": signed_for(target)}
    return room.member(target, "invite", sender, third_party_invite=body)


def rule(version: RoomVersion, sub: str) -> str | None:
    return expect(version, "4.4.1." + sub, "5.4.1." + sub)


@by_version
def test_valid_third_party_invite_allowed(version: RoomVersion) -> None:
    room = room_with_invite(version)
    assert room.rejected_by(tp_invite(room)) is None


@by_version
def test_public_keys_list_and_urlsafe_alphabet(version: RoomVersion) -> None:
    room = room_with_invite(
        version,
        public_key=public_key(OTHER_KEY),
        public_keys=[{"public_key": "not base64!"}, {"public_key": public_key(IDENTITY_KEY, True)}],
    )
    assert room.rejected_by(tp_invite(room)) is None


@by_version
def test_third_party_invite_sender_need_not_be_joined(version: RoomVersion) -> None:
    # 4.4.1.7 allows before rule 4.4.2 (sender joined) is reached; rule
    # 4.4.1.6 ties the sender to the m.room.third_party_invite's sender.
    room = room_with_invite(version)
    room.set_membership(ALICE, "leave", ALICE)
    assert room.rejected_by(tp_invite(room)) is None


@by_version
def test_banned_target(version: RoomVersion) -> None:
    room = room_with_invite(version).set_membership(BOB, "ban")
    assert room.rejected_by(tp_invite(room)) == rule(version, "1")


@by_version
def test_missing_signed(version: RoomVersion) -> None:
    room = room_with_invite(version)
    assert room.rejected_by(tp_invite(room, display_name="b")) == rule(version, "2")


@by_version
@pytest.mark.parametrize("drop", ["mxid", "token"])
def test_signed_needs_mxid_and_token(version: RoomVersion, drop: str) -> None:
    room = room_with_invite(version)
    signed = signed_for(BOB)
    del signed[drop]
    assert room.rejected_by(tp_invite(room, signed=signed)) == rule(version, "3")


@by_version
def test_mxid_must_match_state_key(version: RoomVersion) -> None:
    room = room_with_invite(version)
    assert room.rejected_by(tp_invite(room, signed=signed_for(CAROL))) == rule(version, "4")


@by_version
def test_token_must_name_an_invite_in_state(version: RoomVersion) -> None:
    room = room_with_invite(version)
    signed = signed_for(BOB, token="unknown")
    assert room.rejected_by(tp_invite(room, signed=signed)) == rule(version, "5")


@by_version
def test_sender_must_match_invite_sender(version: RoomVersion) -> None:
    room = room_with_invite(version).set_membership(CAROL, "join", CAROL)
    assert room.rejected_by(tp_invite(room, sender=CAROL)) == rule(version, "6")


@by_version
def test_signature_by_unknown_key_denied(version: RoomVersion) -> None:
    room = room_with_invite(version)
    signed = signed_for(BOB, key=OTHER_KEY)
    assert room.rejected_by(tp_invite(room, signed=signed)) == rule(version, "8")


@by_version
def test_tampered_signed_denied(version: RoomVersion) -> None:
    room = room_with_invite(version)
    signed = signed_for(BOB)
    signed["token"] = TOKEN
    signed["extra"] = "changed after signing"
    assert room.rejected_by(tp_invite(room, signed=signed)) == rule(version, "8")


def test_helpers() -> None:
    content = {"public_key": "a", "public_keys": [{"public_key": "b"}, {"x": 1}, "c"]}
    assert invite_public_keys(content) == ["a", "b"]
    assert not signed_matches_invite({"mxid": BOB, "token": TOKEN}, content)
    assert not signed_matches_invite(
        {"signatures": {"id.example": {"curve25519:0": "x"}}}, {"public_key": public_key(IDENTITY_KEY)}
    )
