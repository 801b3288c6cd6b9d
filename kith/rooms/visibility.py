"""History visibility on every read path (spec: modules/history_visibility.md).

The decision for one event is pure (`kith.rooms.membership.can_see_event`);
this module supplies its inputs from the user's membership history and the
room's history_visibility history, both short lists read once per request, so
filtering costs one pass over the events returned.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from kith.rooms.membership import HISTORY_VISIBILITY_VALUES, can_see_event
from kith.store.events import EventStore, StoredEvent


@dataclass(frozen=True, slots=True)
class Timeline:
    """Values of one piece of state over stream positions, oldest first."""

    positions: list[int]
    values: list[str]
    initial: str

    def before(self, stream_id: int) -> str:
        """The value in the state an event at stream_id was added to."""
        index = bisect_left(self.positions, stream_id)
        return self.values[index - 1] if index else self.initial

    def after(self, stream_id: int) -> str:
        index = bisect_left(self.positions, stream_id + 1)
        return self.values[index - 1] if index else self.initial


def visible(event: StoredEvent, user_id: str, memberships: Timeline, visibility: Timeline) -> bool:
    pos = event.stream_id
    joins = [p for p, v in zip(memberships.positions, memberships.values) if v == "join"]
    joined_after = bool(joins) and joins[-1] > pos

    def check(membership: str, hv: str) -> bool:
        return can_see_event(user_id, membership, hv, None, joined_after_event=joined_after)

    if check(memberships.before(pos), visibility.before(pos)):
        return True
    # Spec: for history_visibility events and the user's own member events,
    # allow if the state before *or* after the event allows.
    if event.type == "m.room.history_visibility" and event.state_key == "":
        return check(memberships.before(pos), visibility.after(pos))
    if event.type == "m.room.member" and event.state_key == user_id:
        return check(memberships.after(pos), visibility.before(pos))
    return False


def state_visible(pos: int, user_id: str, memberships: Timeline, visibility: Timeline) -> bool:
    """May the user see the room's state at stream position `pos` (e.g. /members
    `at`)? As for an event there: the membership and visibility in force decide
    (history_visibility.md); the state before or after the event at `pos`
    counts, as for the user's own member events, so a user who left still sees
    the room as it was when they left."""
    joined_after = any(p > pos and v == "join"
                       for p, v in zip(memberships.positions, memberships.values))
    return any(can_see_event(user_id, membership, hv, None, joined_after_event=joined_after)
               for membership, hv in ((memberships.after(pos), visibility.after(pos)),
                                      (memberships.before(pos), visibility.before(pos))))


class VisibilityFilter:
    def __init__(self, events: EventStore) -> None:
        self._events = events

    async def timelines(self, room_id: str, user_id: str) -> tuple[Timeline, Timeline]:
        current = await self._events.membership(room_id, user_id)
        if current is not None and current[2]:
            # leaving.yaml (forget): "a user will no longer be able to retrieve
            # history for this room", so their past memberships no longer count
            # (as for someone never in it, only world_readable history is left).
            history: list[tuple[int, str]] = []
        else:
            history = await self._events.membership_history(room_id, user_id)
        memberships = Timeline([p for p, _ in history], [m for _, m in history], "leave")
        hv_history = await self._events.state_history(room_id, "m.room.history_visibility")
        values = []
        for _, content in hv_history:
            value = content.get("history_visibility")
            values.append(value if value in HISTORY_VISIBILITY_VALUES else "shared")
        return memberships, Timeline([p for p, _ in hv_history], values, "shared")

    async def filter(self, room_id: str, user_id: str, events: Sequence[StoredEvent]
                     ) -> list[StoredEvent]:
        if not events:
            return []
        memberships, visibility = await self.timelines(room_id, user_id)
        return [e for e in events if visible(e, user_id, memberships, visibility)]

    async def can_see(self, room_id: str, user_id: str, event: StoredEvent) -> bool:
        return bool(await self.filter(room_id, user_id, [event]))

    async def can_see_state_at(self, room_id: str, user_id: str, pos: int) -> bool:
        memberships, visibility = await self.timelines(room_id, user_id)
        return state_visible(pos, user_id, memberships, visibility)

    async def can_read_room_now(self, room_id: str, user_id: str) -> bool:
        """Whether the user may read the room's current state (members, state)."""
        memberships, visibility = await self.timelines(room_id, user_id)
        end = 1 << 62
        if memberships.after(end) == "join":
            return True
        return visibility.after(end) == "world_readable"
