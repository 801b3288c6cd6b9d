"""Content reports (spec: report_content.yaml): rooms, events and users that
local users reported, kept for the server administrator."""

from __future__ import annotations

import time

from kith.store.database import Cursor, Database
from kith.store.dialect import Statement

SCHEMA: list[Statement] = [
    lambda d: f"""CREATE TABLE IF NOT EXISTS content_reports (
        report_id {d.autoincrement_primary_key},
        received_ts INTEGER NOT NULL,
        reporter TEXT NOT NULL,
        room_id TEXT,
        event_id TEXT,
        target_user TEXT,
        reason TEXT,
        score INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS content_reports_room ON content_reports (room_id)",
]


class ReportStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, reporter: str, *, room_id: str | None = None, event_id: str | None = None,
                  target_user: str | None = None, reason: str | None = None,
                  score: int | None = None) -> int:
        def txn(cur: Cursor) -> int:
            row = cur.execute(
                "INSERT INTO content_reports (received_ts, reporter, room_id, event_id,"
                " target_user, reason, score) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING report_id",
                (int(time.time() * 1000), reporter, room_id, event_id, target_user, reason, score)
            ).fetchone()
            return int(row[0])

        return await self._db.write(txn)

    async def all(self) -> list[dict[str, object]]:
        """Every report, oldest first (for administrators and tests)."""
        columns = ("report_id", "received_ts", "reporter", "room_id", "event_id", "target_user",
                   "reason", "score")
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {', '.join(columns)} FROM content_reports ORDER BY report_id").fetchall())
        return [dict(zip(columns, row)) for row in rows]
