"""Proof that tests/spec_schema.py checks bodies against the spec correctly:
the spec's own example responses pass, and wrong bodies fail readably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kith.sync.filters import filter_to_json, parse_filter
try:  # repo root on sys.path (python -m pytest, or tests/ made a package)
    import tests.spec_schema as spec
except ImportError:  # plain `pytest`: only tests/ itself is on sys.path
    import spec_schema as spec  # type: ignore[no-redef, import-not-found, unused-ignore]

load_spec_file = spec.load_spec_file
response_examples = spec.response_examples
response_schema = spec.response_schema
spec_available = spec.spec_available
spec_dir = spec.spec_dir
validate_response = spec.validate_response

pytestmark = pytest.mark.skipif(not spec_available(), reason="matrix-spec not found")

NAMED = [
    ("versions.yaml", "get", "/versions"),
    ("login.yaml", "get", "/login"),
    ("login.yaml", "post", "/login"),
    ("sync.yaml", "get", "/sync"),
    ("create_room.yaml", "post", "/createRoom"),
    ("message_pagination.yaml", "get", "/rooms/{roomId}/messages"),
    ("filter.yaml", "get", "/user/{userId}/filter/{filterId}"),
]


@pytest.mark.parametrize(("api_file", "method", "path"), NAMED)
def test_spec_examples_validate(api_file: str, method: str, path: str) -> None:
    examples = response_examples(api_file, method, path, 200)
    assert examples, "the spec gives an example for this response"
    for body in examples:
        validate_response(api_file, method, path, 200, body)


def _all_example_cases() -> list[tuple[str, str, str, str]]:
    if not spec_available():
        return []
    cases = []
    for file in sorted((spec_dir() / "data" / "api" / "client-server").glob("*.yaml")):
        for path, ops in load_spec_file(file).get("paths", {}).items():
            for method, op in ops.items():
                if isinstance(op, dict):
                    for status in op.get("responses", {}):
                        cases.append((file.name, method, path, status))
    return cases


@pytest.mark.parametrize(("api_file", "method", "path", "status"), _all_example_cases())
def test_every_client_server_example_validates(
    api_file: str, method: str, path: str, status: str
) -> None:
    for body in response_examples(api_file, method, path, status):
        validate_response(api_file, method, path, status, body)


def test_example_refs_are_expanded() -> None:
    # sync.yaml's example pulls events from ../../event-schemas/examples.
    (body,) = response_examples("sync.yaml", "get", "/sync", 200)
    assert "$ref" not in json.dumps(body)
    assert body["presence"]["events"][0]["type"] == "m.presence"
    room = next(iter(body["rooms"]["join"].values()))
    assert {e["type"] for e in room["ephemeral"]["events"]} >= {"m.typing", "m.receipt"}


def _rejects(api_file: str, method: str, path: str, body: Any, *needles: str) -> str:
    with pytest.raises(AssertionError) as info:
        validate_response(api_file, method, path, 200, body)
    text = str(info.value)
    for needle in needles:
        assert needle in text, text
    return text


def test_wrong_types_are_rejected() -> None:
    _rejects("versions.yaml", "get", "/versions", {"versions": "v1.11"}, "$.versions", "'array'")
    _rejects("versions.yaml", "get", "/versions", {}, "'versions' is a required property")
    _rejects(
        "versions.yaml",
        "get",
        "/versions",
        {"versions": [], "unstable_features": {"x": "yes"}},
        "$.unstable_features.x",
    )
    _rejects("login.yaml", "post", "/login", {"user_id": 7}, "$.user_id")
    _rejects("create_room.yaml", "post", "/createRoom", {}, "'room_id' is a required")
    _rejects("sync.yaml", "get", "/sync", {"next_batch": 5}, "$.next_batch")


def test_refs_into_event_schemas_are_checked() -> None:
    bad_event = {"type": "m.room.message", "content": {}, "sender": "@a:x"}
    text = _rejects(
        "message_pagination.yaml",
        "get",
        "/rooms/{roomId}/messages",
        {"start": "t1", "chunk": [bad_event]},
        "$.chunk[0]",
        "'event_id' is a required property",
    )
    assert text.startswith("GET /rooms/{roomId}/messages 200 (message_pagination.yaml)")
    sync_body = {
        "next_batch": "s1",
        "rooms": {"join": {"!r:x": {"timeline": {"events": [{"type": 1}]}}}},
    }
    _rejects("sync.yaml", "get", "/sync", sync_body, "$.rooms.join['!r:x'].timeline.events[0].type")


def test_extra_properties_are_not_rejected() -> None:
    # The spec rarely sets additionalProperties; unknown keys stay allowed.
    validate_response(
        "versions.yaml", "get", "/versions", 200, {"versions": ["v1.11"], "org.x": {}}
    )


def test_undocumented_lookups_fail_clearly() -> None:
    with pytest.raises(AssertionError, match="has no path '/nope'"):
        validate_response("sync.yaml", "get", "/nope", 200, {})
    with pytest.raises(AssertionError, match="no PUT operation"):
        validate_response("sync.yaml", "put", "/sync", 200, {})
    with pytest.raises(AssertionError, match="documents no 418 response"):
        validate_response("sync.yaml", "get", "/sync", 418, {})


def test_response_refs_and_bodiless_responses() -> None:
    # This 429 is a `$ref` to '#/components/responses/rateLimited', whose
    # schema is in turn a `$ref` to definitions/errors/rate_limited.yaml.
    args = ("authed-content-repo.yaml", "get", "/media/download/{serverName}/{mediaId}", 429)
    validate_response(*args, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 5})
    with pytest.raises(AssertionError, match="retry_after_ms"):
        validate_response(*args, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": "5"})
    # filter.yaml's 404 has only a description: any body is acceptable.
    validate_response("filter.yaml", "get", "/user/{userId}/filter/{filterId}", 404, "x")


def test_response_schema_is_inlined() -> None:
    schema = response_schema("sync.yaml", "get", "/sync", 200)
    assert schema is not None
    assert "$ref" not in json.dumps(schema)
    assert schema["properties"]["next_batch"]["type"] == "string"
    assert response_schema("filter.yaml", "get", "/user/{userId}/filter/{filterId}", 404) is None


def test_yaml_reading_matches_json(tmp_path: Path) -> None:
    file = tmp_path / "x.yaml"
    file.write_text("on: yes\nwhen: 2020-01-01\n200: ok\nflag: true\n")
    assert load_spec_file(file) == {"on": "yes", "when": "2020-01-01", "200": "ok", "flag": True}


def test_stored_filter_serialises_to_spec_shape() -> None:
    # GET /user/{userId}/filter/{filterId} returns what kith.sync.filters emits.
    (example,) = response_examples("filter.yaml", "get", "/user/{userId}/filter/{filterId}", 200)
    body = filter_to_json(parse_filter(example))
    validate_response("filter.yaml", "get", "/user/{userId}/filter/{filterId}", 200, body)
    assert body == example
