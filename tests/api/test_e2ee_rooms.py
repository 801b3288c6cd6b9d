"""Encryption by default for new rooms (config `encryption`) and the rule that
an encrypted room stays encrypted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kith.rooms.create import MEGOLM, creation_intents, parse_request
from matrix import register  # type: ignore[import-not-found]


async def _encryption(user: Any, room_id: str) -> Any:
    resp = await user.http.get(f"/_matrix/client/v3/rooms/{room_id}/state/m.room.encryption/",
                               headers=user.auth)
    return resp.json() if resp.status_code == 200 else None


async def test_private_and_direct_rooms_are_encrypted_public_not(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    assert await _encryption(alice, await alice.create_room()) == {"algorithm": MEGOLM}
    assert await _encryption(alice, await alice.create_room(preset="trusted_private_chat")) == \
        {"algorithm": MEGOLM}
    assert await _encryption(alice, await alice.create_room(
        preset="public_chat", is_direct=True)) == {"algorithm": MEGOLM}
    assert await _encryption(alice, await alice.create_room(preset="public_chat")) is None
    own = {"type": "m.room.encryption", "state_key": "",
           "content": {"algorithm": MEGOLM, "rotation_period_ms": 1000}}
    room = await alice.create_room(initial_state=[own])
    assert await _encryption(alice, room) == own["content"]


async def test_encryption_cannot_be_switched_off(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    for content in ({}, {"algorithm": "m.other"}):
        resp = await alice.request("PUT", f"/rooms/{room}/state/m.room.encryption/", content,
                                   expect=403)
        assert resp["errcode"] == "M_FORBIDDEN"
    assert await _encryption(alice, room) == {"algorithm": MEGOLM}


async def test_encryption_event_cannot_be_redacted(client: httpx.AsyncClient) -> None:
    # The redaction algorithm strips `algorithm`: redacting the event would
    # switch encryption off, and a moderator's redact level is below the 100
    # needed to send m.room.encryption.
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    room = await alice.create_room(invite=[bob.user_id],
                                   power_level_content_override={"users": {bob.user_id: 50}})
    await bob.join(room)
    state = await alice.request("GET", f"/rooms/{room}/state")
    enc_id = next(e["event_id"] for e in state if e["type"] == "m.room.encryption")
    for user in (alice, bob):
        resp = await user.request("PUT", f"/rooms/{room}/redact/{enc_id}/t1", {}, expect=403)
        assert resp["errcode"] == "M_FORBIDDEN"
    assert await _encryption(alice, room) == {"algorithm": MEGOLM}
    event = await alice.request("GET", f"/rooms/{room}/event/{enc_id}")
    assert event["content"] == {"algorithm": MEGOLM}
    assert "redacted_because" not in event.get("unsigned", {})
    # Other events in the room can still be redacted by the moderator.
    message = await alice.send(room, "oops")
    await bob.request("PUT", f"/rooms/{room}/redact/{message}/t2", {})


@pytest.mark.parametrize(("mode", "preset", "expected"), [
    ("off", "private_chat", False), ("all", "public_chat", True),
    ("private", "public_chat", False), ("private", "private_chat", True),
])
def test_encryption_modes(mode: str, preset: str, expected: bool) -> None:
    plan = parse_request({"preset": preset})
    intents = creation_intents("@a:x", plan, "x", {}, encryption=mode)
    assert any(i.type == "m.room.encryption" for i in intents) is expected


def test_encryption_setting_in_kith_toml(tmp_path: Any) -> None:
    from kith.config import ConfigError, load

    default = load(tmp_path / "a")
    assert default.encryption == "private"
    assert 'encryption = "private"' in (tmp_path / "a" / "kith.toml").read_text()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "kith.toml").write_text('encryption = "all"\n')
    assert load(tmp_path / "b").encryption == "all"
    (tmp_path / "b" / "kith.toml").write_text('encryption = "sometimes"\n')
    with pytest.raises(ConfigError):
        load(tmp_path / "b")
