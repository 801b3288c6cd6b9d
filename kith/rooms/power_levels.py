"""Typed reads of `m.room.power_levels` and the room creators.

Defaults follow the `m.room.power_levels` schema description
(data/event-schemas/schema/m.room.power_levels.yaml) and the server-server
definitions of *invite level*, *kick level*, *ban level* and *redact level*:

* users_default 0; with no power levels event at all the room creator has
  100 and everyone else 0 (versions 10 and 11).
* Version 12: every room creator has an infinitely high level, with or
  without a power levels event; everyone else follows the rules above.
* state_default 50, events_default 0, invite 0, kick/ban/redact 50,
  notifications.room 50.

Values are read defensively: a value that is not a canonical JSON integer is
treated as absent. In versions 10+ such a power levels event can never pass
the authorisation rules (see `validate_power_levels_content`), so this only
matters for state assembled from untrusted sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_common import (
    CREATE,
    POWER_LEVELS,
    StateMap,
    content_of,
    is_json_int,
    is_valid_user_id,
    numbered,
)
from kith.rooms.errors import AuthError

Action = Literal["invite", "kick", "ban", "redact"]

_ACTION_DEFAULTS: dict[str, int] = {"invite": 0, "kick": 50, "ban": 50, "redact": 50}
_NOTIFICATION_DEFAULT = 50
_STATE_DEFAULT = 50
_EVENTS_DEFAULT = 0
_USERS_DEFAULT = 0
# Versions 10 and 11, no power levels event: the creator's level.
_CREATOR_DEFAULT = 100

# Top-level properties that must be integers (rule 9.1 [v12: 10.1]).
LEVEL_KEYS: tuple[str, ...] = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)
# Properties that must map strings to integers (rule 9.2 [v12: 10.2]).
MAP_KEYS: tuple[str, ...] = ("events", "notifications")


def _int_or(value: object, default: int) -> int:
    return value if is_json_int(value) else default


def _power_content(state: StateMap) -> Mapping[str, Any] | None:
    event = state.get(POWER_LEVELS)
    return None if event is None else content_of(event)


def creators(state: StateMap, version: RoomVersion) -> frozenset[str]:
    """The room creators according to the `m.room.create` event in `state`.

    * Version 10: `content.creator`.
    * Version 11: the `sender` of the create event.
    * Version 12 (rooms/v12.md, "room creators"): the `sender` plus every
      entry of `content.additional_creators`, if present.

    Empty if the state has no create event.
    """
    create = state.get(CREATE)
    if create is None:
        return frozenset()
    content = content_of(create)
    found: set[str] = set()
    if version.creator_is_sender:
        sender = create.get("sender")
        if isinstance(sender, str):
            found.add(sender)
    else:
        creator = content.get("creator")
        if isinstance(creator, str):
            found.add(creator)
    if version.infinite_creator_power:
        extra = content.get("additional_creators")
        if isinstance(extra, list):
            found.update(u for u in extra if isinstance(u, str))
    return frozenset(found)


def user_level(user_id: str, state: StateMap, version: RoomVersion) -> int | float:
    """The power level of `user_id` in `state`.

    Version 12 creators get `math.inf`. Otherwise `users[user_id]`, else
    `users_default` (0). Without a power levels event (versions 10 and 11)
    the creator has 100 and everyone else 0.
    """
    room_creators = creators(state, version)
    if version.infinite_creator_power and user_id in room_creators:
        return math.inf
    content = _power_content(state)
    if content is None:
        if not version.infinite_creator_power and user_id in room_creators:
            return _CREATOR_DEFAULT
        return _USERS_DEFAULT
    default = _int_or(content.get("users_default"), _USERS_DEFAULT)
    users = content.get("users")
    if isinstance(users, Mapping):
        return _int_or(users.get(user_id), default)
    return default


def event_level(event_type: str, state_key_present: bool, state: StateMap) -> int:
    """The *required power level* to send an event of `event_type`.

    `events[event_type]` if set, otherwise `state_default` (50) for state
    events and `events_default` (0) for everything else.
    """
    content = _power_content(state) or {}
    if state_key_present:
        default = _int_or(content.get("state_default"), _STATE_DEFAULT)
    else:
        default = _int_or(content.get("events_default"), _EVENTS_DEFAULT)
    events = content.get("events")
    if isinstance(events, Mapping):
        return _int_or(events.get(event_type), default)
    return default


def action_level(action: Action, state: StateMap) -> int:
    """The *invite*, *kick*, *ban* or *redact* level (defaults 0/50/50/50)."""
    content = _power_content(state) or {}
    return _int_or(content.get(action), _ACTION_DEFAULTS[action])


def notification_level(key: str, state: StateMap) -> int:
    """The level needed to trigger notification `key` (e.g. "room").

    The schema gives a default only for "room" (50); other keys default to
    the same 50 so an unknown notification type is never easier to trigger.
    """
    content = _power_content(state) or {}
    notifications = content.get("notifications")
    if isinstance(notifications, Mapping):
        return _int_or(notifications.get(key), _NOTIFICATION_DEFAULT)
    return _NOTIFICATION_DEFAULT


def validate_power_levels_content(content: Mapping[str, Any], version: RoomVersion) -> None:
    """Shape checks on new `m.room.power_levels` content (rules 9.1-9.3).

    Raises AuthError numbered for `version` (10.1-10.3 in version 12). These
    rules were added in version 10: string values such as "50" are rejected.
    """
    # Rule 9.1 [v12: 10.1]: If any of the properties users_default,
    # events_default, state_default, ban, redact, kick, or invite in content
    # are present and not an integer, reject.
    for key in LEVEL_KEYS:
        if key in content and not is_json_int(content[key]):
            raise AuthError(numbered(version, "9.1", "10.1"), f"power level {key!r} is not an integer")
    # Rule 9.2 [v12: 10.2]: If either of the properties events or
    # notifications in content are present and not an object with values that
    # are integers, reject.
    for key in MAP_KEYS:
        if key not in content:
            continue
        value = content[key]
        if not isinstance(value, Mapping) or not all(is_json_int(v) for v in value.values()):
            raise AuthError(
                numbered(version, "9.2", "10.2"), f"power levels {key!r} is not an object of integers"
            )
    # Rule 9.3 [v12: 10.3]: If the users property in content is not an object
    # with keys that are valid user IDs with values that are integers, reject.
    # (Like 9.1 and 9.2, an absent `users` property is accepted.)
    if "users" in content:
        users = content["users"]
        if not isinstance(users, Mapping) or not all(
            is_valid_user_id(k) and is_json_int(v) for k, v in users.items()
        ):
            raise AuthError(
                numbered(version, "9.3", "10.3"),
                "power levels 'users' is not an object of user IDs to integers",
            )
