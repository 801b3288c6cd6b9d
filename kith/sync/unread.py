"""unread_notifications for /sync: push rules evaluated over a room's unread events.

Spec: client-server-api "Receiving notifications" / push.md: notification_count
and highlight_count count the events after the user's latest read receipt whose
push actions notify (and highlight). Counting happens when a sync needs the
numbers, over at most MAX_SCANNED unread events, so its cost follows what the
user has not read yet, not the size of the room or server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kith.push.evaluator import PushContext, evaluate, notification_effect
from kith.rooms.power_levels import user_level
from kith.store.events import EventStore, RoomSnapshot, StoredEvent

MAX_SCANNED = 500

RulesFor = Callable[[str], Awaitable[dict[str, Any]]]
LastRead = Callable[[str, str], Awaitable[int]]


@dataclass(slots=True)
class Counts:
    notifications: int = 0
    highlights: int = 0
    threads: dict[str, tuple[int, int]] = field(default_factory=dict)

    def room_json(self) -> dict[str, int]:
        return {"notification_count": self.notifications, "highlight_count": self.highlights}

    def threads_json(self) -> dict[str, dict[str, int]]:
        return {t: {"notification_count": n, "highlight_count": h}
                for t, (n, h) in self.threads.items() if n or h}


def push_context(user_id: str, snapshot: RoomSnapshot, sender: str) -> PushContext:
    state = snapshot.state
    member = state.get(("m.room.member", user_id), {}).get("content") or {}
    joined = len(snapshot.members("join"))
    power = state.get(("m.room.power_levels", ""), {}).get("content")
    return PushContext(
        user_id=user_id,
        display_name=member.get("displayname") if isinstance(member.get("displayname"), str) else None,
        room_member_count=joined,
        sender_power_level=user_level(sender, state, snapshot.version),
        power_levels=power if isinstance(power, dict) else None,
    )


def _push_view(event: StoredEvent) -> dict[str, Any]:
    return {"type": event.type, "sender": event.sender, "content": event.content,
            "room_id": event.room_id, "event_id": event.event_id,
            **({"state_key": event.state_key} if event.state_key is not None else {})}


class UnreadCounter:
    """Counts per (room, user), kept between syncs: a later sync evaluates only
    the events that arrived since the last count, unless the read position
    moved (then the count starts again from the new receipt)."""

    MAX_CACHED = 50_000

    def __init__(self, events: EventStore, rules_for: RulesFor, last_read: LastRead) -> None:
        self._events = events
        self._rules_for = rules_for
        self._last_read = last_read
        # (room_id, user_id) -> (read position, position counted up to, counts)
        self._cache: dict[tuple[str, str], tuple[int, int, Counts]] = {}

    async def counts(self, room_id: str, user_id: str, snapshot: RoomSnapshot,
                     upto: int) -> Counts:
        read_pos = await self._last_read(room_id, user_id)
        membership = await self._events.membership(room_id, user_id)
        if membership is not None:
            read_pos = max(read_pos, membership[1])
        key = (room_id, user_id)
        cached = self._cache.get(key)
        start, counts = read_pos, Counts()
        if cached is not None and cached[0] == read_pos and cached[1] <= upto:
            start, counts = cached[1], _copy(cached[2])
        if start < upto:
            unread = await self._events.room_events(room_id, after=start, upto=upto,
                                                    backwards=True, limit=MAX_SCANNED)
            if unread:
                await self._add(counts, unread, user_id, snapshot)
        if len(self._cache) >= self.MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (read_pos, max(upto, start), _copy(counts))
        return counts

    async def _add(self, counts: Counts, unread: list[StoredEvent], user_id: str,
                   snapshot: RoomSnapshot) -> None:
        rules = await self._rules_for(user_id)
        contexts: dict[str, PushContext] = {}
        for event in unread:
            if event.sender == user_id or event.redacted_by:
                continue
            ctx = contexts.get(event.sender)
            if ctx is None:
                ctx = contexts[event.sender] = push_context(user_id, snapshot, event.sender)
            actions = evaluate(rules, _push_view(event), ctx)
            notify, highlight = notification_effect(actions)
            if not notify:
                continue
            thread = _thread_of(event)
            if thread is None:
                counts.notifications += 1
                counts.highlights += int(highlight)
            else:
                n, h = counts.threads.get(thread, (0, 0))
                counts.threads[thread] = (n + 1, h + int(highlight))


def _copy(counts: Counts) -> Counts:
    return Counts(counts.notifications, counts.highlights, dict(counts.threads))


def _thread_of(event: StoredEvent) -> str | None:
    rel = event.content.get("m.relates_to")
    if isinstance(rel, dict) and rel.get("rel_type") == "m.thread" and isinstance(rel.get("event_id"), str):
        return str(rel["event_id"])
    return None
