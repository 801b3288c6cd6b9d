"""unread_notifications for /sync: push rules evaluated over a room's unread events.

Spec: client-server-api "Receiving notifications" / push.md: notification_count
and highlight_count count the events after the user's latest read receipt whose
push actions notify (and highlight). receipts.md "Threaded read receipts": an
unthreaded receipt covers every thread, one for `main` only the main timeline,
one for a thread root only that thread. Events from users the reader ignores
are not counted (ignore_users.md: they are not delivered at all). Counting happens when a sync needs the
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
from kith.sync.ignored import NOBODY, hides

MAX_SCANNED = 500

RulesFor = Callable[[str], Awaitable[dict[str, Any]]]
# (room_id, user_id) -> {thread_id: furthest read position}, '' for unthreaded.
ReadPositions = Callable[[str, str], Awaitable[dict[str, int]]]


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


def push_view(event: StoredEvent) -> dict[str, Any]:
    """The event as push rule conditions see it (push.md: the event's JSON)."""
    return {"type": event.type, "sender": event.sender, "content": event.content,
            "room_id": event.room_id, "event_id": event.event_id,
            **({"state_key": event.state_key} if event.state_key is not None else {})}


@dataclass(frozen=True, slots=True)
class ReadState:
    """Where a user has read up to in one room, per receipts.md."""

    unthreaded: int
    threads: tuple[tuple[str, int], ...] = ()

    def position_for(self, thread: str | None) -> int:
        """Events at or before this position in `thread` (None: main) are read."""
        wanted = thread or "main"
        for thread_id, pos in self.threads:
            if thread_id == wanted:
                return max(pos, self.unthreaded)
        return self.unthreaded


def read_state(positions: dict[str, int], joined_at: int) -> ReadState:
    """A member's read state from their receipts; nothing before they joined
    counts as unread."""
    floor = max(positions.get("", 0), joined_at)
    threads = tuple(sorted((t, p) for t, p in positions.items() if t and p > floor))
    return ReadState(floor, threads)


class UnreadCounter:
    """Counts per (room, user), kept between syncs: a later sync evaluates only
    the events that arrived since the last count, unless the read state or the
    ignored set changed (then the count starts again from the receipts)."""

    MAX_CACHED = 50_000

    def __init__(self, events: EventStore, rules_for: RulesFor,
                 read_positions: ReadPositions) -> None:
        self._events = events
        self._rules_for = rules_for
        self._read_positions = read_positions
        # (room_id, user_id) -> (read state, ignored, position counted up to, counts)
        self._cache: dict[tuple[str, str], tuple[ReadState, frozenset[str], int, Counts]] = {}

    async def counts(self, room_id: str, user_id: str, snapshot: RoomSnapshot,
                     upto: int, ignored: frozenset[str] = NOBODY) -> Counts:
        membership = await self._events.membership(room_id, user_id)
        read = read_state(await self._read_positions(room_id, user_id),
                          membership[1] if membership is not None else 0)
        key = (room_id, user_id)
        cached = self._cache.get(key)
        start, counts = read.unthreaded, Counts()
        if cached is not None and cached[0] == read and cached[1] == ignored and cached[2] <= upto:
            start, counts = cached[2], _copy(cached[3])
        if start < upto:
            unread = await self._events.room_events(room_id, after=start, upto=upto,
                                                    backwards=True, limit=MAX_SCANNED)
            if unread:
                await self._add(counts, unread, user_id, snapshot, read, ignored)
        if len(self._cache) >= self.MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (read, ignored, max(upto, start), _copy(counts))
        return counts

    async def _add(self, counts: Counts, unread: list[StoredEvent], user_id: str,
                   snapshot: RoomSnapshot, read: ReadState, ignored: frozenset[str]) -> None:
        rules = await self._rules_for(user_id)
        contexts: dict[str, PushContext] = {}
        for event in unread:
            if event.sender == user_id or event.redacted_by:
                continue
            if hides(ignored, event.sender, event.state_key):
                continue
            thread = thread_of(event)
            if event.stream_id <= read.position_for(thread):
                continue
            ctx = contexts.get(event.sender)
            if ctx is None:
                ctx = contexts[event.sender] = push_context(user_id, snapshot, event.sender)
            actions = evaluate(rules, push_view(event), ctx)
            notify, highlight = notification_effect(actions)
            if not notify:
                continue
            if thread is None:
                counts.notifications += 1
                counts.highlights += int(highlight)
            else:
                n, h = counts.threads.get(thread, (0, 0))
                counts.threads[thread] = (n + 1, h + int(highlight))


def own_read_moved(receipt_event: dict[str, Any], user_id: str) -> bool:
    """Whether an `m.receipt` event (changes since a sync token) moves the
    user's own read position, which changes their unread counts (push.md
    "Marking notifications as read")."""
    for by_type in receipt_event.get("content", {}).values():
        for receipt_type in ("m.read", "m.read.private"):
            if user_id in by_type.get(receipt_type, {}):
                return True
    return False


def _copy(counts: Counts) -> Counts:
    return Counts(counts.notifications, counts.highlights, dict(counts.threads))


def thread_of(event: StoredEvent) -> str | None:
    rel = event.content.get("m.relates_to")
    if isinstance(rel, dict) and rel.get("rel_type") == "m.thread" and isinstance(rel.get("event_id"), str):
        return str(rel["event_id"])
    return None
