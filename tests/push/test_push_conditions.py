"""Individual push conditions and non-override kinds (push.md, "Conditions")."""

from __future__ import annotations

from typing import Any

import pytest

from kith.push.evaluator import PushContext, condition_matches, first_match

ME = "@alice:example.org"

# push.md's example events for event_property_is / event_property_contains.
CREATE_EVENT: dict[str, Any] = {
    "content": {
        "creator": "@example:example.org",
        "m.federate": True,
        "predecessor": {"event_id": "$something:example.org", "room_id": "!oldroom:example.org"},
        "room_version": "1",
    },
    "sender": "@example:example.org",
    "state_key": "",
    "type": "m.room.create",
}
ALIAS_EVENT: dict[str, Any] = {
    "content": {
        "alias": "#somewhere:localhost",
        "alt_aliases": ["#somewhere:example.org", "#myroom:example.com"],
        "mixed": [1, True, None, "s", {"x": 1}, [1], 1.5],
    },
    "sender": "@example:example.org",
    "state_key": "",
    "type": "m.room.canonical_alias",
}
CTX = PushContext(ME, display_name="Alice", room_member_count=7)


def _is(key: str, value: object) -> dict[str, object]:
    return {"kind": "event_property_is", "key": key, "value": value}


def _contains(key: str, value: object) -> dict[str, object]:
    return {"kind": "event_property_contains", "key": key, "value": value}


@pytest.mark.parametrize(
    ("condition", "event", "expected"),
    [
        ({"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"},
         {"content": {"topic": "Lunch plans"}}, True),
        ({"kind": "event_match", "key": "content.topic", "pattern": "*"},
         {"content": {"topic": None}}, False),
        ({"kind": "event_match", "key": "content.topic", "pattern": "*"}, {"content": {}}, False),
        ({"kind": "event_match", "key": "content.n", "pattern": "1"},
         {"content": {"n": 1}}, False),
        ({"kind": "event_match", "key": "content.body", "pattern": "ex*ple"},
         {"content": {"body": "An example event."}}, True),
        ({"kind": "event_match", "key": "content.topic", "pattern": "ex*ple"},
         {"content": {"topic": "An example event."}}, False),
        ({"kind": "event_match", "key": "content.topic"}, {"content": {"topic": "x"}}, False),
        (_is("content.m\\.federate", True), CREATE_EVENT, True),
        (_is("content.m\\.federate", "true"), CREATE_EVENT, False),
        (_is("content.m\\.federate", 1), CREATE_EVENT, False),
        (_is("content.room_version", "1"), CREATE_EVENT, True),
        (_is("content.predecessor", {"event_id": "$something:example.org"}), CREATE_EVENT, False),
        (_is("content.missing", None), CREATE_EVENT, False),
        (_is("content.n", None), {"content": {"n": None}}, True),
        (_is("content.n", 5), {"content": {"n": 5}}, True),
        (_is("content.n", 5), {"content": {"n": 5.0}}, False),
        (_is("content.n", 2**53), {"content": {"n": 2**53}}, False),
        ({"kind": "event_property_is", "key": "content.n"}, {"content": {"n": None}}, False),
        (_contains("content.alt_aliases", "#myroom:example.com"), ALIAS_EVENT, True),
        (_contains("content.alt_aliases", ":example.com"), ALIAS_EVENT, False),
        (_contains("content.alias", "#somewhere:localhost"), ALIAS_EVENT, False),
        (_contains("content.mixed", True), ALIAS_EVENT, True),
        (_contains("content.mixed", 1), ALIAS_EVENT, True),
        (_contains("content.mixed", None), ALIAS_EVENT, True),
        (_contains("content.mixed", 1.5), ALIAS_EVENT, False),
        (_contains("content.nope", "x"), ALIAS_EVENT, False),
        ({"kind": "contains_display_name"}, {"content": {"body": "hi alice!"}}, True),
        ({"kind": "contains_display_name"}, {"content": {"body": "malice"}}, False),
        ({"kind": "contains_display_name"}, {"content": {"topic": "Alice"}}, False),
        ({"kind": "something_new", "key": "type", "pattern": "*"},
         {"type": "m.room.message"}, False),
        ({"key": "type", "pattern": "*"}, {"type": "m.room.message"}, False),
        ("event_match", {"type": "m.room.message"}, False),
    ],
)
def test_condition(condition: object, event: dict[str, Any], expected: bool) -> None:
    assert condition_matches(condition, event, CTX) is expected


def test_contains_display_name_needs_a_display_name() -> None:
    condition = {"kind": "contains_display_name"}
    event = {"content": {"body": "x"}}
    assert not condition_matches(condition, event, PushContext(ME, display_name=None))
    assert not condition_matches(condition, event, PushContext(ME, display_name=""))


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ("2", 2, True), ("2", 3, False), ("==2", 2, True), ("==2", 1, False),
        ("<10", 9, True), ("<10", 10, False), (">10", 11, True), (">10", 10, False),
        ("<=10", 10, True), ("<=10", 11, False), (">=10", 10, True), (">=10", 9, False),
        ("", 0, False), ("=2", 2, False), ("!=2", 3, False), (" 2", 2, False), ("2.0", 2, False),
        ("-1", 0, False), ("x", 0, False),
    ],
)
def test_room_member_count(spec: str, count: int, expected: bool) -> None:
    ctx = PushContext(ME, room_member_count=count)
    assert condition_matches({"kind": "room_member_count", "is": spec}, {}, ctx) is expected


def test_room_member_count_requires_string() -> None:
    ctx = PushContext(ME, room_member_count=2)
    assert not condition_matches({"kind": "room_member_count", "is": 2}, {}, ctx)


@pytest.mark.parametrize(
    ("power_levels", "sender_level", "key", "expected"),
    [
        (None, 50, "room", True),  # `notifications.room` defaults to 50
        (None, 49, "room", False),
        ({"notifications": {"room": 10}}, 10, "room", True),
        ({"notifications": {"room": 10}}, 9, "room", False),
        ({"notifications": {"room": True}}, 1, "room", False),  # not an int: default 50
        ({"notifications": {"custom": 5}}, 5, "custom", True),
        ({}, 100, "custom", False),  # no level and no spec default
        (None, float("inf"), "room", True),  # e.g. a room v12 creator
    ],
)
def test_sender_notification_permission(
    power_levels: dict[str, Any] | None, sender_level: float, key: str, expected: bool
) -> None:
    ctx = PushContext(ME, sender_power_level=sender_level, power_levels=power_levels)
    condition = {"kind": "sender_notification_permission", "key": key}
    assert condition_matches(condition, {}, ctx) is expected


def test_sender_notification_permission_callable() -> None:
    asked: list[str] = []

    def allowed(key: str) -> bool:
        asked.append(key)
        return key == "room"

    ctx = PushContext(ME, notification_permission=allowed)
    assert condition_matches({"kind": "sender_notification_permission", "key": "room"}, {}, ctx)
    assert not condition_matches({"kind": "sender_notification_permission", "key": "x"}, {}, ctx)
    assert not condition_matches({"kind": "sender_notification_permission"}, {}, ctx)
    assert asked == ["room", "x"]


def _rule(rule_id: str, **extra: Any) -> dict[str, Any]:
    return {"rule_id": rule_id, "default": False, "enabled": True, "actions": ["notify"], **extra}


def test_kind_order_and_implicit_conditions() -> None:
    event = {
        "type": "m.room.message",
        "sender": "@bob:example.org",
        "room_id": "!r:example.org",
        "content": {"body": "Cake time"},
    }
    ruleset: dict[str, Any] = {
        "override": [
            _rule("o", conditions=[{"kind": "event_match", "key": "type", "pattern": "x"}])
        ],
        "content": [_rule("c", pattern="cake")],
        "room": [_rule("!r:example.org")],
        "sender": [_rule("@bob:example.org")],
        "underride": [_rule("u", conditions=[])],
    }
    order = []
    while (match := first_match(ruleset, event, CTX)) is not None:
        kind, rule = match
        order.append((kind, rule["rule_id"]))
        ruleset[kind] = [r for r in ruleset[kind] if r is not rule]
    assert order == [
        ("content", "c"),
        ("room", "!r:example.org"),
        ("sender", "@bob:example.org"),
        ("underride", "u"),
    ]


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        ("cake", "I like CAKE", True),
        ("cake", "cupcakes", False),
        ("cake*lie", "the cake is a lie", True),
    ],
)
def test_content_rule_pattern(pattern: str, body: str, expected: bool) -> None:
    ruleset = {"content": [_rule("c", pattern=pattern)]}
    event = {"type": "m.room.message", "sender": "@b:x", "content": {"body": body}}
    assert (first_match(ruleset, event, CTX) is not None) is expected


def test_content_rule_without_body_or_pattern() -> None:
    assert first_match({"content": [_rule("c", pattern="*")]}, {"content": {}}, CTX) is None
    assert first_match({"content": [_rule("c")]}, {"content": {"body": "x"}}, CTX) is None


def test_unknown_condition_disables_rule() -> None:
    unknown = {"kind": "org.example.future"}
    ruleset = {"override": [_rule("o", conditions=[unknown])], "underride": [_rule("u")]}
    match = first_match(ruleset, {"type": "m.room.message"}, CTX)
    assert match is not None and match[1]["rule_id"] == "u"
