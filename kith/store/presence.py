"""Each user's last published presence (spec: client-server-api
modules/presence.md).

One row per user, overwritten on every change others are told about; its
`stream_id` is the global position of that change, so /sync asks "whose
presence changed in (since, upto]" with one indexed query, and a restart
keeps the last state and status message.
"""

from __future__ import annotations

from typing import get_args

from kith.ephemeral.presence_rules import Presence, PresenceState, Source
from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS presence (
        user_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        status_msg TEXT,
        last_active_ts INTEGER NOT NULL,
        source TEXT NOT NULL,
        stream_id INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS presence_stream ON presence (stream_id)",
]
STREAM_TABLES = ["presence"]

_COLUMNS = "user_id, state, status_msg, last_active_ts, source"


def _row(row: tuple[str, str, str | None, int, str]) -> tuple[str, Presence]:
    state: PresenceState = row[1] if row[1] in get_args(PresenceState) else "offline"  # type: ignore[assignment]
    source: Source = row[4] if row[4] in get_args(Source) else "none"  # type: ignore[assignment]
    return row[0], Presence(state, row[2], int(row[3]), source)


class PresenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, user_id: str, presence: Presence) -> int:
        """Record a published change; returns its stream position."""

        def txn(cur: Cursor) -> int:
            stream_id = self._db.next_stream_id()
            cur.execute(
                f"INSERT INTO presence ({_COLUMNS}, stream_id) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
                " status_msg = excluded.status_msg, last_active_ts = excluded.last_active_ts,"
                " source = excluded.source, stream_id = excluded.stream_id",
                (user_id, presence.state, presence.status_msg, presence.last_active_ms,
                 presence.source, stream_id))
            return stream_id

        return await self._db.write(txn)

    async def get(self, user_id: str) -> Presence | None:
        row = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM presence WHERE user_id = ?", (user_id,)).fetchone())
        return _row(row)[1] if row else None

    async def changed_since(self, since: int, upto: int, limit: int) -> list[str]:
        """Users whose presence changed in (since, upto], the latest first."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT user_id FROM presence WHERE stream_id > ? AND stream_id <= ?"
            " ORDER BY stream_id DESC LIMIT ?", (since, upto, limit)).fetchall())
        return [r[0] for r in rows]

    async def not_offline(self) -> list[tuple[str, Presence]]:
        """Users last seen online or unavailable (loaded once at start)."""
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM presence WHERE state != 'offline'").fetchall())
        return [_row(r) for r in rows]
