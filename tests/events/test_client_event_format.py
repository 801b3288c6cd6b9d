"""PDU -> ClientEvent conversion (client-server-api "Room event format")."""

from __future__ import annotations

from typing import Any

import pytest

from kith.events.client_format import to_client_event, to_client_event_without_room_id
from kith.events.room_versions import V10, V11, V12, RoomVersion


def pdu(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "auth_events": ["$a"], "prev_events": ["$p"], "depth": 9,
        "content": {"body": "hi"}, "hashes": {"sha256": "h"},
        "signatures": {"x": {"ed25519:1": "s"}}, "origin_server_ts": 42,
        "room_id": "!r:x", "sender": "@a:x", "type": "m.room.message",
        "unsigned": {"age_ts": 1},
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize("version", [V10, V11, V12], ids=lambda v: f"v{v.identifier}")
def test_message(version: RoomVersion) -> None:
    assert to_client_event(pdu(), "$e", None, version) == {
        "content": {"body": "hi"}, "event_id": "$e", "origin_server_ts": 42,
        "room_id": "!r:x", "sender": "@a:x", "type": "m.room.message",
    }
    assert to_client_event_without_room_id(pdu(), "$e", {}, version) == {
        "content": {"body": "hi"}, "event_id": "$e", "origin_server_ts": 42,
        "sender": "@a:x", "type": "m.room.message",
    }


def test_state_key_present_iff_state_event() -> None:
    state = to_client_event(pdu(type="m.room.topic", state_key="", content={"topic": "t"}),
                            "$e", None, V11)
    assert state["state_key"] == ""
    assert "state_key" not in to_client_event(pdu(), "$e", None, V11)


def test_unsigned_passed_through_when_non_empty() -> None:
    unsigned = {"age": 5, "transaction_id": "t"}
    event = to_client_event(pdu(), "$e", unsigned, V11)
    assert event["unsigned"] == unsigned
    event["unsigned"]["age"] = 6
    assert unsigned["age"] == 5


def test_content_not_shared_at_top_level() -> None:
    source = pdu()
    event = to_client_event(source, "$e", None, V11)
    event["content"]["body"] = "changed"
    assert source["content"] == {"body": "hi"}


def test_v12_create_room_id_from_event_id() -> None:
    create = pdu(type="m.room.create", state_key="", content={"room_version": "12"})
    del create["room_id"]
    event = to_client_event(create, "$abcDEF-_", None, V12)
    assert event["room_id"] == "!abcDEF-_"


@pytest.mark.parametrize("version", [V11, V12], ids=["v11", "v12"])
def test_v11_redaction_exposes_top_level_redacts(version: RoomVersion) -> None:
    event = to_client_event(
        pdu(type="m.room.redaction", content={"redacts": "$t", "reason": "r"}), "$e", None, version
    )
    assert event["redacts"] == "$t"
    assert event["content"] == {"redacts": "$t", "reason": "r"}


def test_v10_redaction_exposes_redacts_in_content_too() -> None:
    source = pdu(type="m.room.redaction", content={"reason": "r"}, redacts="$t")
    event = to_client_event(source, "$e", None, V10)
    assert event["redacts"] == "$t"
    assert event["content"] == {"reason": "r", "redacts": "$t"}
    assert source["content"] == {"reason": "r"}


def test_redacted_redaction_event_has_no_redacts() -> None:
    assert "redacts" not in to_client_event(pdu(type="m.room.redaction", content={}), "$e", None, V11)
    assert "redacts" not in to_client_event(pdu(type="m.room.redaction", content={}), "$e", None, V10)
