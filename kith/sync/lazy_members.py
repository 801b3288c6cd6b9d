"""Which member events each device already holds, for lazy-loading room
members (spec: client-server-api "Lazy-loading room members").

"the server MAY assume that clients will remember membership events they have
already been sent, and choose to skip sending membership events for members
whose membership has not changed. These are called 'redundant membership
events'." Unless a filter sets `include_redundant_members`, /sync and
/messages leave out a sender's member event when this device was already sent
that very event.

"Sent" must mean "received": a /sync response can be lost and its request
retried with the same `since`. So each remembered event carries the stream
position of the response that carried it, and counts only once the device has
synced from that position or later (it then provably has the response).

Bounded: at most MAX_ENTRIES remembered events in all, dropping the least
recently syncing devices first, and MAX_PER_ROOM per device and room. Anything
forgotten is just sent again, which the spec allows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from kith.store.events import StoredEvent

MAX_ENTRIES = 200_000
MAX_PER_ROOM = 500

Device = tuple[str, str]


class _DeviceMembers:
    __slots__ = ("acked", "rooms", "size")

    def __init__(self) -> None:
        self.acked = -1  # the latest `since` this device synced from
        self.rooms: dict[str, OrderedDict[str, tuple[str, int]]] = {}
        self.size = 0


class SentMembers:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._devices: OrderedDict[Device, _DeviceMembers] = OrderedDict()
        self._max_entries = max_entries
        self._size = 0

    def synced(self, device: Device, since: int | None) -> None:
        """A /sync from `since`: an initial sync starts the device afresh."""
        if since is None:
            self._drop(device)
            return
        entry = self._devices.get(device)
        if entry is not None:
            entry.acked = max(entry.acked, since)
            self._devices.move_to_end(device)

    def unsent(self, device: Device, room_id: str, members: Iterable[StoredEvent]
               ) -> list[StoredEvent]:
        """Those of `members` the device does not provably hold already."""
        entry = self._devices.get(device)
        room = entry.rooms.get(room_id) if entry is not None else None
        if entry is None or room is None:
            return list(members)
        out = []
        for event in members:
            held = room.get(event.state_key or "")
            if held is None or held[0] != event.event_id or held[1] > entry.acked:
                out.append(event)
        return out

    def remember(self, device: Device, room_id: str, members: Iterable[StoredEvent],
                 pos: int) -> None:
        """Member events sent in a /sync response whose next_batch is at `pos`."""
        entry = self._devices.get(device)
        if entry is None:
            entry = self._devices[device] = _DeviceMembers()
        self._devices.move_to_end(device)
        room = entry.rooms.setdefault(room_id, OrderedDict())
        for event in members:
            key = event.state_key or ""
            if key not in room:
                entry.size += 1
                self._size += 1
            room[key] = (event.event_id, pos)
            room.move_to_end(key)
            if len(room) > MAX_PER_ROOM:
                room.popitem(last=False)
                entry.size -= 1
                self._size -= 1
        while self._size > self._max_entries and self._devices:
            oldest = next(iter(self._devices))
            self._drop(oldest)

    def _drop(self, device: Device) -> None:
        entry = self._devices.pop(device, None)
        if entry is not None:
            self._size -= entry.size
