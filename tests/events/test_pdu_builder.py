"""PDU building (hash, sign, event ID) and the spec's size limits."""

from __future__ import annotations

from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64

from kith.canonical_json import MAX_EVENT_BYTES, CanonicalJSONError, encode_canonical_json
from kith.events.builder import build_pdu, check_pdu_limits
from kith.events.errors import EventFieldTooLong, EventTooLarge, TooManyEventReferences
from kith.events.hashing import compute_event_id, content_hash_matches
from kith.events.redaction import redact
from kith.events.room_versions import V10, V11, V12, RoomVersion
from kith.signing import InvalidSignature, get_verify_key, verify_json

KEY = decode_signing_key_base64("ed25519", "1", "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")


def build(version: RoomVersion = V11, **overrides: Any) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {
        "version": version,
        "room_id": "!room:example.org",
        "sender": "@alice:example.org",
        "event_type": "m.room.message",
        "content": {"body": "hello", "msgtype": "m.text"},
        "state_key": None,
        "prev_events": ["$prev"],
        "auth_events": ["$auth1", "$auth2"],
        "depth": 3,
        "origin_server_ts": 1700000000000,
        "server_name": "example.org",
        "signing_key": KEY,
    }
    args.update(overrides)
    return build_pdu(**args)


@pytest.mark.parametrize("version", [V10, V11, V12], ids=lambda v: f"v{v.identifier}")
def test_message_pdu_shape_and_signature(version: RoomVersion) -> None:
    event_id, pdu = build(version)
    assert set(pdu) == {
        "auth_events", "content", "depth", "hashes", "origin_server_ts",
        "prev_events", "room_id", "sender", "signatures", "type",
    }
    assert "origin" not in pdu and "event_id" not in pdu and "state_key" not in pdu
    assert event_id == compute_event_id(pdu, version)
    assert event_id.startswith("$") and len(event_id) == 44
    assert content_hash_matches(pdu)
    assert set(pdu["signatures"]) == {"example.org"}
    assert set(pdu["signatures"]["example.org"]) == {"ed25519:1"}
    verify_json(redact(pdu, version), "example.org", get_verify_key(KEY))


def test_build_is_deterministic() -> None:
    # ed25519 signatures are deterministic, so identical input gives identical PDUs.
    assert build() == build()


def test_state_event_keeps_empty_state_key() -> None:
    _, pdu = build(event_type="m.room.topic", content={"topic": "t"}, state_key="")
    assert pdu["state_key"] == ""


def test_tampering_after_build() -> None:
    _, pdu = build()
    verify_key = get_verify_key(KEY)
    changed_body = dict(pdu, content={"body": "forged"})
    # The signature covers the redacted form only, so it still verifies, but the
    # content hash exposes the change (server-server "Validating hashes").
    verify_json(redact(changed_body, V11), "example.org", verify_key)
    assert not content_hash_matches(changed_body)
    for field, value in (("depth", 4), ("sender", "@mallory:example.org"), ("prev_events", [])):
        with pytest.raises(InvalidSignature):
            verify_json(redact(dict(pdu, **{field: value}), V11), "example.org", verify_key)


def test_content_is_copied() -> None:
    content: dict[str, Any] = {"body": "x", "nested": {"list": [1]}}
    event_id, pdu = build(content=content)
    content["nested"]["list"].append(2)
    content["body"] = "y"
    assert pdu["content"] == {"body": "x", "nested": {"list": [1]}}
    assert compute_event_id(pdu, V11) == event_id


def test_v10_redaction_has_top_level_redacts() -> None:
    _, pdu = build(V10, event_type="m.room.redaction", content={"reason": "spam"}, redacts="$bad")
    assert pdu["redacts"] == "$bad"
    assert pdu["content"] == {"reason": "spam"}


@pytest.mark.parametrize("version", [V11, V12], ids=["v11", "v12"])
def test_v11_redaction_has_redacts_in_content(version: RoomVersion) -> None:
    _, pdu = build(version, event_type="m.room.redaction", content={"reason": "spam"}, redacts="$bad")
    assert "redacts" not in pdu
    assert pdu["content"] == {"reason": "spam", "redacts": "$bad"}
    # Already in content, no argument: accepted as is.
    _, same = build(version, event_type="m.room.redaction", content={"redacts": "$bad"})
    assert same["content"] == {"redacts": "$bad"}


def test_redacts_argument_errors() -> None:
    with pytest.raises(ValueError, match="disagrees"):
        build(V11, event_type="m.room.redaction", content={"redacts": "$a"}, redacts="$b")
    with pytest.raises(ValueError, match="only meaningful"):
        build(V11, redacts="$b")
    for version in (V10, V11):
        with pytest.raises(ValueError, match="needs the ID"):
            build(version, event_type="m.room.redaction", content={})


def test_v12_create_has_no_room_id() -> None:
    event_id, pdu = build(
        V12, room_id=None, event_type="m.room.create", state_key="",
        content={"room_version": "12"}, prev_events=[], auth_events=[], depth=1,
    )
    assert "room_id" not in pdu
    with pytest.raises(ValueError, match="no room_id"):
        build(V12, event_type="m.room.create", state_key="", content={})


def test_v10_v11_create_needs_room_id() -> None:
    for version in (V10, V11):
        _, pdu = build(version, event_type="m.room.create", state_key="",
                       content={"creator": "@alice:example.org", "room_version": "10"})
        assert pdu["room_id"] == "!room:example.org"
        with pytest.raises(ValueError, match="room_id is required"):
            build(version, room_id=None, event_type="m.room.create", state_key="", content={})
    with pytest.raises(ValueError, match="room_id is required"):
        build(V12, room_id=None)


def test_builder_does_not_add_creator() -> None:
    _, pdu = build(V10, event_type="m.room.create", state_key="", content={"room_version": "10"})
    assert pdu["content"] == {"room_version": "10"}


@pytest.mark.parametrize("content", [{"f": 1.5}, {"n": 2**53}, {"deep": [{"x": -(2**60)}]}])
def test_non_canonical_content_refused(content: dict[str, Any]) -> None:
    with pytest.raises(CanonicalJSONError):
        build(content=content)


def test_depth_clamped_to_limit() -> None:
    _, pdu = build(depth=2**53 + 10)
    assert pdu["depth"] == 2**53 - 1


def test_oversized_content_refused() -> None:
    with pytest.raises(EventTooLarge) as info:
        build(content={"body": "x" * MAX_EVENT_BYTES})
    assert info.value.limit == 65536 and info.value.size > 65536


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("sender", {"sender": "@" + "a" * 243 + ":example.org"}),
        ("room_id", {"room_id": "!" + "r" * 243 + ":example.org"}),
        ("type", {"event_type": "t" * 256}),
        # 128 two-byte characters: 128 code points but 256 bytes.
        ("state_key", {"state_key": "é" * 128}),
    ],
)
def test_field_limits_in_bytes(field: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(EventFieldTooLong) as info:
        build(**overrides)
    assert info.value.field == field and info.value.size == 256 and info.value.limit == 255


def test_field_limits_allow_255_bytes() -> None:
    build(state_key="é" * 127 + "a", event_type="t" * 255)


def _minimal(**extra: Any) -> dict[str, Any]:
    return {"type": "x", "sender": "@a:x", "room_id": "!r:x", "content": {}, **extra}


def test_total_size_boundary() -> None:
    base = len(encode_canonical_json(_minimal(content={"p": ""})))
    exact = _minimal(content={"p": "x" * (MAX_EVENT_BYTES - base)})
    assert len(encode_canonical_json(exact)) == MAX_EVENT_BYTES
    check_pdu_limits(exact)
    over = _minimal(content={"p": "x" * (MAX_EVENT_BYTES - base + 1)})
    with pytest.raises(EventTooLarge):
        check_pdu_limits(over)


def test_total_size_counts_signatures_and_utf8_bytes() -> None:
    base = len(encode_canonical_json(_minimal(content={"p": ""})))
    # Multi-byte characters count by UTF-8 length, not code points.
    with pytest.raises(EventTooLarge):
        check_pdu_limits(_minimal(content={"p": "é" * ((MAX_EVENT_BYTES - base) // 2 + 1)}))
    fits = _minimal(content={"p": "x" * (MAX_EVENT_BYTES - base - 100)})
    check_pdu_limits(fits)
    with pytest.raises(EventTooLarge):
        check_pdu_limits(dict(fits, signatures={"x": {"ed25519:1": "s" * 100}}))


def test_event_id_limit() -> None:
    check_pdu_limits(_minimal(), event_id="$" + "e" * 254)
    with pytest.raises(EventFieldTooLong, match="event_id"):
        check_pdu_limits(_minimal(), event_id="$" + "e" * 255)
    with pytest.raises(EventFieldTooLong, match="event_id"):
        check_pdu_limits(_minimal(event_id="$" + "e" * 255))


def test_reference_count_limits() -> None:
    check_pdu_limits(_minimal(prev_events=["$p"] * 20, auth_events=["$a"] * 10))
    with pytest.raises(TooManyEventReferences, match="prev_events"):
        check_pdu_limits(_minimal(prev_events=["$p"] * 21))
    with pytest.raises(TooManyEventReferences, match="auth_events"):
        check_pdu_limits(_minimal(auth_events=["$a"] * 11))
    with pytest.raises(TooManyEventReferences):
        build(prev_events=[f"$p{i}" for i in range(21)])


def test_wrongly_typed_fields_left_to_format_validation() -> None:
    check_pdu_limits(_minimal(sender=5, state_key=None, prev_events="x"))
