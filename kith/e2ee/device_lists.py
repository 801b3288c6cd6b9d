"""Device-list tracking (spec: end_to_end_encryption.md "Tracking the device
list for a user"; sync.yaml device_lists; keys.yaml GET /keys/changes).

Changes are rows in the device-list stream (kith.store.e2ee_device_lists).
What a user is told for (since, upto]:

* changed: users sharing a room with them now whose devices or cross-signing
  keys changed (themselves included, for their own other devices), and users
  they newly share a room with;
* left: users they shared a room with at `since` and share none with now.

Nobody else is named: a user who joins or leaves a room the viewer is not in
(say, one the viewer left long ago) is no business of the viewer's, and naming
them would reveal that room's membership.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kith.store.e2ee_device_lists import DeviceListStore
from kith.store.events import EventStore, Persisted
from kith.sync.notifier import Notifier

# Memberships that make two users "share a room" for device tracking.
SHARING = ("join",)
# Every membership a user keeps a room_members row for; a room the viewer has
# no row in (or forgot) was never theirs to hear about.
EVER_IN = ("join", "leave", "ban", "invite", "knock")


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
        rooms = await self._events.rooms_for_user(user_id, EVER_IN)
        my_rooms = {room for room, membership, _ in rooms if membership in SHARING}
        known_rooms = {room for room, _, _ in rooms}
        rooms_left: set[str] = set()  # rooms the user is no longer joined to
        others_gone: dict[str, set[str]] = {}  # share no room now: rooms they changed in
        for change in changes:
            if change.room_id is None:
                if change.user_id == user_id or change.user_id in sharing:
                    out.changed.add(change.user_id)
            elif change.user_id == user_id:
                if change.room_id in my_rooms:
                    # We joined: everyone there now shares a room with us.
                    members = await self._events.members(change.room_id, SHARING)
                    out.changed |= set(members) - {user_id}
                else:
                    rooms_left.add(change.room_id)
            elif change.user_id in sharing:
                if change.room_id in my_rooms:
                    out.changed.add(change.user_id)  # e.g. joined one of our rooms
            elif change.room_id in known_rooms:
                others_gone.setdefault(change.user_id, set()).add(change.room_id)
        maybe_left: set[str] = set()  # shared a room with the user at `since`
        if rooms_left or others_gone:
            rooms_then = await self.store.joined_rooms_at(user_id, since)
            for room in rooms_left & rooms_then:
                # We left: whoever was there with us at `since` may be gone from view.
                maybe_left |= await self.store.joined_members_at(room, since)
            for other, changed_in in others_gone.items():
                # They were in view at `since` only if joined then to a room we
                # were joined to then; they stopped sharing it by leaving it, so
                # it is one they changed in.
                if other not in maybe_left and changed_in & rooms_then and \
                        rooms_then & await self.store.joined_rooms_at(other, since):
                    maybe_left.add(other)
        out.left = maybe_left - sharing - {user_id}
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
