"""The server-default ("predefined") push rules.

Spec: client-server-api/modules/push.md, "Predefined Rules" (v1.17 removed the
legacy rules that looked for mentions in `body`, so there are no default
`content` rules and no `.m.rule.contains_display_name` / `.m.rule.roomnotif`).
The lists below follow the spec's order within each kind; the places where the
spec writes "[the user's Matrix ID]" receive `user_id`.
"""

from __future__ import annotations

from kith.push.types import JsonDict, RULE_KINDS

_SOUND_DEFAULT: JsonDict = {"set_tweak": "sound", "value": "default"}
_SOUND_RING: JsonDict = {"set_tweak": "sound", "value": "ring"}
# push.md, "set_tweak": a highlight tweak with no value means `true`.
_HIGHLIGHT: JsonDict = {"set_tweak": "highlight"}


def _match(key: str, pattern: str) -> JsonDict:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _prop_is(key: str, value: object) -> JsonDict:
    return {"kind": "event_property_is", "key": key, "value": value}


def _rule(
    rule_id: str, conditions: list[JsonDict], actions: list[object], *, enabled: bool = True
) -> JsonDict:
    return {
        "rule_id": rule_id,
        "default": True,
        "enabled": enabled,
        "conditions": conditions,
        "actions": actions,
    }


def _override_rules(user_id: str) -> list[JsonDict]:
    return [
        # Matches everything; disabled until the user wants silence.
        _rule(".m.rule.master", [], [], enabled=False),
        _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
        _rule(
            ".m.rule.invite_for_me",
            [
                _match("type", "m.room.member"),
                _match("content.membership", "invite"),
                _match("state_key", user_id),
            ],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
        # Added in v1.7: intentional mentions via `m.mentions`.
        _rule(
            ".m.rule.is_user_mention",
            [
                {
                    "kind": "event_property_contains",
                    "key": "content.m\\.mentions.user_ids",
                    "value": user_id,
                }
            ],
            ["notify", dict(_SOUND_DEFAULT), dict(_HIGHLIGHT)],
        ),
        _rule(
            ".m.rule.is_room_mention",
            [
                _prop_is("content.m\\.mentions.room", True),
                {"kind": "sender_notification_permission", "key": "room"},
            ],
            ["notify", dict(_HIGHLIGHT)],
        ),
        _rule(
            ".m.rule.tombstone",
            [_match("type", "m.room.tombstone"), _match("state_key", "")],
            ["notify", dict(_HIGHLIGHT)],
        ),
        _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
        _rule(
            ".m.rule.room.server_acl",
            [_match("type", "m.room.server_acl"), _match("state_key", "")],
            [],
        ),
        # Added in v1.9: edits (`m.replace` relations) never notify.
        _rule(
            ".m.rule.suppress_edits",
            [_prop_is("content.m\\.relates_to.rel_type", "m.replace")],
            [],
        ),
    ]


def _underride_rules() -> list[JsonDict]:
    one_to_one: JsonDict = {"kind": "room_member_count", "is": "2"}
    return [
        _rule(".m.rule.call", [_match("type", "m.call.invite")], ["notify", dict(_SOUND_RING)]),
        _rule(
            ".m.rule.encrypted_room_one_to_one",
            [dict(one_to_one), _match("type", "m.room.encrypted")],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(
            ".m.rule.room_one_to_one",
            [dict(one_to_one), _match("type", "m.room.message")],
            ["notify", dict(_SOUND_DEFAULT)],
        ),
        _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
        _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
    ]


def default_rules(user_id: str) -> dict[str, list[JsonDict]]:
    """The predefined rules for `user_id`, keyed by kind in checking order.

    Every call builds fresh objects, so callers may mutate the result.
    """
    rules: dict[str, list[JsonDict]] = {kind: [] for kind in RULE_KINDS}
    rules["override"] = _override_rules(user_id)
    rules["underride"] = _underride_rules()
    return rules


# The IDs do not depend on the user, so any placeholder user ID will do.
_DEFAULT_RULE_IDS: dict[str, tuple[str, ...]] = {
    kind: tuple(rule["rule_id"] for rule in rules)
    for kind, rules in default_rules("@_:_").items()
}


def default_rule_ids() -> dict[str, tuple[str, ...]]:
    """The rule IDs of the predefined rules, keyed by kind, in spec order."""
    return dict(_DEFAULT_RULE_IDS)
