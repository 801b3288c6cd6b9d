"""Notifications for GET /notifications (notifications.yaml): one row per
(user, event) whose push actions notified the user, with those actions.

Rows are derived from the events table in stream order (see
kith.api.notifications); `notifications_position` records how far, in the
same transaction as the rows, so every event is evaluated exactly once even
across restarts. A user keeps at most MAX_PER_USER rows: the oldest go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from kith.store.database import Cursor, Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS notifications (
        user_id TEXT NOT NULL,
        stream_id INTEGER NOT NULL,
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        thread_id TEXT,
        ts INTEGER NOT NULL,
        actions BLOB NOT NULL,
        highlight INTEGER NOT NULL,
        PRIMARY KEY (user_id, stream_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS notifications_highlight ON notifications (user_id, stream_id)"
    " WHERE highlight = 1",
    """CREATE TABLE IF NOT EXISTS notifications_position (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        stream_id INTEGER NOT NULL
    )""",
]

MAX_PER_USER = 1000
# Pruning a user's oldest rows is one indexed delete; doing it after every
# PRUNE_EVERY new rows for them keeps a user at most that far over the bound.
PRUNE_EVERY = 50


@dataclass(frozen=True, slots=True)
class Notification:
    user_id: str
    stream_id: int
    room_id: str
    event_id: str
    thread_id: str | None
    ts: int
    actions: list[Any]
    highlight: bool


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._since_prune: dict[str, int] = {}
        db.write_sync(self._start)

    def _start(self, cur: Cursor) -> None:
        """The first time (no position yet) evaluation starts at the current
        end of the stream: events from before this table existed were never
        notified about. Run when the app is built, before any new event."""
        cur.execute("INSERT INTO notifications_position (id, stream_id) VALUES (0, ?)"
                    " ON CONFLICT (id) DO NOTHING", (self._db.current_stream_id,))

    async def position(self) -> int:
        """How far the events have been evaluated."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT stream_id FROM notifications_position").fetchone())
        return int(row[0])

    async def events_after(self, position: int, limit: int) -> list[StoredEvent]:
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id > ? ORDER BY stream_id LIMIT ?",
            (position, limit)).fetchall())
        return [_row_to_event(r) for r in rows]

    async def joined(self, room_id: str) -> dict[str, int]:
        """The room's joined users and the stream position of their join."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT user_id, stream_id FROM room_members WHERE room_id = ? AND membership = 'join'",
            (room_id,)).fetchall())
        return {r[0]: int(r[1]) for r in rows}

    async def record(self, rows: Iterable[Notification], position: int) -> None:
        """Add rows and move the position to `position`, in one transaction."""
        rows = list(rows)
        touched: list[str] = []
        for row in rows:
            count = self._since_prune.get(row.user_id, 0) + 1
            self._since_prune[row.user_id] = count
            if count >= PRUNE_EVERY:
                touched.append(row.user_id)
                self._since_prune[row.user_id] = 0
        if len(self._since_prune) > 100_000:
            self._since_prune.clear()

        def txn(cur: Cursor) -> None:
            cur.executemany(
                "INSERT OR IGNORE INTO notifications (user_id, stream_id, room_id, event_id,"
                " thread_id, ts, actions, highlight) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.user_id, r.stream_id, r.room_id, r.event_id, r.thread_id, r.ts,
                  orjson.dumps(r.actions), int(r.highlight)) for r in rows])
            for user_id in dict.fromkeys(touched):
                cur.execute(
                    "DELETE FROM notifications WHERE user_id = ? AND stream_id <= ("
                    " SELECT stream_id FROM notifications WHERE user_id = ?"
                    " ORDER BY stream_id DESC LIMIT 1 OFFSET ?)",
                    (user_id, user_id, MAX_PER_USER))
            cur.execute("UPDATE notifications_position SET stream_id = ?", (position,))

        await self._db.write(txn)

    async def page(self, user_id: str, before: int | None, limit: int, highlight_only: bool
                   ) -> list[Notification]:
        """The user's notifications older than `before`, newest first."""
        sql = ("SELECT user_id, stream_id, room_id, event_id, thread_id, ts, actions, highlight"
               " FROM notifications WHERE user_id = ?")
        params: list[Any] = [user_id]
        if before is not None:
            sql += " AND stream_id < ?"
            params.append(before)
        if highlight_only:
            sql += " AND highlight = 1"
        sql += " ORDER BY stream_id DESC LIMIT ?"
        params.append(limit)
        rows = await self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [Notification(r[0], r[1], r[2], r[3], r[4], r[5], orjson.loads(r[6]), bool(r[7]))
                for r in rows]

    async def delete_user(self, user_id: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "DELETE FROM notifications WHERE user_id = ?", (user_id,)))
