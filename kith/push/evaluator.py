"""Evaluate a client-format event against a user's effective push rules.

Spec: client-server-api/modules/push.md, "Push Rules" (kinds checked in the
order override, content, room, sender, underride; the first enabled rule that
matches decides; disabled rules never match), "Conditions" (every condition
must hold; unrecognised conditions never match) and "Actions".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from kith.push.actions import notification_effect, strip_legacy_actions, tweaks
from kith.push.matching import (
    MISSING,
    glob_matches,
    glob_matches_words,
    literal_matches_words,
    lookup_property,
)
from kith.push.types import RULE_KINDS

# push.md, `event_property_is`: integers are supported in the canonical JSON
# range [-(2**53)+1, (2**53)-1].
_MAX_SAFE_INT: Final = 2**53 - 1
# push.md, `room_member_count`: an integer optionally prefixed by ==, <, >,
# >= or <=; no prefix means ==.
_MEMBER_COUNT_RE: Final = re.compile(r"(==|<=|>=|<|>)?([0-9]+)")
# m.room.power_levels schema: `notifications.room` defaults to 50.
_DEFAULT_NOTIFICATION_LEVELS: Final[Mapping[str, int]] = {"room": 50}


@dataclass(frozen=True, slots=True)
class PushContext:
    """Facts about the recipient and the room that conditions need.

    `power_levels` is the content of the room's `m.room.power_levels` event
    (None when the room has none) and `sender_power_level` the sender's level
    in it, computed by the caller (a float so that room v12 creators can be
    given `math.inf`). `notification_permission`, when set, replaces both: it
    is asked whether the sender may trigger the given notification `key`.
    """

    user_id: str
    display_name: str | None = None
    room_member_count: int = 0
    sender_power_level: int | float = 0
    power_levels: Mapping[str, object] | None = None
    notification_permission: Callable[[str], bool] | None = None


def _is_canonical_scalar(value: object) -> bool:
    if value is None or isinstance(value, (bool, str)):
        return True
    return isinstance(value, int) and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT


def _same_scalar(left: object, right: object) -> bool:
    # Exact match without casting: `true` is not `1`, `"1"` is not `1`.
    return (
        _is_canonical_scalar(left)
        and _is_canonical_scalar(right)
        and type(left) is type(right)
        and left == right
    )


def _event_match(condition: Mapping[str, object], event: Mapping[str, object]) -> bool:
    key = condition.get("key")
    pattern = condition.get("pattern")
    if not isinstance(key, str) or not isinstance(pattern, str):
        return False
    value = lookup_property(event, key)
    # Absent or non-string values never match, even for the pattern `*`.
    if not isinstance(value, str):
        return False
    if key == "content.body":
        return glob_matches_words(pattern, value)
    return glob_matches(pattern, value)


def _event_property_is(condition: Mapping[str, object], event: Mapping[str, object]) -> bool:
    key = condition.get("key")
    if not isinstance(key, str) or "value" not in condition:
        return False
    value = lookup_property(event, key)
    return value is not MISSING and _same_scalar(value, condition["value"])


def _event_property_contains(
    condition: Mapping[str, object], event: Mapping[str, object]
) -> bool:
    key = condition.get("key")
    if not isinstance(key, str) or "value" not in condition:
        return False
    values = lookup_property(event, key)
    if not isinstance(values, list):
        return False
    wanted = condition["value"]
    # Array items of unsupported types are ignored by `_same_scalar`.
    return any(_same_scalar(item, wanted) for item in values)


def _contains_display_name(event: Mapping[str, object], ctx: PushContext) -> bool:
    # Deprecated since v1.17 but still defined: the recipient's display name
    # appears in `content.body` on word boundaries.
    if not ctx.display_name:
        return False
    body = lookup_property(event, "content.body")
    return isinstance(body, str) and literal_matches_words(ctx.display_name, body)


def _room_member_count(condition: Mapping[str, object], ctx: PushContext) -> bool:
    spec = condition.get("is")
    if not isinstance(spec, str):
        return False
    parsed = _MEMBER_COUNT_RE.fullmatch(spec)
    if parsed is None:
        return False
    operator, number = parsed.group(1) or "==", int(parsed.group(2))
    count = ctx.room_member_count
    if operator == "==":
        return count == number
    if operator == "<":
        return count < number
    if operator == ">":
        return count > number
    if operator == "<=":
        return count <= number
    return count >= number


def _required_notification_level(
    key: str, power_levels: Mapping[str, object] | None
) -> int | None:
    notifications = power_levels.get("notifications") if power_levels is not None else None
    if isinstance(notifications, Mapping):
        level = notifications.get(key)
        if isinstance(level, int) and not isinstance(level, bool):
            return level
    # Keys other than `room` have no spec default, so nobody reaches them.
    return _DEFAULT_NOTIFICATION_LEVELS.get(key)


def _sender_notification_permission(condition: Mapping[str, object], ctx: PushContext) -> bool:
    # push.md: `key` names an entry of `notifications` in the power levels.
    key = condition.get("key")
    if not isinstance(key, str):
        return False
    if ctx.notification_permission is not None:
        return ctx.notification_permission(key)
    required = _required_notification_level(key, ctx.power_levels)
    return required is not None and ctx.sender_power_level >= required


def condition_matches(
    condition: object, event: Mapping[str, object], ctx: PushContext
) -> bool:
    """Whether one push condition holds; unknown or malformed ones never do."""
    if not isinstance(condition, Mapping):
        return False
    kind = condition.get("kind")
    if kind == "event_match":
        return _event_match(condition, event)
    if kind == "event_property_is":
        return _event_property_is(condition, event)
    if kind == "event_property_contains":
        return _event_property_contains(condition, event)
    if kind == "contains_display_name":
        return _contains_display_name(event, ctx)
    if kind == "room_member_count":
        return _room_member_count(condition, ctx)
    if kind == "sender_notification_permission":
        return _sender_notification_permission(condition, ctx)
    return False


def rule_matches(
    kind: str, rule: Mapping[str, object], event: Mapping[str, object], ctx: PushContext
) -> bool:
    """Whether an enabled `rule` of `kind` matches `event`."""
    if rule.get("enabled", True) is False:
        return False
    if kind in ("override", "underride"):
        conditions = rule.get("conditions", [])
        if not isinstance(conditions, list):
            return False
        return all(condition_matches(c, event, ctx) for c in conditions)
    if kind == "content":
        # push.md: content rules glob `pattern` over `content.body` words.
        pattern = rule.get("pattern")
        body = lookup_property(event, "content.body")
        if not isinstance(pattern, str) or not isinstance(body, str):
            return False
        return glob_matches_words(pattern, body)
    if kind == "room":
        # push.md: a room rule's `rule_id` is the room it affects.
        return event.get("room_id") == rule.get("rule_id")
    if kind == "sender":
        # push.md: a sender rule's `rule_id` is the sender's user ID.
        return event.get("sender") == rule.get("rule_id")
    return False


def first_match(
    ruleset_global: Mapping[str, object], event: Mapping[str, object], ctx: PushContext
) -> tuple[str, Mapping[str, object]] | None:
    """The `(kind, rule)` of the highest-priority enabled matching rule."""
    for kind in RULE_KINDS:
        rules = ruleset_global.get(kind)
        if not isinstance(rules, list):
            continue
        for rule in rules:
            if isinstance(rule, Mapping) and rule_matches(kind, rule, event, ctx):
                return kind, rule
    return None


def evaluate(
    ruleset_global: Mapping[str, object], event: Mapping[str, object], ctx: PushContext
) -> list[object]:
    """The actions for `event` under the `global` ruleset, legacy ones stripped.

    Returns `[]` when no rule matches (push.md: no notification then) and for
    the recipient's own events, which MUST NOT notify them.
    """
    if event.get("sender") == ctx.user_id:
        return []
    match = first_match(ruleset_global, event, ctx)
    if match is None:
        return []
    actions = match[1].get("actions")
    if not isinstance(actions, Sequence) or isinstance(actions, str):
        return []
    return strip_legacy_actions(actions)


__all__ = [
    "PushContext",
    "condition_matches",
    "evaluate",
    "first_match",
    "notification_effect",
    "rule_matches",
    "tweaks",
]
