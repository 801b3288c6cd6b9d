"""GET /sync (spec: sync.yaml, client-server-api "Syncing").

One pass computes the response for (since, now]; if it is empty and the client
asked to wait, the request sleeps on the notifier until something arrives for
this user and computes again. An incremental sync looks only at rooms whose
latest position moved past `since` (an in-memory lookup per room) and at the
user's own streams, so its cost follows what changed for the user.

Besides rooms whose events moved: a room the user newly joined (not a join ->
join profile change) comes as in an initial sync; a room where the user's own
read receipt moved gets fresh unread counts; users on the m.ignored_user_list
are left out everywhere (kith.sync.ignored); with presence on, the request is
the client's connection for presence (kith.sync.presence).
"""

from __future__ import annotations

import time
from typing import Any

from kith.http.types import Requester
from kith.store.database import Database
from kith.store.events import EventStore
from kith.sync.filters import SyncFilter, room_allowed
from kith.sync.ignored import NOBODY, IgnoredUsers, without_ignored
from kith.sync.notifier import Notifier
from kith.sync.room_sections import RoomSections
from kith.sync.sources import (
    AccountDataSource, ExtensionSource, PresenceSource, ReceiptSource, ToDeviceSource,
    TypingSource)
from kith.sync.tokens import SyncToken
from kith.sync.unread import UnreadCounter, own_read_moved

MAX_TIMEOUT_MS = 60_000


class SyncHandler:
    def __init__(self, db: Database, events: EventStore, sections: RoomSections,
                 notifier: Notifier, unread: UnreadCounter | None = None,
                 account_data: AccountDataSource | None = None,
                 receipts: ReceiptSource | None = None, typing: TypingSource | None = None,
                 extensions: list[ExtensionSource] | None = None,
                 ignored: IgnoredUsers | None = None,
                 presence: PresenceSource | None = None) -> None:
        self._db = db
        self._events = events
        self._sections = sections
        self._notifier = notifier
        self._unread = unread
        self._account_data = account_data
        self._receipts = receipts
        self._typing = typing
        self.extensions = extensions or []
        self._ignored = ignored
        self._presence = presence
        self.to_device: ToDeviceSource | None = None

    async def sync(self, requester: Requester, since: SyncToken | None, timeout_ms: int,
                   full_state: bool, sync_filter: SyncFilter,
                   set_presence: str | None = None) -> dict[str, Any]:
        # The device has everything sent up to `since` (lazy-loaded members).
        self._sections.sent_members.synced((requester.user_id, requester.device_id),
                                           since.pos if since else None)
        if self._presence is None:
            return await self._sync(requester, since, timeout_ms, full_state, sync_filter)
        # sync.yaml `set_presence`: polling /sync marks the client online unless
        # it says otherwise; the connection lasts as long as the request.
        await self._presence.sync_started(requester.user_id, set_presence)
        try:
            return await self._sync(requester, since, timeout_ms, full_state, sync_filter)
        finally:
            self._presence.sync_ended(requester.user_id, set_presence)

    async def _sync(self, requester: Requester, since: SyncToken | None, timeout_ms: int,
                    full_state: bool, sync_filter: SyncFilter) -> dict[str, Any]:
        deadline = time.monotonic() + min(timeout_ms, MAX_TIMEOUT_MS) / 1000
        while True:
            seen = self._notifier.version(requester.user_id)
            response, has_news = await self._compute(requester, since, full_state, sync_filter)
            remaining = deadline - time.monotonic()
            if has_news or since is None or full_state or remaining <= 0 or self._notifier.closing:
                return response
            await self._notifier.wait(requester.user_id, seen, remaining)
            if self._notifier.closing:
                return response

    async def _compute(self, requester: Requester, since: SyncToken | None, full_state: bool,
                       sync_filter: SyncFilter) -> tuple[dict[str, Any], bool]:
        user_id = requester.user_id
        upto = self._db.current_stream_id
        since_pos = min(since.pos, upto) if since else None
        typing_serial = self._typing.serial if self._typing else 0
        next_token = SyncToken(upto, typing_serial)
        rooms: dict[str, dict[str, Any]] = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        response: dict[str, Any] = {"next_batch": next_token.encode(), "rooms": rooms}
        news = False
        ignored = await self._ignored.of(user_id) if self._ignored is not None else NOBODY

        global_data: list[dict[str, Any]] = []
        room_data: dict[str, list[dict[str, Any]]] = {}
        if self._account_data is not None:
            global_data, room_data = await self._account_data.changed_since(user_id, since_pos, upto)
        response["account_data"] = {"events": global_data}
        news = news or bool(global_data)

        typing_rooms: set[str] = set()
        if self._typing is not None:
            typing_rooms = self._typing.changed_rooms(since.typing if since else 0)

        memberships = await self._events.rooms_for_user(
            user_id, ["join", "invite", "leave", "ban", "knock"])
        changed_membership: set[str] = set()
        newly_joined: set[str] = set()
        if since_pos is not None:
            changed_membership, newly_joined = await self._membership_moves(
                user_id, since_pos, upto)

        room_filter = sync_filter.room
        joined_ids = []
        for room_id, membership, member_pos in memberships:
            if not room_allowed(room_filter, room_id):
                continue
            if member_pos > upto:
                continue  # committed after we read `upto`: next sync
            if membership == "join":
                joined_ids.append(room_id)
            elif membership == "invite":
                if since_pos is None or room_id in changed_membership:
                    invite = await self._sections.invite(room_id, user_id, ignored)
                    if invite is not None:
                        rooms["invite"][room_id] = invite
            elif membership == "knock":
                if since_pos is None or room_id in changed_membership:
                    rooms["knock"][room_id] = await self._sections.knock(room_id, user_id)
            elif membership in ("leave", "ban"):
                newly_left = since_pos is not None and room_id in changed_membership
                if newly_left or (since_pos is None and room_filter.include_leave):
                    rooms["leave"][room_id] = await self._sections.left(
                        room_id, requester, since_pos, member_pos, sync_filter, ignored)

        presence: list[dict[str, Any]] = []
        if self._presence is not None:
            # Sharing a room is about membership, whatever the filter's rooms.
            joined_all = {room_id for room_id, m, pos in memberships if m == "join" and pos <= upto}
            presence = await self._presence.events(user_id, joined_all, since_pos, upto, ignored,
                                                   sync_filter.presence)
        response["presence"] = {"events": presence}
        news = news or bool(presence)

        receipts: dict[str, dict[str, Any]] = {}
        if self._receipts is not None and joined_ids:
            receipts = await self._receipts.for_rooms(joined_ids, since_pos, upto, user_id)

        moved_rooms = await self._events.rooms_moved_since(joined_ids, since_pos or 0)
        for room_id in joined_ids:
            full = since_pos is None or full_state or room_id in newly_joined
            moved = room_id in moved_rooms
            ephemeral: list[dict[str, Any]] = []
            if room_id in typing_rooms and self._typing is not None:
                ephemeral.append(self._typing.event_for(room_id))
            # The user's own read receipt moved: their unread counts changed
            # even though the room has no new event (push.md "Receiving
            # notifications": servers MUST update the count as it changes).
            read_moved = room_id in receipts and own_read_moved(receipts[room_id], user_id)
            if room_id in receipts:
                ephemeral.append(receipts[room_id])
            ephemeral = [e for e in (without_ignored(e, ignored) for e in ephemeral) if e]
            room_account_data = room_data.get(room_id, [])
            if not (full or moved or ephemeral or room_account_data or read_moved):
                continue
            section: dict[str, Any] = {}
            if full or moved:
                # A room the user newly joined is synced as in an initial sync:
                # its recent history (what they may see of it) and its state at
                # the start of that timeline, so the client starts with context
                # and, with lazy-loaded members, the members who spoke recently.
                # With full_state the timeline stays what is new since `since`.
                room_since = None if room_id in newly_joined else since_pos
                section, slice_ = await self._sections.joined(
                    room_id, requester, room_since, upto, full, sync_filter, ignored)
                if room_since is None and since_pos is not None:
                    # A rejoined room's history does not follow on from what
                    # the client may still hold of it: `limited` tells it to
                    # start the room's timeline afresh rather than append
                    # events it already has (sync.yaml Timeline.limited).
                    section["timeline"]["limited"] = True
                if slice_.events or full:
                    news = True
            if full or moved or read_moved:
                await self._add_counts(section, room_id, user_id, upto, full or moved,
                                       room_filter.timeline.unread_thread_notifications,
                                       ignored)
            section["ephemeral"] = {"events": ephemeral}
            section["account_data"] = {"events": room_account_data}
            if ephemeral or room_account_data or read_moved:
                news = True
            rooms["join"][room_id] = section

        if rooms["invite"] or rooms["leave"] or rooms["knock"]:
            news = True
        for extension in self.extensions:
            if await extension.add_to_sync(user_id, requester.device_id, since_pos, upto, response):
                news = True
        if self.to_device is not None:
            acknowledged = since.to_device if since else None
            messages, mark = await self.to_device.to_device(user_id, requester.device_id,
                                                            acknowledged)
            response["to_device"] = {"events": messages}
            if mark is not None:
                news = True
            # The response's token carries the mark of what it delivered, or
            # the since token's, so acknowledging stays where it was.
            next_token = SyncToken(upto, typing_serial, mark or acknowledged or 0)
            response["next_batch"] = next_token.encode()
        return response, news

    async def _membership_moves(self, user_id: str, since: int, upto: int
                                ) -> tuple[set[str], set[str]]:
        """Rooms where the user's membership event changed in (since, upto],
        and those of them the user newly joined. A join -> join change is a
        profile change (displayname, avatar_url), not a join: the client has
        the room already and gets the new member event in the timeline."""
        changes: dict[str, list[str]] = {}
        for room_id, membership, _ in await self._events.membership_changes_since(
                user_id, since, upto):
            changes.setdefault(room_id, []).append(membership)
        newly_joined: set[str] = set()
        for room_id, seen in changes.items():
            if seen[-1] != "join":
                continue
            if any(m != "join" for m in seen):
                newly_joined.add(room_id)
                continue
            before = await self._events.state_event_at(room_id, "m.room.member", user_id, since)
            if before is None or before.content.get("membership") != "join":
                newly_joined.add(room_id)
        return set(changes), newly_joined

    async def _add_counts(self, section: dict[str, Any], room_id: str, user_id: str, upto: int,
                          with_summary: bool, per_thread: bool, ignored: frozenset[str]) -> None:
        snapshot = await self._events.snapshot(room_id)
        if snapshot is None:
            return
        if with_summary:
            section["summary"] = await self._sections.summary(snapshot, user_id)
        if self._unread is None:
            return
        counts = await self._unread.counts(room_id, user_id, snapshot, upto, ignored)
        if per_thread:
            # sync.yaml: with unread_thread_notifications the room counts are
            # the main timeline's only, and each thread has its own.
            section["unread_thread_notifications"] = counts.threads_json()
        else:
            for n, h in counts.threads.values():
                counts.notifications += n
                counts.highlights += h
        section["unread_notifications"] = counts.room_json()
