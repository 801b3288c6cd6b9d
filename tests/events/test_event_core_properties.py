"""Hypothesis properties of canonical JSON, hashing and redaction."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kith.canonical_json import (
    MAX_SAFE_INTEGER,
    MIN_SAFE_INTEGER,
    check_canonical_json_value,
    encode_canonical_json,
)
from kith.events.hashing import compute_content_hash, compute_event_id, reference_hash
from kith.events.redaction import redact
from kith.events.room_versions import V10, V11, V12, RoomVersion

VERSIONS = st.sampled_from([V10, V11, V12])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=MIN_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=6)


def reordered(value: Any, rng: random.Random) -> Any:
    """Same JSON value, every object rebuilt with its keys in a shuffled order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: reordered(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [reordered(item, rng) for item in value]
    return value


def spec_reference_encoding(value: Any) -> bytes:
    # The spec's own Python snippet from appendices "Canonical JSON".
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("UTF-8")


@given(json_values, st.randoms(use_true_random=False))
def test_canonical_json_deterministic_and_order_independent(value: Any, rng: random.Random) -> None:
    encoded = encode_canonical_json(value)
    assert encode_canonical_json(value) == encoded
    assert encode_canonical_json(reordered(value, rng)) == encoded
    assert encoded == spec_reference_encoding(value)
    check_canonical_json_value(value)


@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    assert json.loads(encode_canonical_json(value)) == value


@given(json_values)
def test_canonical_json_sorts_keys_by_code_point(value: Any) -> None:
    def check_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        # Python orders str by code point, which is the spec's rule.
        assert keys == sorted(keys)
        assert all(a != b for a, b in zip(keys, keys[1:]))
        return dict(pairs)

    json.loads(encode_canonical_json(value), object_pairs_hook=check_pairs)


def _outside_strings(text: str) -> str:
    """The characters of a JSON text that are not inside string literals."""
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            out.append(ch)
    return "".join(out)


@given(json_values)
def test_canonical_json_has_no_insignificant_whitespace(value: Any) -> None:
    structure = _outside_strings(encode_canonical_json(value).decode("utf-8"))
    assert not any(ch in structure for ch in " \t\n\r")


@given(st.text())
def test_canonical_strings_escape_only_what_the_grammar_requires(text: str) -> None:
    encoded = encode_canonical_json(text).decode("utf-8")
    # Shortest form: any character other than controls, '"' and '\' appears raw.
    for ch in text:
        if ord(ch) >= 0x20 and ch not in '"\\':
            assert ch in encoded


SPECIAL_TYPES = [
    "m.room.member", "m.room.create", "m.room.join_rules", "m.room.power_levels",
    "m.room.history_visibility", "m.room.redaction", "m.room.message", "m.room.aliases",
]
SPECIAL_CONTENT_KEYS = [
    "membership", "join_authorised_via_users_server", "third_party_invite", "creator",
    "join_rule", "allow", "ban", "events", "events_default", "invite", "kick", "redact",
    "state_default", "users", "users_default", "history_visibility", "redacts", "body",
]
SPECIAL_TOP_KEYS = [
    "event_id", "state_key", "prev_state", "origin", "membership", "redacts", "unsigned",
    "age_ts", "outlier",
]

content_strategy = st.dictionaries(
    st.sampled_from(SPECIAL_CONTENT_KEYS) | st.text(max_size=8), json_values, max_size=8
)


@st.composite
def pdus(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": draw(st.sampled_from(SPECIAL_TYPES) | st.text(max_size=10)),
        "content": draw(content_strategy),
        "room_id": "!r:example.org",
        "sender": draw(st.text(max_size=10)),
        "depth": draw(st.integers(min_value=1, max_value=MAX_SAFE_INTEGER)),
        "origin_server_ts": draw(st.integers(min_value=0, max_value=MAX_SAFE_INTEGER)),
        "prev_events": draw(st.lists(st.text(max_size=5), max_size=3)),
        "auth_events": draw(st.lists(st.text(max_size=5), max_size=3)),
        "hashes": {"sha256": draw(st.text(max_size=5))},
        "signatures": draw(st.dictionaries(st.text(max_size=5), st.dictionaries(
            st.text(max_size=5), st.text(max_size=5), max_size=2), max_size=2)),
    }
    extra = draw(st.dictionaries(st.sampled_from(SPECIAL_TOP_KEYS) | st.text(max_size=6),
                                 json_values, max_size=4))
    event.update(extra)
    return event


@settings(max_examples=200)
@given(pdus(), VERSIONS, st.randoms(use_true_random=False))
def test_hashes_invariant_under_key_order(event: dict[str, Any], version: RoomVersion,
                                          rng: random.Random) -> None:
    shuffled = reordered(event, rng)
    assert compute_content_hash(shuffled) == compute_content_hash(event)
    assert compute_event_id(shuffled, version) == compute_event_id(event, version)


@settings(max_examples=200)
@given(pdus(), VERSIONS)
def test_redaction_idempotent_and_preserves_event_id(event: dict[str, Any], version: RoomVersion) -> None:
    once = redact(event, version)
    assert redact(once, version) == once
    assert compute_event_id(once, version) == compute_event_id(event, version)
    assert reference_hash(once, version) == reference_hash(event, version)
    assert "unsigned" not in once and "content" in once


@given(pdus(), VERSIONS)
def test_redaction_only_removes(event: dict[str, Any], version: RoomVersion) -> None:
    redacted = redact(event, version)
    for key, value in redacted.items():
        if key != "content":
            assert event[key] == value
    if isinstance(event["content"], dict):
        for key, value in redacted["content"].items():
            if key == "third_party_invite" and event["type"] == "m.room.member":
                assert value == {k: v for k, v in event["content"][key].items() if k == "signed"}
            else:
                assert event["content"][key] == value


@given(pdus(), VERSIONS)
def test_signatures_and_unsigned_never_affect_event_id(event: dict[str, Any], version: RoomVersion) -> None:
    event_id = compute_event_id(event, version)
    changed = dict(event, signatures={"other": {"ed25519:z": "zz"}}, unsigned={"age": 1})
    assert compute_event_id(changed, version) == event_id
