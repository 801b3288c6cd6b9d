"""GET /_matrix/client/v3/notifications (notifications.yaml), and the recorder
that decides which events notified whom.

Spec: client-server-api/modules/push.md, "Listing Notifications": the events
the user "has been, or would have been notified about", i.e. those for which
their push rules gave actions that notify. The recorder evaluates each new
event once, in stream order, for the users who were joined when it was sent
(and the invitee of an invite, for `.m.rule.invite_for_me`), never for its
sender (push.md: a user's own events MUST NOT notify them), and stores the
actions; `read` is worked out when listing, from the user's read receipts
("Marking notifications as read", receipts.md "Threaded read receipts").

Evaluation runs after the event is committed, off the request path
(kith.api.event_indexer); a listing first lets it catch up, so an event that
was sent before the request is always accounted for.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from kith.http.types import Request, Route
from kith.push.evaluator import evaluate, notification_effect
from kith.rooms.serialize import EventSerializer
from kith.store.events import EventStore, RoomSnapshot, StoredEvent
from kith.store.notifications import Notification, NotificationStore
from kith.errors import invalid_param
from kith.sync.ignored import hides
from kith.sync.unread import push_context

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BATCH = 200

RulesFor = Callable[[str], Awaitable[dict[str, Any]]]
# (room_id, user_id) -> {thread_id: furthest read position}, '' for unthreaded.
ReadPositions = Callable[[str, str], Awaitable[dict[str, int]]]
IgnoredOf = Callable[[str], Awaitable[frozenset[str]]]
# room_id -> {joined user: stream position of their join}
Joined = Callable[[str], Awaitable[dict[str, int]]]


def push_view(event: StoredEvent) -> dict[str, Any]:
    """The event as push rule conditions see it (push.md: the event's JSON)."""
    view: dict[str, Any] = {"type": event.type, "sender": event.sender,
                            "content": event.content, "room_id": event.room_id,
                            "event_id": event.event_id}
    if event.state_key is not None:
        view["state_key"] = event.state_key
    return view


def thread_of(event: StoredEvent) -> str | None:
    rel = event.content.get("m.relates_to")
    if isinstance(rel, dict) and rel.get("rel_type") == "m.thread" and \
            isinstance(rel.get("event_id"), str):
        return str(rel["event_id"])
    return None


def recipients(event: StoredEvent, joined: dict[str, int]) -> list[str]:
    """Who an event may notify: users joined before it, and the target of an
    invite; never the sender."""
    users = [u for u, pos in joined.items() if pos < event.stream_id]
    if event.type == "m.room.member" and event.content.get("membership") == "invite" and \
            event.state_key is not None:
        users.append(event.state_key)
    return sorted({u for u in users if u != event.sender})


def is_read(positions: dict[str, int], stream_id: int, thread: str | None) -> bool:
    """receipts.md "Threaded read receipts": an unthreaded receipt covers every
    event before it; a threaded one only its thread (`main` for the rest)."""
    if stream_id <= positions.get("", 0):
        return True
    return stream_id <= positions.get(thread or "main", 0)


class NotificationRecorder:
    def __init__(self, events: EventStore, store: NotificationStore, rules_for: RulesFor,
                 joined: Joined) -> None:
        self._events = events
        self._store = store
        self._rules_for = rules_for
        self._joined = joined

    async def catch_up(self) -> None:
        """Evaluate every event after the stored position, in batches."""
        position = await self._store.position()
        while True:
            batch = await self._store.events_after(position, BATCH)
            if not batch:
                return
            rows: list[Notification] = []
            snapshots: dict[str, RoomSnapshot | None] = {}
            joined: dict[str, dict[str, int]] = {}
            for event in batch:
                if event.room_id not in snapshots:
                    snapshots[event.room_id] = await self._events.snapshot(event.room_id)
                    joined[event.room_id] = await self._joined(event.room_id)
                snapshot = snapshots[event.room_id]
                if snapshot is not None and not event.redacted_by:
                    rows += await self._evaluate(event, snapshot, joined[event.room_id])
            position = batch[-1].stream_id
            await self._store.record(rows, position)
            if len(batch) < BATCH:
                return

    async def _evaluate(self, event: StoredEvent, snapshot: RoomSnapshot,
                        joined: dict[str, int]) -> list[Notification]:
        view = push_view(event)
        now = int(time.time() * 1000)
        rows = []
        for user_id in recipients(event, joined):
            actions = evaluate(await self._rules_for(user_id), view,
                               push_context(user_id, snapshot, event.sender))
            notify, highlight = notification_effect(actions)
            if notify:
                rows.append(Notification(user_id, event.stream_id, event.room_id, event.event_id,
                                         thread_of(event), now, list(actions), highlight))
        return rows


def routes(store: NotificationStore, caught_up: Callable[[], Awaitable[None]],
           events: EventStore, serializer: EventSerializer, read_positions: ReadPositions,
           ignored_of: IgnoredOf) -> list[Route]:
    async def notifications(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/notifications"""
        user = request.user
        limit = request.int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        assert limit is not None
        raw_from = request.arg("from")
        if raw_from is not None and (not raw_from.isdigit() or len(raw_from) > 20):
            raise invalid_param("Unknown pagination token")
        before = int(raw_from) if raw_from is not None else None
        highlight_only = request.arg("only") == "highlight"
        await caught_up()
        rows = await store.page(user.user_id, before, limit, highlight_only)
        # ignore_users.md: what an ignored user sent is not delivered, so not listed.
        ignored = await ignored_of(user.user_id)
        found = await events.get_events(r.event_id for r in rows)
        shown = [r for r in rows if r.event_id in found and not hides(
            ignored, found[r.event_id].sender, found[r.event_id].state_key)]
        serialized = await serializer.serialize([found[r.event_id] for r in shown], user,
                                                with_room_id=False)
        positions: dict[str, dict[str, int]] = {}
        out = []
        for row, event_json in zip(shown, serialized):
            if row.room_id not in positions:
                positions[row.room_id] = await read_positions(row.room_id, user.user_id)
            # notifications.yaml `profile_tag` is "the profile tag of the rule
            # that matched"; push rules no longer carry one, so it is omitted.
            out.append({"actions": row.actions, "event": event_json, "room_id": row.room_id,
                        "ts": row.ts,
                        "read": is_read(positions[row.room_id], row.stream_id, row.thread_id)})
        body: dict[str, Any] = {"notifications": out}
        if len(rows) == limit:
            body["next_token"] = str(rows[-1].stream_id)
        return body

    return [Route("GET", "/_matrix/client/v3/notifications", notifications)]
