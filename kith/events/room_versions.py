"""Room versions Kith supports, and the per-version switches the pure core reads.

Spec: rooms/v10.md, rooms/v11.md, rooms/v12.md. Every rule that differs between
these versions is a boolean here, so auth rules and redaction read a flag instead
of comparing version strings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoomVersion:
    identifier: str
    # v11: `m.room.create` has no `creator`; the sender is the creator.
    creator_is_sender: bool
    # v11: `redacts` is a content property of `m.room.redaction`.
    redacts_in_content: bool
    # v11: redaction algorithm keeps all of `m.room.create` content, `invite` in
    # power levels, `redacts` in redaction content; drops top-level origin,
    # membership and prev_state.
    redaction_v11: bool
    # v12: room ID is "!" + reference hash of the create event, which has no
    # `room_id`; create event is not listed in auth_events.
    room_id_from_create: bool
    # v12: creators (sender + content.additional_creators) have infinite power.
    infinite_creator_power: bool


V10 = RoomVersion("10", False, False, False, False, False)
V11 = RoomVersion("11", True, True, True, False, False)
V12 = RoomVersion("12", True, True, True, True, True)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {v.identifier: v for v in (V10, V11, V12)}
DEFAULT_ROOM_VERSION = V12
