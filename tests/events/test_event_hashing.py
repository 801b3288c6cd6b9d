"""Content hashes, reference hashes, event IDs and v12 room IDs.

Known answers come from two places: the spec's "Event Signing" test vectors
(appendices "Cryptographic Test Vectors"), and hashes worked out here by hand
from the spec's algorithm text with hashlib over literal canonical bytes, so
they do not depend on any Kith code path.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from signedjson.key import decode_signing_key_base64

from kith.events.builder import build_pdu
from kith.events.hashing import (
    compute_content_hash,
    compute_event_id,
    compute_v12_room_id,
    content_hash_bytes,
    content_hash_matches,
    reference_hash,
)
from kith.events.redaction import redact
from kith.events.room_versions import V10, V11, V12, RoomVersion
from kith.signing import get_verify_key, sign_json, verify_json

SPEC_KEY = decode_signing_key_base64("ed25519", "1", "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")


def _urlsafe(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _std(digest: bytes) -> str:
    return base64.b64encode(digest).decode().rstrip("=")


def _spec_minimal_event() -> dict[str, Any]:
    return {
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "signatures": {},
        "hashes": {},
        "type": "X",
        "content": {},
        "prev_events": [],
        "auth_events": [],
        "depth": 3,
        "unsigned": {"age_ts": 1000000},
    }


def _spec_redactable_event() -> dict[str, Any]:
    return {
        "content": {"body": "Here is the message content"},
        "event_id": "$0:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": {},
        "unsigned": {"age_ts": 1000000},
    }


# The spec vectors predate room version 11 and include `origin`, which only the
# pre-v11 redaction algorithm protects, so they are checked with V10.
@pytest.mark.parametrize(
    ("event", "content_hash", "signature"),
    [
        (
            _spec_minimal_event(),
            "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos",
            "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg",
        ),
        (
            _spec_redactable_event(),
            "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g",
            "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA",
        ),
    ],
)
def test_spec_event_signing_vectors(
    event: dict[str, Any], content_hash: str, signature: str
) -> None:
    event["hashes"] = {"sha256": compute_content_hash(event)}
    assert event["hashes"]["sha256"] == content_hash
    assert content_hash_matches(event)
    signed_redacted = sign_json(redact(event, V10), "domain", SPEC_KEY)
    assert signed_redacted["signatures"] == {"domain": {"ed25519:1": signature}}
    event["signatures"] = signed_redacted["signatures"]
    # A receiver checks the signature on its own redacted copy.
    verify_json(redact(event, V10), "domain", get_verify_key(SPEC_KEY))
    # Under the v11 algorithm `origin` is not protected, so the same signature
    # no longer covers the redacted form.
    assert sign_json(redact(event, V11), "domain", SPEC_KEY)["signatures"] != event["signatures"]


def _hand_event(**extra: Any) -> dict[str, Any]:
    return {
        "auth_events": ["$a"],
        "content": {"body": "hi", "msgtype": "m.text"},
        "depth": 5,
        "hashes": {"sha256": "X"},
        "origin_server_ts": 1,
        "prev_events": ["$p"],
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "signatures": {"example.org": {"ed25519:1": "sig"}},
        "type": "m.room.message",
        "unsigned": {"age": 4},
        **extra,
    }


def test_content_hash_known_answer() -> None:
    # Spec: drop unsigned, signatures, hashes; canonical JSON; SHA-256.
    expected_bytes = (
        b'{"auth_events":["$a"],"content":{"body":"hi","msgtype":"m.text"},"depth":5,'
        b'"origin_server_ts":1,"prev_events":["$p"],"room_id":"!r:example.org",'
        b'"sender":"@u:example.org","type":"m.room.message"}'
    )
    digest = hashlib.sha256(expected_bytes).digest()
    assert content_hash_bytes(_hand_event()) == digest
    assert compute_content_hash(_hand_event()) == _std(digest)
    assert "=" not in compute_content_hash(_hand_event())


@pytest.mark.parametrize("version", [V11, V12])
def test_event_id_known_answer_v11_plus(version: RoomVersion) -> None:
    # Spec: redact (message content emptied, origin not kept, unsigned gone),
    # drop signatures, canonical JSON, SHA-256, "$" + URL-safe unpadded base64.
    expected_bytes = (
        b'{"auth_events":["$a"],"content":{},"depth":5,"hashes":{"sha256":"X"},'
        b'"origin_server_ts":1,"prev_events":["$p"],"room_id":"!r:example.org",'
        b'"sender":"@u:example.org","type":"m.room.message"}'
    )
    digest = hashlib.sha256(expected_bytes).digest()
    event = _hand_event(origin="example.org")
    assert reference_hash(event, version) == digest
    assert compute_event_id(event, version) == "$" + _urlsafe(digest)


def test_event_id_known_answer_v10_keeps_origin() -> None:
    expected_bytes = (
        b'{"auth_events":["$a"],"content":{},"depth":5,"hashes":{"sha256":"X"},'
        b'"origin":"example.org","origin_server_ts":1,"prev_events":["$p"],'
        b'"room_id":"!r:example.org","sender":"@u:example.org","type":"m.room.message"}'
    )
    digest = hashlib.sha256(expected_bytes).digest()
    event = _hand_event(origin="example.org")
    assert compute_event_id(event, V10) == "$" + _urlsafe(digest)
    assert compute_event_id(event, V10) != compute_event_id(event, V11)


def test_event_id_uses_url_safe_alphabet() -> None:
    # Search a few events until the hash contains both "+"/"/" positions, then
    # check they appear as "-"/"_" (appendices "URL-safe unpadded Base64").
    for ts in range(200):
        event = _hand_event(origin_server_ts=ts)
        digest = reference_hash(event, V11)
        std = _std(digest)
        if "+" in std and "/" in std:
            event_id = compute_event_id(event, V11)
            assert event_id == "$" + std.replace("+", "-").replace("/", "_")
            assert len(event_id) == 44
            return
    pytest.fail("no sample hash exercised both special characters")


def test_event_id_ignores_signatures_unsigned_and_redactable_content() -> None:
    base = _hand_event()
    event_id = compute_event_id(base, V11)
    assert compute_event_id(_hand_event(signatures={}), V11) == event_id
    assert compute_event_id(_hand_event(unsigned={"x": 1}), V11) == event_id
    assert compute_event_id(_hand_event(content={"body": "other"}), V11) == event_id
    # ...but the content hash would reveal the content change.
    assert compute_content_hash(_hand_event(content={"body": "other"})) != compute_content_hash(base)
    assert compute_event_id(_hand_event(depth=6), V11) != event_id


def test_content_hash_matches_detects_changes() -> None:
    event = _hand_event()
    event["hashes"] = {"sha256": compute_content_hash(event)}
    assert content_hash_matches(event)
    padded = dict(event, hashes={"sha256": event["hashes"]["sha256"] + "="})
    assert content_hash_matches(padded)
    event["unsigned"] = {"age": 99}
    assert content_hash_matches(event)
    event["content"] = {"body": "changed"}
    assert not content_hash_matches(event)
    assert not content_hash_matches({"type": "x"})
    assert not content_hash_matches({"hashes": {"sha256": "%%%"}})
    assert not content_hash_matches({"hashes": {"sha256": 5}})


def test_v12_room_id_derivation() -> None:
    key = decode_signing_key_base64("ed25519", "1", "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
    event_id, create = build_pdu(
        version=V12,
        room_id=None,
        sender="@creator:example.org",
        event_type="m.room.create",
        content={"room_version": "12", "additional_creators": ["@b:example.org"]},
        state_key="",
        prev_events=[],
        auth_events=[],
        depth=1,
        origin_server_ts=1700000000000,
        server_name="example.org",
        signing_key=key,
    )
    assert "room_id" not in create
    room_id = compute_v12_room_id(create)
    assert room_id == "!" + event_id[1:]
    # By hand: the v11+ redaction keeps all create content; drop signatures.
    kept = ("auth_events", "content", "depth", "hashes", "origin_server_ts",
            "prev_events", "sender", "state_key", "type")
    by_hand = {k: create[k] for k in kept}
    canonical = json.dumps(by_hand, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert room_id == "!" + _urlsafe(hashlib.sha256(canonical.encode()).digest())


def test_v12_room_id_refused_for_older_versions() -> None:
    with pytest.raises(ValueError):
        compute_v12_room_id({"type": "m.room.create"}, version=V11)
