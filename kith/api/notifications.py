"""GET /_matrix/client/v3/notifications (notifications.yaml).

Spec: client-server-api/modules/push.md, "Listing Notifications": the events
the user "has been, or would have been notified about", i.e. those for which
their push rules give actions that notify. They are worked out when the list
is asked for, newest first, over the rooms the user is or was in: an event
counts if the user was joined when it was sent (or it is their own invite,
for `.m.rule.invite_for_me`), it is not their own (push.md: a user's own
events MUST NOT notify them) and its sender is not ignored. `read` comes from
the user's read receipts ("Marking notifications as read", receipts.md
"Threaded read receipts").

Deciding at read time keeps sending an event free of per-member work (a room
of 10,000 members would otherwise cost 10,000 rule evaluations per message),
and the list is rarely asked for. One request scans at most MAX_SCANNED
events; if it stops there, `next_token` lets the client go on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kith.errors import invalid_param
from kith.http.types import Request, Route
from kith.push.evaluator import evaluate, notification_effect
from kith.rooms.serialize import EventSerializer
from kith.rooms.visibility import Timeline, VisibilityFilter
from kith.store.events import EventStore, RoomSnapshot, StoredEvent
from kith.store.notifications import NotificationStore
from kith.sync.ignored import hides
from kith.sync.unread import push_context, push_view, thread_of

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BATCH = 200
MAX_SCANNED = 2000
END = 1 << 62

RulesFor = Callable[[str], Awaitable[dict[str, Any]]]
# (room_id, user_id) -> {thread_id: furthest read position}, '' for unthreaded.
ReadPositions = Callable[[str, str], Awaitable[dict[str, int]]]
IgnoredOf = Callable[[str], Awaitable[frozenset[str]]]


def may_notify(event: StoredEvent, user_id: str, memberships: Timeline) -> bool:
    """Whether the event could notify the user at all: joined when it was
    sent, or the invite of this user; never their own event."""
    if event.sender == user_id or event.redacted_by:
        return False
    if event.type == "m.room.member" and event.state_key == user_id:
        return event.content.get("membership") == "invite"
    return memberships.before(event.stream_id) == "join"


def is_read(positions: dict[str, int], stream_id: int, thread: str | None) -> bool:
    """receipts.md "Threaded read receipts": an unthreaded receipt covers every
    event before it; a threaded one only its thread (`main` for the rest)."""
    if stream_id <= positions.get("", 0):
        return True
    return stream_id <= positions.get(thread or "main", 0)


class NotificationLister:
    def __init__(self, events: EventStore, store: NotificationStore, rules_for: RulesFor,
                 visibility: VisibilityFilter) -> None:
        self._events = events
        self._store = store
        self._rules_for = rules_for
        self._visibility = visibility

    async def page(self, user_id: str, before: int, limit: int, highlight_only: bool,
                   ignored: frozenset[str]
                   ) -> tuple[list[tuple[StoredEvent, list[object]]], int | None]:
        """Up to `limit` (event, actions) that notified the user, older than
        `before`, newest first; and where to go on from (None: nothing older)."""
        rooms = [r for r, _, _ in await self._events.rooms_for_user(
            user_id, ["join", "invite", "leave", "ban"])]
        rules = await self._rules_for(user_id)
        memberships: dict[str, Timeline] = {}
        snapshots: dict[str, RoomSnapshot | None] = {}
        found: list[tuple[StoredEvent, list[object]]] = []
        scanned = 0
        position = before
        while rooms and scanned < MAX_SCANNED:
            batch = await self._store.events_before(rooms, position, BATCH)
            for event in batch:
                scanned += 1
                position = event.stream_id
                if event.room_id not in memberships:
                    memberships[event.room_id] = (
                        await self._visibility.timelines(event.room_id, user_id))[0]
                    snapshots[event.room_id] = await self._events.snapshot(event.room_id)
                snapshot = snapshots[event.room_id]
                if snapshot is None or hides(ignored, event.sender, event.state_key) or \
                        not may_notify(event, user_id, memberships[event.room_id]):
                    continue
                actions = evaluate(rules, push_view(event),
                                   push_context(user_id, snapshot, event.sender))
                notify, highlight = notification_effect(actions)
                if notify and (highlight or not highlight_only):
                    found.append((event, list(actions)))
                    if len(found) == limit:
                        return found, event.stream_id
            if len(batch) < BATCH:
                return found, None
        return found, position if rooms else None


def routes(lister: NotificationLister, serializer: EventSerializer,
           read_positions: ReadPositions, ignored_of: IgnoredOf) -> list[Route]:
    async def notifications(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/notifications"""
        user = request.user
        limit = request.int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        assert limit is not None
        raw_from = request.arg("from")
        if raw_from is not None and (not raw_from.isdigit() or len(raw_from) > 20):
            raise invalid_param("Unknown pagination token")
        before = min(int(raw_from), END) if raw_from is not None else END
        highlight_only = request.arg("only") == "highlight"
        # ignore_users.md: what an ignored user sent is not delivered, so not listed.
        ignored = await ignored_of(user.user_id)
        found, next_position = await lister.page(user.user_id, before, limit, highlight_only,
                                                 ignored)
        serialized = await serializer.serialize([e for e, _ in found], user, with_room_id=False)
        positions: dict[str, dict[str, int]] = {}
        out = []
        for (event, actions), event_json in zip(found, serialized):
            if event.room_id not in positions:
                positions[event.room_id] = await read_positions(event.room_id, user.user_id)
            # notifications.yaml `profile_tag` is "the profile tag of the rule
            # that matched"; push rules no longer carry one, so it is omitted.
            out.append({"actions": actions, "event": event_json, "room_id": event.room_id,
                        "ts": int(event.pdu.get("origin_server_ts", 0)),
                        "read": is_read(positions[event.room_id], event.stream_id,
                                        thread_of(event))})
        body: dict[str, Any] = {"notifications": out}
        if next_position is not None:
            body["next_token"] = str(next_position)
        return body

    return [Route("GET", "/_matrix/client/v3/notifications", notifications)]
