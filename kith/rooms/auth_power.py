"""`m.room.power_levels` authorisation: rule 9 in versions 10 and 11, rule 10
in version 12.

Version 12 inserts rule 10.4 (creators may not be listed in `users`), so
sub-rules from 9.4 on are one higher there: 9.4 is 10.5, ..., 9.10 is 10.11.
(The v12 spec source writes its last two items both as "10."; rendered, they
are 10.10 and 10.11, and those are the numbers used here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from kith.events.room_versions import RoomVersion
from kith.rooms.auth_common import POWER_LEVELS, Event, StateMap, content_of, is_json_int
from kith.rooms.errors import AuthError
from kith.rooms.power_levels import (
    LEVEL_KEYS,
    MAP_KEYS,
    creators,
    user_level,
    validate_power_levels_content,
)


def _reject(version: RoomVersion, v10_sub: int, tail: str, reason: str) -> NoReturn:
    """Reject under rule 9.<v10_sub><tail>, renumbered for version 12."""
    if version.infinite_creator_power:
        number = f"10.{v10_sub + 1 if v10_sub >= 4 else v10_sub}{tail}"
    else:
        number = f"9.{v10_sub}{tail}"
    raise AuthError(number, reason)


def _levels(value: object) -> dict[str, int]:
    """A validated `events`/`notifications`/`users` map; {} if absent."""
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and is_json_int(v)}


def _level(content: Mapping[str, Any], key: str) -> int | None:
    value = content.get(key)
    return value if is_json_int(value) else None


def check_power_levels_event(event: Event, state: StateMap, version: RoomVersion) -> None:
    """Apply rule 9 [v12: 10] to an `m.room.power_levels` event."""
    sender: str = event["sender"]
    new = content_of(event)
    # Rules 9.1-9.3 [v12: 10.1-10.3]: shape of the new content.
    validate_power_levels_content(new, version)
    new_users = _levels(new.get("users"))
    # Rule 10.4 (v12 only): If the users property in content contains the
    # sender of the m.room.create event or any of the additional_creators
    # array (if present) from the content of the m.room.create event, reject.
    if version.infinite_creator_power:
        listed = sorted(creators(state, version).intersection(new_users))
        if listed:
            raise AuthError("10.4", f"room creators cannot be listed in users: {listed}")
    # Rule 9.4 [v12: 10.5]: If there is no previous m.room.power_levels event
    # in the room, allow.
    previous = state.get(POWER_LEVELS)
    if previous is None:
        return
    old = content_of(previous)
    sender_level = user_level(sender, state, version)

    # Rule 9.5 [v12: 10.6]: For the properties users_default, events_default,
    # state_default, ban, redact, kick, invite check if they were added,
    # changed or removed. For each found alteration:
    for key in LEVEL_KEYS:
        old_value, new_value = _level(old, key), _level(new, key)
        if old_value == new_value:
            continue
        # Rule 9.5.1 [v12: 10.6.1]: If the current value is higher than the
        # sender's current power level, reject.
        if old_value is not None and old_value > sender_level:
            _reject(version, 5, ".1", f"cannot change {key!r} from above your own level")
        # Rule 9.5.2 [v12: 10.6.2]: If the new value is higher than the
        # sender's current power level, reject.
        if new_value is not None and new_value > sender_level:
            _reject(version, 5, ".2", f"cannot set {key!r} above your own level")

    maps = [(key, _levels(old.get(key)), _levels(new.get(key))) for key in MAP_KEYS]
    # Rule 9.6 [v12: 10.7]: For each entry being changed in, or removed from,
    # the events or notifications properties:
    for key, old_map, new_map in maps:
        for name, old_value in old_map.items():
            if new_map.get(name) != old_value:
                # Rule 9.6.1 [v12: 10.7.1]: If the current value is greater
                # than the sender's current power level, reject.
                if old_value > sender_level:
                    _reject(version, 6, ".1", f"cannot change {key}[{name!r}] from above your level")
    # Rule 9.7 [v12: 10.8]: For each entry being added to, or changed in, the
    # events or notifications properties:
    for key, old_map, new_map in maps:
        for name, new_value in new_map.items():
            if old_map.get(name) != new_value:
                # Rule 9.7.1 [v12: 10.8.1]: If the new value is greater than
                # the sender's current power level, reject.
                if new_value > sender_level:
                    _reject(version, 7, ".1", f"cannot set {key}[{name!r}] above your level")

    old_users = _levels(old.get("users"))
    # Rule 9.8 [v12: 10.9]: For each entry being changed in, or removed from,
    # the users property, other than the sender's own entry:
    for user, old_value in old_users.items():
        if user != sender and new_users.get(user) != old_value:
            # Rule 9.8.1 [v12: 10.9.1]: If the current value is greater than
            # or equal to the sender's current power level, reject.
            if old_value >= sender_level:
                _reject(version, 8, ".1", f"cannot change the level of {user}, who is not below you")
    # Rule 9.9 [v12: 10.10]: For each entry being added to, or changed in, the
    # users property:
    for user, new_value in new_users.items():
        if old_users.get(user) != new_value:
            # Rule 9.9.1 [v12: 10.10.1]: If the new value is greater than the
            # sender's current power level, reject.
            if new_value > sender_level:
                _reject(version, 9, ".1", f"cannot raise {user} above your own level")
    # Rule 9.10 [v12: 10.11]: Otherwise, allow.
