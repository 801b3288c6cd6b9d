"""Room upgrades as a pure plan (spec: client-server-api/modules/room_upgrades.md
"Server behaviour"): the old room's state and the request -> the events of the
replacement room, and the changes to the old room afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kith.events.room_versions import RoomVersion
from kith.rooms.power_levels import creators, event_level, user_level
from kith.rooms.service import Intent
from kith.store.events import RoomSnapshot

# room_upgrades.md step 3: "the recommended state events to transfer"
# (m.room.power_levels is handled apart). The canonical alias moves with the
# local aliases (step 4).
TRANSFERRED_STATE = (
    "m.room.join_rules",
    "m.room.history_visibility",
    "m.room.guest_access",
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.encryption",
    "m.room.server_acl",
    "m.room.canonical_alias",
)
TOMBSTONE_BODY = "This room has been replaced"


def _content(snapshot: RoomSnapshot, etype: str) -> dict[str, Any] | None:
    event = snapshot.state.get((etype, ""))
    if event is None:
        return None
    content = event.get("content")
    return dict(content) if isinstance(content, Mapping) else {}


def may_upgrade(snapshot: RoomSnapshot, user_id: str) -> bool:
    """room_upgrades.md step 1: the user may send m.room.tombstone."""
    needed = event_level("m.room.tombstone", True, snapshot.state)
    return user_level(user_id, snapshot.state, snapshot.version) >= needed


def _highest_level(content: Mapping[str, Any]) -> int:
    levels = [v for v in content.values() if isinstance(v, int) and not isinstance(v, bool)]
    for key in ("events", "users"):
        value = content.get(key)
        if isinstance(value, Mapping):
            levels += [v for v in value.values() if isinstance(v, int) and not isinstance(v, bool)]
    return max([100, *levels])


def create_content(old: RoomSnapshot, upgrader: str, version: RoomVersion,
                   additional_creators: list[str]) -> dict[str, Any]:
    """room_upgrades.md step 2: `predecessor`, `room_version` and the old `type`."""
    old_create = _content(old, "m.room.create") or {}
    content: dict[str, Any] = {"room_version": version.identifier}
    predecessor: dict[str, Any] = {"room_id": old.room_id}
    # m.room.create: predecessor.event_id "SHOULD still be populated where possible".
    if old.latest_event_id:
        predecessor["event_id"] = old.latest_event_id
    content["predecessor"] = predecessor
    for key in ("type", "m.federate"):
        if key in old_create:
            content[key] = old_create[key]
    if not version.creator_is_sender:
        content["creator"] = upgrader
    if version.infinite_creator_power:
        extra = [u for u in dict.fromkeys(additional_creators) if u != upgrader]
        if extra:
            content["additional_creators"] = extra
    return content


def power_levels(old: RoomSnapshot, upgrader: str, version: RoomVersion,
                 new_creators: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(initial, final) power levels of the new room. The initial content lets
    the upgrader send every transferred event; the final one is the old room's."""
    final = _content(old, "m.room.power_levels")
    if final is None:
        final = {"users": {upgrader: 100}}
    users = dict(final.get("users") or {}) if isinstance(final.get("users"), Mapping) else {}
    if version.infinite_creator_power:
        # Rules v12 10.4: creators may not be listed in `users`; they need not be.
        for creator in new_creators:
            users.pop(creator, None)
        final["users"] = users
        return final, final
    if user_level(upgrader, old.state, old.version) == math.inf:
        # From a version 12 room: its creator had no finite level to copy.
        users[upgrader] = _highest_level(final)
    final["users"] = users
    state = {("m.room.power_levels", ""): {"content": final}}
    needed = max([event_level("m.room.power_levels", True, state)]
                 + [event_level(t, True, state) for t in TRANSFERRED_STATE])
    current = user_level(upgrader, state, version)
    if current >= needed:
        return final, final
    initial = dict(final)
    initial["users"] = {**users, upgrader: needed}
    return initial, final


def new_room_intents(old: RoomSnapshot, upgrader: str, version: RoomVersion,
                     additional_creators: list[str], profile: Mapping[str, Any]) -> list[Intent]:
    """The replacement room's events, create event first."""
    create = create_content(old, upgrader, version, additional_creators)
    new_creators = {upgrader, *create.get("additional_creators", [])}
    initial_pl, final_pl = power_levels(old, upgrader, version, new_creators)
    join: dict[str, Any] = {"membership": "join"}
    join.update({k: v for k, v in profile.items() if v is not None})
    intents = [
        Intent(upgrader, "m.room.create", create, ""),
        Intent(upgrader, "m.room.member", join, upgrader),
        Intent(upgrader, "m.room.power_levels", initial_pl, ""),
    ]
    for etype in TRANSFERRED_STATE:
        content = _content(old, etype)
        # An encryption event without an algorithm (redacted in an older
        # server's room) would only confuse clients; a room never loses
        # encryption through an upgrade either way.
        if content is not None and (etype != "m.room.encryption" or content.get("algorithm")):
            intents.append(Intent(upgrader, etype, content, ""))
    if final_pl != initial_pl:
        intents.append(Intent(upgrader, "m.room.power_levels", final_pl, ""))
    return intents


def restricted_old_power_levels(old: RoomSnapshot) -> dict[str, Any] | None:
    """room_upgrades.md step 6: raise `events_default` and `invite` to the greater
    of 50 and users_default + 1; None when they are already that high."""
    content = _content(old, "m.room.power_levels")
    if content is None:
        return None
    users_default = content.get("users_default", 0)
    floor = max(50, (users_default if isinstance(users_default, int) else 0) + 1)
    changed = False
    for key, default in (("events_default", 0), ("invite", 0)):
        value = content.get(key, default)
        if not isinstance(value, int) or value < floor:
            content[key] = floor
            changed = True
    return content if changed else None


def tombstone(upgrader: str, replacement_room: str) -> Intent:
    """room_upgrades.md step 5."""
    return Intent(upgrader, "m.room.tombstone",
                  {"body": TOMBSTONE_BODY, "replacement_room": replacement_room}, "")
