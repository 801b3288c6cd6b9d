"""Evaluating events against the default rule set: push.md's descriptions.

Each case names the rule push.md says should decide, and the resulting
`(notify, highlight)` from `notification_effect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kith.push.evaluator import PushContext, evaluate, first_match, notification_effect
from kith.push.ruleset import effective_ruleset, set_enabled

ME = "@alice:example.org"
OTHER = "@bob:example.org"
ROOM = "!room:example.org"


def message(
    body: str = "hello",
    *,
    sender: str = OTHER,
    msgtype: str = "m.text",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": sender,
        "room_id": ROOM,
        "event_id": "$e",
        "content": {"msgtype": msgtype, "body": body, **(extra or {})},
    }


def state(event_type: str, state_key: str, **content: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "sender": OTHER,
        "room_id": ROOM,
        "event_id": "$s",
        "state_key": state_key,
        "content": content,
    }


@dataclass
class Case:
    name: str
    event: dict[str, Any]
    rule_id: str | None
    effect: tuple[bool, bool]
    members: int = 5
    sender_level: int = 0
    power_levels: dict[str, Any] | None = None
    display_name: str | None = "Alice"
    stored: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("group message", message(), ".m.rule.message", (True, False)),
    Case("one-to-one message", message(), ".m.rule.room_one_to_one", (True, False), members=2),
    Case(
        "encrypted one-to-one",
        {"type": "m.room.encrypted", "sender": OTHER, "room_id": ROOM, "content": {}},
        ".m.rule.encrypted_room_one_to_one",
        (True, False),
        members=2,
    ),
    Case(
        "encrypted group",
        {"type": "m.room.encrypted", "sender": OTHER, "room_id": ROOM, "content": {}},
        ".m.rule.encrypted",
        (True, False),
    ),
    Case(
        "notice suppressed",
        message(msgtype="m.notice"),
        ".m.rule.suppress_notices",
        (False, False),
    ),
    Case(
        "notice suppressed even in one-to-one",
        message(msgtype="m.notice"),
        ".m.rule.suppress_notices",
        (False, False),
        members=2,
    ),
    Case(
        "user mention",
        message(extra={"m.mentions": {"user_ids": [ME]}}),
        ".m.rule.is_user_mention",
        (True, True),
    ),
    Case(
        "mention of someone else",
        message(extra={"m.mentions": {"user_ids": [OTHER]}}),
        ".m.rule.message",
        (True, False),
    ),
    Case(
        "user_ids not an array",
        message(extra={"m.mentions": {"user_ids": ME}}),
        ".m.rule.message",
        (True, False),
    ),
    Case(
        "display name in body no longer highlights (v1.17)",
        message("hey Alice, lunch?"),
        ".m.rule.message",
        (True, False),
    ),
    Case(
        "room mention by a moderator",
        message("@room", extra={"m.mentions": {"room": True}}),
        ".m.rule.is_room_mention",
        (True, True),
        sender_level=50,
    ),
    Case(
        "room mention without power",
        message("@room", extra={"m.mentions": {"room": True}}),
        ".m.rule.message",
        (True, False),
    ),
    Case(
        "room mention with lowered notifications.room",
        message(extra={"m.mentions": {"room": True}}),
        ".m.rule.is_room_mention",
        (True, True),
        power_levels={"notifications": {"room": 0}},
    ),
    Case(
        "room mention needs boolean true",
        message(extra={"m.mentions": {"room": "true"}}),
        ".m.rule.message",
        (True, False),
        sender_level=100,
    ),
    Case(
        "body @room without m.mentions no longer highlights (v1.17)",
        message("@room hello"),
        ".m.rule.message",
        (True, False),
        sender_level=100,
    ),
    Case(
        "edit suppressed",
        message("* fixed", extra={"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}),
        ".m.rule.suppress_edits",
        (False, False),
    ),
    Case(
        "edit that mentions me still highlights (rule order)",
        message(
            "* hi",
            extra={
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"},
                "m.mentions": {"user_ids": [ME]},
            },
        ),
        ".m.rule.is_user_mention",
        (True, True),
    ),
    Case(
        "reply is not an edit",
        message("re", extra={"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}),
        ".m.rule.message",
        (True, False),
    ),
    Case(
        "reaction suppressed",
        {"type": "m.reaction", "sender": OTHER, "room_id": ROOM, "content": {}},
        ".m.rule.reaction",
        (False, False),
    ),
    Case(
        "invite for me",
        state("m.room.member", ME, membership="invite"),
        ".m.rule.invite_for_me",
        (True, False),
    ),
    Case(
        "someone else's invite",
        state("m.room.member", "@carol:example.org", membership="invite"),
        ".m.rule.member_event",
        (False, False),
    ),
    Case(
        "join",
        state("m.room.member", OTHER, membership="join"),
        ".m.rule.member_event",
        (False, False),
    ),
    Case(
        "tombstone",
        state("m.room.tombstone", "", replacement_room="!new:example.org"),
        ".m.rule.tombstone",
        (True, True),
    ),
    Case(
        "tombstone-typed non-state event",
        {"type": "m.room.tombstone", "sender": OTHER, "room_id": ROOM, "content": {}},
        None,
        (False, False),
    ),
    Case(
        "server ACL",
        state("m.room.server_acl", "", allow=["*"]),
        ".m.rule.room.server_acl",
        (False, False),
    ),
    Case(
        "call invite",
        {"type": "m.call.invite", "sender": OTHER, "room_id": ROOM, "content": {}},
        ".m.rule.call",
        (True, False),
    ),
    Case("topic matches nothing", state("m.room.topic", "", topic="x"), None, (False, False)),
    Case(
        "master rule enabled silences a mention",
        message(extra={"m.mentions": {"user_ids": [ME]}}),
        ".m.rule.master",
        (False, False),
        stored=set_enabled({}, "override", ".m.rule.master", True),
    ),
    Case(
        "disabled default rule falls through",
        message(msgtype="m.notice"),
        ".m.rule.message",
        (True, False),
        stored=set_enabled({}, "override", ".m.rule.suppress_notices", False),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_default_rules(case: Case) -> None:
    ruleset = effective_ruleset(ME, case.stored)
    ctx = PushContext(
        user_id=ME,
        display_name=case.display_name,
        room_member_count=case.members,
        sender_power_level=case.sender_level,
        power_levels=case.power_levels,
    )
    match = first_match(ruleset, case.event, ctx)
    assert (match[1]["rule_id"] if match else None) == case.rule_id
    assert notification_effect(evaluate(ruleset, case.event, ctx)) == case.effect


def test_own_events_never_notify() -> None:
    ruleset = effective_ruleset(ME, {})
    event = message(sender=ME, extra={"m.mentions": {"user_ids": [ME]}})
    assert evaluate(ruleset, event, PushContext(ME)) == []


def test_actions_of_the_matching_rule_are_returned() -> None:
    ruleset = effective_ruleset(ME, {})
    actions = evaluate(ruleset, message(), PushContext(ME, room_member_count=2))
    assert actions == ["notify", {"set_tweak": "sound", "value": "default"}]


@pytest.mark.parametrize(
    ("actions", "effect"),
    [
        ([], (False, False)),
        (["notify"], (True, False)),
        (["notify", {"set_tweak": "highlight"}], (True, True)),
        (["notify", {"set_tweak": "highlight", "value": True}], (True, True)),
        (["notify", {"set_tweak": "highlight", "value": False}], (True, False)),
        (["notify", {"set_tweak": "highlight", "value": "yes"}], (True, False)),
        (
            ["notify", {"set_tweak": "highlight"}, {"set_tweak": "highlight", "value": False}],
            (True, False),
        ),
        (["notify", {"set_tweak": "sound", "value": "default"}], (True, False)),
        ([{"set_tweak": "highlight"}], (False, False)),
        (["dont_notify"], (False, False)),
        (["coalesce"], (False, False)),
        (["dont_notify", "notify"], (True, False)),
        (["unknown_action", "notify"], (True, False)),
    ],
)
def test_notification_effect(actions: list[object], effect: tuple[bool, bool]) -> None:
    assert notification_effect(actions) == effect


def test_legacy_actions_are_stripped_from_results() -> None:
    rule = {"rule_id": "x", "enabled": True, "conditions": [], "actions": ["dont_notify"]}
    ruleset = {"override": [rule]}
    assert evaluate(ruleset, message(), PushContext(ME)) == []
