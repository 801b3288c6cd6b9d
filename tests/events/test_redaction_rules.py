"""Table-driven redaction tests, one row per rule in the spec text.

Spec: rooms/fragments/v9-redactions.md (room version 10) and
rooms/fragments/v11-redactions.md (room versions 11 and 12).
"""

from __future__ import annotations

from typing import Any

import pytest

from kith.events.redaction import redact, redact_client_event, redact_content
from kith.events.room_versions import V10, V11, V12, RoomVersion

SIGNED_3PID = {"mxid": "@b:example.org", "token": "tok", "signatures": {"id.example": {"ed25519:0": "s"}}}
POWER_LEVELS_FULL = {
    "ban": 50, "events": {"m.room.name": 50}, "events_default": 0, "invite": 0,
    "kick": 50, "redact": 50, "state_default": 50, "users": {"@a:example.org": 100},
    "users_default": 0, "notifications": {"room": 50}, "extra": "x",
}

# (event type, content, kept content in v10, kept content in v11/v12)
CONTENT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "m.room.member",
        {
            "membership": "join", "join_authorised_via_users_server": "@s:example.org",
            "displayname": "B", "avatar_url": "mxc://x/y", "reason": "hi", "is_direct": True,
            "third_party_invite": {"display_name": "b@x", "signed": SIGNED_3PID},
        },
        {"membership": "join", "join_authorised_via_users_server": "@s:example.org"},
        {
            "membership": "join", "join_authorised_via_users_server": "@s:example.org",
            "third_party_invite": {"signed": SIGNED_3PID},
        },
    ),
    (
        "m.room.member",
        {"membership": "invite", "third_party_invite": {"display_name": "no signed"}},
        {"membership": "invite"},
        {"membership": "invite", "third_party_invite": {}},
    ),
    (
        "m.room.member",
        {"membership": "invite", "third_party_invite": "not an object"},
        {"membership": "invite"},
        {"membership": "invite"},
    ),
    ("m.room.member", {"displayname": "no membership"}, {}, {}),
    (
        "m.room.create",
        {
            "creator": "@a:example.org", "room_version": "10", "m.federate": False,
            "predecessor": {"room_id": "!old:example.org"}, "type": "m.space",
            "additional_creators": ["@b:example.org"],
        },
        {"creator": "@a:example.org"},
        {
            "creator": "@a:example.org", "room_version": "10", "m.federate": False,
            "predecessor": {"room_id": "!old:example.org"}, "type": "m.space",
            "additional_creators": ["@b:example.org"],
        },
    ),
    (
        "m.room.join_rules",
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": "!s:x"}], "x": 1},
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": "!s:x"}]},
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": "!s:x"}]},
    ),
    (
        "m.room.power_levels",
        POWER_LEVELS_FULL,
        {k: POWER_LEVELS_FULL[k] for k in (
            "ban", "events", "events_default", "kick", "redact", "state_default", "users",
            "users_default")},
        {k: POWER_LEVELS_FULL[k] for k in (
            "ban", "events", "events_default", "invite", "kick", "redact", "state_default",
            "users", "users_default")},
    ),
    (
        "m.room.history_visibility",
        {"history_visibility": "shared", "extra": 1},
        {"history_visibility": "shared"},
        {"history_visibility": "shared"},
    ),
    (
        "m.room.redaction",
        {"redacts": "$target", "reason": "spam"},
        {},
        {"redacts": "$target"},
    ),
    # m.room.aliases was protected only in room versions 1-5.
    ("m.room.aliases", {"aliases": ["#a:example.org"]}, {}, {}),
    ("m.room.message", {"body": "secret", "msgtype": "m.text"}, {}, {}),
    # Protection is by event type only: a message cannot smuggle "membership".
    ("m.room.message", {"membership": "join", "redacts": "$x", "creator": "@a:x"}, {}, {}),
    ("m.room.name", {"name": "Room"}, {}, {}),
    ("m.room.topic", {"topic": "t"}, {}, {}),
    ("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, {}, {}),
    ("m.room.guest_access", {"guest_access": "can_join"}, {}, {}),
    ("m.room.canonical_alias", {"alias": "#a:example.org", "alt_aliases": []}, {}, {}),
    (
        "m.room.third_party_invite",
        {"display_name": "d", "key_validity_url": "https://x", "public_key": "k", "public_keys": []},
        {},
        {},
    ),
    ("m.room.server_acl", {"allow": ["*"], "deny": []}, {}, {}),
    ("org.example.custom", {"membership": "join", "anything": [1, 2]}, {}, {}),
]


def _event(event_type: str, content: Any) -> dict[str, Any]:
    return {
        "type": event_type, "content": content, "room_id": "!r:example.org",
        "sender": "@a:example.org", "state_key": "", "depth": 4,
        "origin_server_ts": 12, "prev_events": ["$p"], "auth_events": ["$a"],
        "hashes": {"sha256": "h"}, "signatures": {"example.org": {"ed25519:1": "s"}},
    }


@pytest.mark.parametrize(("event_type", "content", "v10", "v11"), CONTENT_CASES)
@pytest.mark.parametrize("version", [V10, V11, V12], ids=lambda v: f"v{v.identifier}")
def test_content_rules(
    version: RoomVersion,
    event_type: str,
    content: dict[str, Any],
    v10: dict[str, Any],
    v11: dict[str, Any],
) -> None:
    expected = v11 if version.redaction_v11 else v10
    assert redact(_event(event_type, content), version)["content"] == expected
    assert redact_content(event_type, content, version) == expected


# Every top-level member a PDU might carry, protected or not.
FULL_TOP_LEVEL: dict[str, Any] = {
    "event_id": "$e", "type": "m.room.message", "room_id": "!r:x", "sender": "@a:x",
    "state_key": "sk", "content": {"body": "b"}, "hashes": {"sha256": "h"},
    "signatures": {"x": {"ed25519:1": "s"}}, "depth": 7, "prev_events": ["$p"],
    "prev_state": ["$ps"], "auth_events": ["$a"], "origin": "x",
    "origin_server_ts": 99, "membership": "join", "unsigned": {"age_ts": 1},
    "redacts": "$r", "age_ts": 5, "user_id": "@a:x", "prev_content": {"a": 1},
    "replaces_state": "$old", "outlier": True, "extra": [1],
}
KEPT_V10 = {
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
    "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
    "origin_server_ts", "membership",
}
KEPT_V11 = KEPT_V10 - {"prev_state", "origin", "membership"}


@pytest.mark.parametrize(
    ("version", "kept"), [(V10, KEPT_V10), (V11, KEPT_V11), (V12, KEPT_V11)],
    ids=["v10", "v11", "v12"],
)
def test_top_level_rules(version: RoomVersion, kept: set[str]) -> None:
    redacted = redact(FULL_TOP_LEVEL, version)
    assert set(redacted) == kept
    for key in kept - {"content"}:
        assert redacted[key] == FULL_TOP_LEVEL[key]
    assert redacted["content"] == {}


def test_v10_redaction_event_loses_top_level_redacts() -> None:
    # In v10, `redacts` is top-level and not on the protected list.
    event = dict(_event("m.room.redaction", {"reason": "x"}), redacts="$t")
    assert "redacts" not in redact(event, V10)


def test_missing_or_malformed_content_becomes_empty() -> None:
    event = _event("m.room.member", {})
    del event["content"]
    assert redact(event, V11)["content"] == {}
    assert redact(_event("m.room.member", ["membership"]), V11)["content"] == {}


def test_redact_copies_and_does_not_mutate() -> None:
    event = _event("m.room.create", {"predecessor": {"room_id": "!o:x"}})
    snapshot = repr(event)
    redacted = redact(event, V11)
    assert repr(event) == snapshot
    redacted["content"]["predecessor"]["room_id"] = "!changed:x"
    redacted["prev_events"].append("$new")
    assert repr(event) == snapshot


@pytest.mark.parametrize("version", [V10, V11, V12], ids=lambda v: f"v{v.identifier}")
def test_client_event_redaction(version: RoomVersion) -> None:
    because = {"type": "m.room.redaction", "event_id": "$red", "sender": "@mod:x",
               "content": {"reason": "spam", "redacts": "$m"}, "redacts": "$m",
               "origin_server_ts": 5}
    client_event = {
        "type": "m.room.member", "event_id": "$m", "room_id": "!r:x", "sender": "@a:x",
        "state_key": "@a:x", "origin_server_ts": 3,
        "content": {"membership": "join", "displayname": "A"},
        "unsigned": {"age": 7, "transaction_id": "t1", "prev_content": {"displayname": "Z"},
                     "m.relations": {"m.thread": {}}, "membership": "join"},
    }
    redacted = redact_client_event(client_event, version, because)
    assert redacted == {
        "type": "m.room.member", "event_id": "$m", "room_id": "!r:x", "sender": "@a:x",
        "state_key": "@a:x", "origin_server_ts": 3, "content": {"membership": "join"},
        "unsigned": {"age": 7, "transaction_id": "t1", "membership": "join",
                     "redacted_because": because},
    }
    redacted["unsigned"]["redacted_because"]["content"]["reason"] = "changed"
    assert because["content"] == {"reason": "spam", "redacts": "$m"}


def test_client_event_redaction_without_reason_or_unsigned() -> None:
    client_event = {"type": "m.room.message", "event_id": "$m", "sender": "@a:x",
                    "origin_server_ts": 3, "content": {"body": "x"}}
    assert redact_client_event(client_event, V11, None) == {
        "type": "m.room.message", "event_id": "$m", "sender": "@a:x",
        "origin_server_ts": 3, "content": {},
    }


def test_client_redaction_event_redacted_keeps_redacts_v11_only() -> None:
    client_event = {"type": "m.room.redaction", "event_id": "$r", "room_id": "!r:x",
                    "sender": "@a:x", "origin_server_ts": 1, "redacts": "$t",
                    "content": {"redacts": "$t", "reason": "x"}}
    v11 = redact_client_event(client_event, V11, None)
    assert v11["content"] == {"redacts": "$t"} and v11["redacts"] == "$t"
    v10 = redact_client_event(client_event, V10, None)
    assert v10["content"] == {} and "redacts" not in v10
