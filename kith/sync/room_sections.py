"""The per-room parts of a /sync response (spec: sync.yaml, "Syncing").

join: state before the timeline, timeline (limited + prev_batch), ephemeral,
account_data, summary, unread counts. invite: stripped invite_state.
leave: state and timeline up to the moment the user left.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from kith.http.types import Requester
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import VisibilityFilter, visible
from kith.store.events import EventStore, RoomSnapshot, StoredEvent
from kith.sync.filters import RoomEventFilter, SyncFilter, event_allowed
from kith.sync.ignored import NOBODY, hides
from kith.sync.lazy_members import SentMembers
from kith.sync.tokens import pagination_token

# Spec "Stripped state": what an invited user may see of the room.
STRIPPED_TYPES = ("m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
                  "m.room.canonical_alias", "m.room.encryption", "m.room.topic")
MAX_TIMELINE_SCAN = 5


@dataclass(slots=True)
class TimelineSlice:
    events: list[StoredEvent]
    limited: bool
    start: int  # events in the timeline have stream_id > start


def _as_filterable(event: StoredEvent) -> dict[str, Any]:
    return {"type": event.type, "sender": event.sender, "content": event.content}


class RoomSections:
    def __init__(self, events: EventStore, serializer: EventSerializer,
                 visibility: VisibilityFilter, sent_members: SentMembers | None = None) -> None:
        self._events = events
        self._serializer = serializer
        self._visibility = visibility
        self.sent_members = sent_members or SentMembers()

    async def timeline(self, room_id: str, user_id: str, after: int | None, upto: int,
                       timeline_filter: RoomEventFilter, limit: int,
                       ignored: frozenset[str] = NOBODY) -> TimelineSlice:
        """The newest `limit` visible, filtered events in (after, upto],
        without those of users the reader ignores (state events excepted)."""
        chosen: list[StoredEvent] = []
        pos = upto
        limited = False
        batch = limit + 1
        memberships, visibility = await self._visibility.timelines(room_id, user_id)
        for _ in range(MAX_TIMELINE_SCAN):
            rows = await self._events.room_events(room_id, after=after, upto=pos,
                                                  backwards=True, limit=batch)
            for event in rows:
                pos = event.stream_id - 1
                if not visible(event, user_id, memberships, visibility):
                    continue
                if hides(ignored, event.sender, event.state_key):
                    continue
                if not event_allowed(timeline_filter, _as_filterable(event), room_id):
                    continue
                if len(chosen) == limit:
                    limited = True
                    break
                chosen.append(event)
            if limited or len(rows) < batch:
                break
        else:
            limited = True
        chosen.reverse()
        start = chosen[0].stream_id - 1 if chosen else upto
        if limited and not chosen:
            start = upto
        return TimelineSlice(chosen, limited, start)

    async def state_for(self, room_id: str, full: bool, since: int | None, slice_: TimelineSlice,
                        state_filter: RoomEventFilter, lazy_for: set[str] | None,
                        ) -> list[StoredEvent]:
        """State at the start of the timeline: all of it when `full`, otherwise
        what changed between `since` and the timeline's start."""
        incremental = not full and since is not None
        state = await self._events.state_at(room_id, slice_.start,
                                            after=since if incremental else None)
        chosen = []
        for (etype, key), event in state.items():
            if lazy_for is not None and etype == "m.room.member" and key not in lazy_for:
                continue
            if not event_allowed(state_filter, _as_filterable(event), room_id):
                continue
            chosen.append(event)
        chosen.sort(key=lambda e: e.stream_id)
        return chosen

    async def joined(self, room_id: str, requester: Requester, since: int | None, upto: int,
                     full: bool, sync_filter: SyncFilter, ignored: frozenset[str] = NOBODY
                     ) -> tuple[dict[str, Any], TimelineSlice]:
        room_filter = sync_filter.room
        limit = room_filter.timeline.limit or 10
        # With full_state the timeline is still only what is new since `since`;
        # the state is complete.
        slice_ = await self.timeline(room_id, requester.user_id, since, upto,
                                     room_filter.timeline, limit, ignored)
        lazy = room_filter.state.lazy_load_members or room_filter.timeline.lazy_load_members
        lazy_for = ({e.sender for e in slice_.events} | {requester.user_id}) if lazy else None
        state_full = full or since is None
        state = await self.state_for(room_id, state_full, since, slice_, room_filter.state, lazy_for)
        device = (requester.user_id, requester.device_id)
        if lazy and not state_full and slice_.events:
            # Lazy loading: the timeline's senders get their member event even if
            # it did not change, unless this device already holds that very
            # event (a "redundant membership event") and the filter does not
            # ask for include_redundant_members.
            have = {e.state_key for e in state if e.type == "m.room.member"}
            wanted = lazy_for - have  # type: ignore[operator]
            if wanted:
                found = await self._events.state_at(room_id, slice_.start, ["m.room.member"],
                                                    state_keys=wanted)
                members = list(found.values())
                redundant = room_filter.state.include_redundant_members or \
                    room_filter.timeline.include_redundant_members
                if not redundant:
                    members = self.sent_members.unsent(device, room_id, members)
                state += members
        if lazy:
            # What the device now holds: the state, then the timeline's member events.
            self.sent_members.remember(device, room_id, [
                e for e in [*state, *slice_.events] if e.type == "m.room.member"], upto)
        section: dict[str, Any] = {
            "timeline": {
                "events": await self._serializer.serialize(slice_.events, requester, False),
                "limited": slice_.limited,
                "prev_batch": pagination_token(slice_.start),
            },
            "state": {"events": await self._serializer.serialize(state, requester, False)},
        }
        return section, slice_

    async def summary(self, snapshot: RoomSnapshot, user_id: str) -> dict[str, Any]:
        joined, invited = snapshot.members("join"), snapshot.members("invite")
        summary: dict[str, Any] = {
            "m.joined_member_count": len(joined),
            "m.invited_member_count": len(invited),
        }
        if ("m.room.name", "") not in snapshot.state and \
                ("m.room.canonical_alias", "") not in snapshot.state:
            # heapq.nsmallest: the first five without sorting a large room.
            others = (u for users in (joined, invited) for u in users if u != user_id)
            summary["m.heroes"] = heapq.nsmallest(5, others)
        return summary

    async def _stripped_state(self, room_id: str, user_id: str
                              ) -> tuple[list[dict[str, Any]], str | None]:
        """Stripped state for an invite or knock, and who sent the user's member event."""
        snapshot = await self._events.snapshot(room_id)
        if snapshot is None:
            return [], None
        events: list[dict[str, Any]] = []
        for key in [(t, "") for t in STRIPPED_TYPES] + [("m.room.member", user_id)]:
            pdu = snapshot.state.get(key)
            if pdu is not None:
                events.append({"type": pdu["type"], "state_key": pdu.get("state_key", ""),
                               "sender": pdu["sender"], "content": pdu.get("content", {})})
        member = snapshot.state.get(("m.room.member", user_id))
        return events, member.get("sender") if member is not None else None

    async def invite(self, room_id: str, user_id: str, ignored: frozenset[str] = NOBODY
                     ) -> dict[str, Any] | None:
        """The invite section; None when an ignored user sent the invite
        (ignore_users.md: "Servers must not send room invites from ignored
        users to clients")."""
        events, inviter = await self._stripped_state(room_id, user_id)
        if inviter in ignored:
            return None
        return {"invite_state": {"events": events}}

    async def knock(self, room_id: str, user_id: str) -> dict[str, Any]:
        events, _ = await self._stripped_state(room_id, user_id)
        return {"knock_state": {"events": events}}

    async def left(self, room_id: str, requester: Requester, since: int | None, left_at: int,
                   sync_filter: SyncFilter, ignored: frozenset[str] = NOBODY) -> dict[str, Any]:
        room_filter = sync_filter.room
        limit = room_filter.timeline.limit or 10
        slice_ = await self.timeline(room_id, requester.user_id, since, left_at,
                                     room_filter.timeline, limit, ignored)
        state = await self.state_for(room_id, since is None or slice_.limited, since, slice_,
                                     room_filter.state, None)
        return {
            "timeline": {
                "events": await self._serializer.serialize(slice_.events, requester, False),
                "limited": slice_.limited,
                "prev_batch": pagination_token(slice_.start),
            },
            "state": {"events": await self._serializer.serialize(state, requester, False)},
        }
