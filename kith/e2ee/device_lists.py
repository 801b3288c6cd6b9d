"""Device-list tracking (spec: end_to_end_encryption.md "Tracking the device
list for a user"; sync.yaml device_lists; keys.yaml GET /keys/changes).

Changes are rows in the device-list stream (kith.store.e2ee_device_lists).
What a user is told for (since, upto]:

* changed: users sharing a room with them whose devices or cross-signing keys
  changed (themselves included, for their own other devices), and users they
  newly share a room with;
* left: users they shared a room with before and share none with now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kith.store.e2ee_device_lists import DeviceListStore
from kith.store.events import EventStore, Persisted
from kith.sync.notifier import Notifier

# Memberships that make two users "share a room" for device tracking.
SHARING = ("join",)


@dataclass(slots=True)
class Delta:
    changed: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.changed or self.left)


class DeviceLists:
    def __init__(self, store: DeviceListStore, events: EventStore, notifier: Notifier) -> None:
        self.store = store
        self._events = events
        self._notifier = notifier

    async def wake_for(self, user_id: str) -> None:
        """Wake the user and everyone sharing a room with them: their /sync
        has a device-list change to report."""
        users = await self.store.users_sharing_rooms(user_id)
        users.add(user_id)
        self._notifier.wake(users)

    async def key_changed(self, user_id: str) -> None:
        await self.store.record(user_id)
        await self.wake_for(user_id)

    async def delta(self, user_id: str, since: int, upto: int) -> Delta:
        out = Delta()
        changes = await self.store.changes(since, upto, user_id)
        if not changes:
            return out
        sharing = await self.store.users_sharing_rooms(user_id)
        my_rooms = {room for room, _, _ in await self._events.rooms_for_user(
            user_id, ["join", "leave", "ban"])}
        maybe_left: set[str] = set()
        for change in changes:
            if change.room_id is None:
                if change.user_id == user_id or change.user_id in sharing:
                    out.changed.add(change.user_id)
            elif change.user_id == user_id:
                # Our own membership changed: everyone in that room is new to us
                # (joined) or may have left our view (left).
                members = set(await self._events.members(change.room_id, SHARING))
                if user_id in members:
                    out.changed |= members - {user_id}
                else:
                    maybe_left |= members
            elif change.room_id in my_rooms:
                if change.user_id in sharing:
                    out.changed.add(change.user_id)
                else:
                    maybe_left.add(change.user_id)
        out.left = {u for u in maybe_left if u not in sharing and u != user_id}
        out.changed -= out.left
        return out

    # -- hooks -------------------------------------------------------------------------

    async def after_persist(self, results: list[Persisted]) -> None:
        """RoomService.after_persist: joins and leaves start or stop users
        sharing rooms. Profile changes (join -> join) are not membership changes."""
        changes: list[tuple[str, str]] = []
        for persisted in results:
            for user_id, membership in persisted.member_changes:
                before = await self.store.previous_membership(
                    persisted.room_id, user_id, persisted.stream_id)
                if (membership in SHARING) != (before in SHARING):
                    changes.append((user_id, persisted.room_id))
        if changes:
            await self.store.record_memberships(changes)
            for user_id, room_id in changes:
                # Members of the room learn about the change; RoomService has
                # woken them for the event, wake again for the new position.
                self._notifier.wake(await self._events.members(room_id, SHARING))
                self._notifier.wake([user_id])
