"""Events of a room by origin_server_ts, for timestamp_to_event
(room_event_by_timestamp.yaml). The index makes "the first event at or after
(before) ts" a seek instead of a scan of the room."""

from __future__ import annotations

from kith.store.database import Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

SCHEMA = [
    "CREATE INDEX IF NOT EXISTS events_room_ts ON events (room_id, origin_server_ts, stream_id)",
]


class TimestampStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def around(self, room_id: str, ts: int, forwards: bool, after: tuple[int, int] | None,
                     limit: int) -> list[StoredEvent]:
        """Up to `limit` events of the room with origin_server_ts >= ts, oldest
        first (forwards), or <= ts, newest first; `after` is the
        (origin_server_ts, stream_id) of the last event already looked at."""
        if forwards:
            cond, order, cmp = "origin_server_ts >= ?", "ASC", ">"
        else:
            cond, order, cmp = "origin_server_ts <= ?", "DESC", "<"
        sql = f"SELECT {_COLUMNS} FROM events WHERE room_id = ? AND {cond}"
        params: list[object] = [room_id, ts]
        if after is not None:
            sql += f" AND (origin_server_ts, stream_id) {cmp} (?, ?)"
            params.extend(after)
        sql += f" ORDER BY origin_server_ts {order}, stream_id {order} LIMIT ?"
        params.append(limit)
        rows = await self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [_row_to_event(r) for r in rows]
