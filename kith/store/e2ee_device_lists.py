"""The device-list stream: which users' devices or keys changed, and when.

Spec: end_to_end_encryption.md "Tracking the device list for a user" -- /sync
device_lists.changed lists users who changed their device identity or
cross-signing keys, or who now share an encrypted room with the client;
device_lists.left those who no longer share any room. A row with a room_id
records a membership change of user_id in that room; a row with a viewer is
only visible to that user (their own signatures of other users' keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS e2ee_device_lists (
        stream_id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        room_id TEXT,
        viewer TEXT
    )""",
]
STREAM_TABLES = ["e2ee_device_lists"]


@dataclass(frozen=True, slots=True)
class Change:
    user_id: str
    room_id: str | None
    viewer: str | None


def record_change(cur: Cursor, db: Database, user_id: str, room_id: str | None = None,
                  viewer: str | None = None) -> int:
    """Append a change inside the caller's write transaction."""
    stream_id = db.next_stream_id()
    cur.execute("INSERT INTO e2ee_device_lists (stream_id, user_id, room_id, viewer)"
                " VALUES (?, ?, ?, ?)", (stream_id, user_id, room_id, viewer))
    return stream_id


class DeviceListStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._membership = db.dialect.json_text("json", "content.membership")

    async def record(self, user_id: str, room_id: str | None = None,
                     viewer: str | None = None) -> None:
        await self._db.write(lambda cur: record_change(cur, self._db, user_id, room_id, viewer))

    async def record_memberships(self, changes: Iterable[tuple[str, str]]) -> None:
        """(user_id, room_id) membership changes, in one transaction."""
        items = list(changes)

        def txn(cur: Cursor) -> None:
            for user_id, room_id in items:
                record_change(cur, self._db, user_id, room_id)

        if items:
            await self._db.write(txn)

    async def changes(self, since: int, upto: int, viewer: str) -> list[Change]:
        """Changes in (since, upto] that viewer may see, oldest first."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT user_id, room_id, viewer FROM e2ee_device_lists"
            " WHERE stream_id > ? AND stream_id <= ? AND (viewer IS NULL OR viewer = ?)"
            " ORDER BY stream_id", (since, upto, viewer)).fetchall())
        return [Change(r[0], r[1], r[2]) for r in rows]

    async def users_sharing_rooms(self, user_id: str) -> set[str]:
        """Everyone joined to a room the user is joined to (the user included,
        if joined anywhere)."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT DISTINCT b.user_id FROM room_members a JOIN room_members b"
            " ON a.room_id = b.room_id WHERE a.user_id = ? AND a.membership = 'join'"
            " AND b.membership = 'join'", (user_id,)).fetchall())
        return {r[0] for r in rows}

    async def joined_rooms_at(self, user_id: str, position: int) -> set[str]:
        """Rooms the user was joined to at stream position `position`: those
        whose latest member event for them up to there says join."""
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT room_id, membership FROM (SELECT room_id, {self._membership} AS membership,"
            " ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY stream_id DESC) AS n"
            " FROM events WHERE type = 'm.room.member' AND state_key = ? AND stream_id <= ?)"
            " AS latest WHERE n = 1", (user_id, position)).fetchall())
        return {r[0] for r in rows if r[1] == "join"}

    async def joined_members_at(self, room_id: str, position: int) -> set[str]:
        """Users joined to the room at stream position `position`."""
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT state_key, membership FROM (SELECT state_key, {self._membership} AS"
            " membership, ROW_NUMBER() OVER (PARTITION BY state_key ORDER BY stream_id DESC)"
            " AS n FROM events WHERE room_id = ? AND type = 'm.room.member'"
            " AND state_key IS NOT NULL AND stream_id <= ?) AS latest WHERE n = 1",
            (room_id, position)).fetchall())
        return {r[0] for r in rows if r[1] == "join"}

    async def previous_membership(self, room_id: str, user_id: str, before: int) -> str | None:
        """The user's membership in the room just before stream position `before`."""
        row = await self._db.read(lambda cur: cur.execute(
            f"SELECT {self._membership} FROM events"
            " WHERE type = 'm.room.member' AND state_key = ? AND room_id = ? AND stream_id < ?"
            " ORDER BY stream_id DESC LIMIT 1", (user_id, room_id, before)).fetchone())
        return str(row[0]) if row and row[0] is not None else None
