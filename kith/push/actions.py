"""Push-rule actions: validation, legacy stripping and their effect.

Spec: client-server-api/modules/push.md, "Actions". Defined actions are the
string `notify` and the object `{"set_tweak": name, "value": ...}`.
"Historical Actions": `dont_notify` and `coalesce` MUST be ignored, e.g. by
stripping them, so `["dont_notify"]` is equivalent to `[]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from kith.push.errors import invalid_param

NOTIFY: Final = "notify"
LEGACY_ACTIONS: Final = frozenset({"dont_notify", "coalesce"})


def strip_legacy_actions(actions: Sequence[object]) -> list[object]:
    """A copy of `actions` without the historical `dont_notify`/`coalesce`."""
    return [
        action
        for action in actions
        if not (isinstance(action, str) and action in LEGACY_ACTIONS)
    ]


def validate_actions(actions: object) -> list[object]:
    """Check an `actions` array from a client; return it with legacy actions stripped.

    Raises `PushRuleError` (400 `M_INVALID_PARAM`) for anything that is not a
    known string action or a `set_tweak` object (pushrules.yaml: items are
    strings or objects).
    """
    if not isinstance(actions, list):
        raise invalid_param("'actions' must be an array")
    checked: list[object] = []
    for action in actions:
        if isinstance(action, str):
            if action in LEGACY_ACTIONS:
                continue
            if action != NOTIFY:
                raise invalid_param(f"Unrecognised action: {action!r}")
            checked.append(action)
        elif isinstance(action, Mapping):
            if not isinstance(action.get("set_tweak"), str):
                raise invalid_param("Action objects must have a string 'set_tweak'")
            checked.append(dict(action))
        else:
            raise invalid_param("Each action must be a string or an object")
    return checked


def tweaks(actions: Sequence[object]) -> dict[str, object]:
    """The `tweaks` dictionary the actions build, later settings winning.

    push.md, "set_tweak": the value is the `value` key; a `highlight` tweak
    given without a value is defined to be `true`. Other tweaks without a value
    are passed through as `None` for the caller to interpret.
    """
    result: dict[str, object] = {}
    for action in actions:
        if not isinstance(action, Mapping):
            continue
        name = action.get("set_tweak")
        if not isinstance(name, str):
            continue
        if "value" in action:
            result[name] = action["value"]
        else:
            result[name] = True if name == "highlight" else None
    return result


def notification_effect(actions: Sequence[object]) -> tuple[bool, bool]:
    """`(notify, highlight)` for the actions of the matching rule.

    `notify` is whether the `notify` action is present (legacy actions are
    ignored, so `dont_notify` never counts). `highlight` follows push.md: a
    highlight tweak with no value means `true`, no highlight tweak means
    `false`; only a boolean `true` value counts. A highlight without `notify`
    produces no notification, so it is reported only alongside `notify`.
    """
    notify = any(isinstance(action, str) and action == NOTIFY for action in actions)
    highlight = tweaks(actions).get("highlight", False) is True
    return notify, notify and highlight
