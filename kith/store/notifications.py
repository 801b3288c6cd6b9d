"""Reads for GET /notifications (notifications.yaml): the newest events of a
set of rooms, across rooms in stream order.

Which of them notified the user is decided when the list is asked for (see
kith.api.notifications), so sending an event costs nothing here.
"""

from __future__ import annotations

from kith.store.database import Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

# Tables of an earlier layout that recorded every notification at send time.
SCHEMA = ["DROP TABLE IF EXISTS notifications", "DROP TABLE IF EXISTS notifications_position"]
# SQLite's default bound on host parameters is 32766; stay well below it.
ROOMS_PER_QUERY = 500


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def events_before(self, room_ids: list[str], before: int, limit: int
                            ) -> list[StoredEvent]:
        """Up to `limit` events of the rooms older than `before`, newest first."""
        found: list[StoredEvent] = []
        for start in range(0, len(room_ids), ROOMS_PER_QUERY):
            chunk = room_ids[start:start + ROOMS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.read(lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM events WHERE room_id IN ({marks}) AND stream_id < ?"
                " ORDER BY stream_id DESC LIMIT ?", (*chunk, before, limit)).fetchall())
            found += [_row_to_event(r) for r in rows]
        found.sort(key=lambda e: e.stream_id, reverse=True)
        return found[:limit]
