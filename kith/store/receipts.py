"""Read receipts (spec: client-server-api modules/receipts.md).

receipts.md "Events": each (user, receipt type, thread or unthreaded) has a
single event ID, so a row is keyed by those and overwritten on change; its
`stream_id` is the global position of that change, which is what /sync pages
by. `event_stream` is the stream position of the receipted event, so the
"up to" marker can be compared with timeline positions (unread counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS receipts (
        room_id TEXT NOT NULL,
        receipt_type TEXT NOT NULL,
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_stream INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
    )""",
    "CREATE INDEX IF NOT EXISTS receipts_stream ON receipts (room_id, stream_id)",
    "CREATE INDEX IF NOT EXISTS receipts_user ON receipts (user_id, room_id)",
    "CREATE INDEX IF NOT EXISTS receipts_since ON receipts (stream_id)",
]
STREAM_TABLES = ["receipts"]

PRIVATE = "m.read.private"
READ_TYPES = ("m.read", PRIVATE)
_CHUNK = 500


class ReceiptStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, room_id: str, receipt_type: str, user_id: str, thread_id: str | None,
                  event_id: str, event_stream: int, ts: int) -> int | None:
        """Move the user's marker to `event_id`; returns the new stream position,
        or None when the receipt would move the marker backwards (receipts are
        "up to" markers, so an older event changes nothing)."""

        def txn(cur: Cursor) -> int | None:
            row = cur.execute(
                "SELECT event_stream FROM receipts WHERE room_id = ? AND receipt_type = ?"
                " AND user_id = ? AND thread_id = ?",
                (room_id, receipt_type, user_id, thread_id or ""),
            ).fetchone()
            if row is not None and row[0] >= event_stream:
                return None
            stream_id = self._db.next_stream_id()
            cur.execute(
                "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id,"
                " event_stream, ts, stream_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET"
                " event_id = excluded.event_id, event_stream = excluded.event_stream,"
                " ts = excluded.ts, stream_id = excluded.stream_id",
                (room_id, receipt_type, user_id, thread_id or "", event_id, event_stream, ts,
                 stream_id),
            )
            return stream_id

        return await self._db.write(txn)

    async def for_rooms(self, room_ids: Iterable[str], since: int | None, upto: int,
                        requester: str) -> dict[str, dict[str, Any]]:
        """Per room, the `m.receipt` event (event-schemas m.receipt.yaml) of the
        receipts changed in (since, upto]; since None means every receipt.
        Private receipts are only the requester's own (receipts.md)."""
        rooms = list(room_ids)
        low = since if since is not None else -1

        def txn(cur: Cursor) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            if since is not None and len(rooms) > _CHUNK // 10:
                # Incremental sync of a user in many rooms: read what changed in
                # (since, upto] and keep their rooms' rows, instead of asking per room.
                wanted = set(rooms)
                return [row for row in cur.execute(
                    "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts FROM receipts"
                    " WHERE stream_id > ? AND stream_id <= ? AND (receipt_type != ? OR user_id = ?)"
                    " ORDER BY stream_id", (low, upto, PRIVATE, requester)) if row[0] in wanted]
            for start in range(0, len(rooms), _CHUNK):
                chunk = rooms[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += cur.execute(
                    "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts FROM receipts"
                    f" WHERE room_id IN ({marks}) AND stream_id > ? AND stream_id <= ?"
                    " AND (receipt_type != ? OR user_id = ?) ORDER BY stream_id",
                    (*chunk, low, upto, PRIVATE, requester),
                ).fetchall()
            return rows

        result: dict[str, dict[str, Any]] = {}
        for room_id, rtype, user_id, thread_id, event_id, ts in await self._db.read(txn):
            event = result.setdefault(room_id, {"type": "m.receipt", "content": {}})
            receipt: dict[str, Any] = {"ts": ts}
            if thread_id:
                receipt["thread_id"] = thread_id
            event["content"].setdefault(event_id, {}).setdefault(rtype, {})[user_id] = receipt
        return result

    async def last_read_position(self, room_id: str, user_id: str) -> int:
        """Stream position of the event the user's furthest m.read or
        m.read.private receipt points at (0 if none). Unthreaded and `main`
        receipts count: a receipt in another thread covers only that thread
        (receipts.md "Threaded read receipts")."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT MAX(event_stream) FROM receipts WHERE room_id = ? AND user_id = ?"
            " AND receipt_type IN (?, ?) AND thread_id IN ('', 'main')",
            (room_id, user_id, *READ_TYPES),
        ).fetchone())
        return int(row[0]) if row and row[0] is not None else 0

    async def read_positions(self, room_id: str, user_id: str) -> dict[str, int]:
        """{thread_id: furthest position of the user's m.read or m.read.private
        receipts} with '' for unthreaded ones, in one indexed read, for
        per-thread unread counts (receipts.md "Threaded read receipts")."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT thread_id, MAX(event_stream) FROM receipts WHERE room_id = ? AND user_id = ?"
            " AND receipt_type IN (?, ?) GROUP BY thread_id",
            (room_id, user_id, *READ_TYPES),
        ).fetchall())
        return {r[0]: int(r[1]) for r in rows}

    async def thread_read_positions(self, room_id: str, user_id: str) -> dict[str, int]:
        """{thread_id: furthest read position} for threaded receipts ('main' included)."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT thread_id, MAX(event_stream) FROM receipts WHERE room_id = ? AND user_id = ?"
            " AND receipt_type IN (?, ?) AND thread_id != '' GROUP BY thread_id",
            (room_id, user_id, *READ_TYPES),
        ).fetchall())
        return {r[0]: int(r[1]) for r in rows}
