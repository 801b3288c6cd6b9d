"""Builders for authorisation tests: a room's state for a given room version,
and events to check against it, so test tables read like the spec.

A `Room` starts as: create event by ALICE, ALICE joined, power levels,
join rules. In versions 10 and 11 ALICE is listed with 100 in `users`; in
version 12 she is a creator (infinite power) and may not be listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kith.events.room_versions import V10, V11, V12, RoomVersion
from kith.rooms.auth_rules import check_auth
from kith.rooms.errors import AuthError

VERSIONS = (V10, V11, V12)
ALICE = "@alice:a.example"  # the creator
BOB = "@bob:b.example"
CAROL = "@carol:c.example"
DAVE = "@dave:d.example"
V12_CREATE_ID = "$v12createhash"

Event = dict[str, Any]


def version_id(version: RoomVersion) -> str:
    return f"v{version.identifier}"


def create_event(version: RoomVersion, sender: str = ALICE, **content: Any) -> Event:
    """An m.room.create event as the version's event format has it."""
    body: dict[str, Any] = {"room_version": version.identifier, **content}
    if not version.creator_is_sender:
        body.setdefault("creator", sender)
    event: Event = {
        "type": "m.room.create",
        "state_key": "",
        "sender": sender,
        "content": body,
        "prev_events": [],
        "auth_events": [],
        "depth": 1,
    }
    if not version.room_id_from_create:
        event["room_id"] = "!room:" + sender.split(":", 1)[1]
    return event


@dataclass
class Room:
    version: RoomVersion
    state: dict[tuple[str, str], Event]
    room_id: str

    def event(
        self,
        event_type: str,
        sender: str,
        content: dict[str, Any] | None = None,
        state_key: str | None = None,
        **extra: Any,
    ) -> Event:
        event: Event = {
            "type": event_type,
            "sender": sender,
            "room_id": self.room_id,
            "content": content or {},
            "prev_events": ["$previous"],
            "auth_events": [],
            "depth": 10,
            **extra,
        }
        if state_key is not None:
            event["state_key"] = state_key
        return event

    def member(
        self, target: str, membership: str, sender: str | None = None, **content: Any
    ) -> Event:
        return self.event(
            "m.room.member", sender or target, {"membership": membership, **content}, target
        )

    def power_levels(self, sender: str = ALICE, **content: Any) -> Event:
        return self.event("m.room.power_levels", sender, content, "")

    def apply(self, *events: Event) -> Room:
        """Add state events (unchecked) and return the room."""
        for event in events:
            self.state[(event["type"], event["state_key"])] = event
        return self

    def set_membership(self, target: str, membership: str, sender: str = ALICE) -> Room:
        return self.apply(self.member(target, membership, sender))

    def levels(self) -> dict[str, Any]:
        content: dict[str, Any] = self.state[("m.room.power_levels", "")]["content"]
        return content

    def check(self, event: Event, **kwargs: Any) -> None:
        check_auth(event, self.state, self.version, **kwargs)

    def rejected_by(self, event: Event, **kwargs: Any) -> str | None:
        """None if allowed, otherwise the rule number that rejected it."""
        try:
            self.check(event, **kwargs)
        except AuthError as error:
            return error.rule
        return None


def default_power_levels(version: RoomVersion, users: dict[str, int] | None = None) -> dict[str, Any]:
    listed = {} if version.infinite_creator_power else {ALICE: 100}
    listed.update(users or {})
    return {
        "users": listed,
        "users_default": 0,
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "events": {"m.room.name": 50, "m.room.power_levels": 100},
        "notifications": {"room": 50},
    }


def make_room(
    version: RoomVersion,
    join_rule: str | None = "invite",
    users: dict[str, int] | None = None,
    power_levels: bool = True,
    create_content: dict[str, Any] | None = None,
) -> Room:
    """Create, creator join, power levels (unless False), join rules (unless None)."""
    create = create_event(version, **(create_content or {}))
    room_id = "!" + V12_CREATE_ID[1:] if version.room_id_from_create else create["room_id"]
    room = Room(version, {("m.room.create", ""): create}, room_id)
    room.apply(room.member(ALICE, "join"))
    if power_levels:
        room.apply(room.power_levels(**default_power_levels(version, users)))
    if join_rule is not None:
        room.apply(room.event("m.room.join_rules", ALICE, {"join_rule": join_rule}, ""))
    return room


def expect(version: RoomVersion, v10_v11: str | None, v12: str | None) -> str | None:
    """The rule number a test expects for this version (None = allowed)."""
    return v12 if version.room_id_from_create else v10_v11


@dataclass(frozen=True)
class Case:
    """One table row: build an event against a room, and the expected outcome.

    `rule` is (v10/v11 number, v12 number) of the rejecting rule, or None if
    the event must be allowed.
    """

    name: str
    build: Callable[[Room], Event]
    rule: tuple[str, str] | None
    room: Callable[[RoomVersion], Room] = make_room

    def run(self, version: RoomVersion) -> None:
        room = self.room(version)
        event = self.build(room)
        want = None if self.rule is None else expect(version, *self.rule)
        assert room.rejected_by(event) == want, self.name
