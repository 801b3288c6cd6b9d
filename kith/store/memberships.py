"""Room membership queries (spec: client-server-api "Room membership"),
read from the `room_members` table and the member events that EventStore
writes; EventStore inherits them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import orjson

from kith.store.database import Database


class MembershipReads:
    def __init__(self, db: Database, cache_users: int) -> None:
        self._db = db
        # user_id -> [(room_id, membership, stream_id)] (not forgotten): every
        # /sync asks, so a user in 2,000 rooms is not re-read each time. Dropped
        # for a user inside the transaction that changes their membership.
        self._user_rooms: OrderedDict[str, list[tuple[str, str, int]]] = OrderedDict()
        self._cache_users = cache_users

    async def rooms_for_user(self, user_id: str, memberships: Iterable[str]
                             ) -> list[tuple[str, str, int]]:
        """(room_id, membership, stream_id of that membership) for the user,
        rooms they forgot left out."""
        rooms = self._user_rooms.get(user_id)
        if rooms is None:
            rows = await self._db.read(lambda cur: cur.execute(
                "SELECT room_id, membership, stream_id FROM room_members WHERE user_id = ?"
                " AND forgotten = 0", (user_id,)).fetchall())
            rooms = [(r[0], r[1], r[2]) for r in rows]
            self._user_rooms[user_id] = rooms
            while len(self._user_rooms) > self._cache_users:
                self._user_rooms.popitem(last=False)
        else:
            self._user_rooms.move_to_end(user_id)
        wanted = set(memberships)
        return [r for r in rooms if r[1] in wanted]

    async def membership(self, room_id: str, user_id: str) -> tuple[str, int, bool] | None:
        """(membership, stream_id, forgotten) of the user's current member event."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT membership, stream_id, forgotten FROM room_members"
            " WHERE room_id = ? AND user_id = ?", (room_id, user_id)).fetchone())
        return (row[0], row[1], bool(row[2])) if row else None

    async def members(self, room_id: str, memberships: Iterable[str] = ("join",)) -> list[str]:
        wanted = list(memberships)
        marks = ",".join("?" * len(wanted))
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT user_id FROM room_members WHERE room_id = ? AND membership IN ({marks})",
            (room_id, *wanted)).fetchall())
        return [r[0] for r in rows]

    async def membership_history(self, room_id: str, user_id: str) -> list[tuple[int, str]]:
        """Every membership the user had in the room: (stream_id, membership)."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT stream_id, json FROM events WHERE type = 'm.room.member' AND state_key = ?"
            " AND room_id = ? ORDER BY stream_id", (user_id, room_id)).fetchall())
        return [(r[0], str(orjson.loads(r[1])["content"].get("membership"))) for r in rows]

    async def membership_changes_since(self, user_id: str, since: int, upto: int
                                       ) -> list[tuple[str, str, int]]:
        """(room_id, membership, stream_id) of the user's member events in (since, upto]."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT room_id, json, stream_id FROM events WHERE type = 'm.room.member'"
            " AND state_key = ? AND stream_id > ? AND stream_id <= ? ORDER BY stream_id",
            (user_id, since, upto)).fetchall())
        return [(r[0], str(orjson.loads(r[1])["content"].get("membership")), r[2]) for r in rows]

    async def shares_room(self, user_a: str, user_b: str) -> bool:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT 1 FROM room_members a JOIN room_members b ON a.room_id = b.room_id"
            " WHERE a.user_id = ? AND b.user_id = ? AND a.membership = 'join'"
            " AND b.membership = 'join' LIMIT 1", (user_a, user_b)).fetchone())
        return row is not None
