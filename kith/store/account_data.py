"""Per-user account data, global and per room (spec: client-server-api
modules/account_data.md "Client Config").

One row per (user, room or '', type) holding the latest content and the global
stream position of its last change, so /sync can ask "what changed in
(since, upto]" with one indexed query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from kith.store.database import Cursor, Database

JsonDict = dict[str, Any]

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS account_data (
        user_id TEXT NOT NULL,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        content BLOB NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, room_id, type)
    )""",
    "CREATE INDEX IF NOT EXISTS account_data_stream ON account_data (user_id, stream_id)",
]
STREAM_TABLES = ["account_data"]


def _load(raw: bytes | str) -> JsonDict:
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else {}


# (user_id, room_id or None, type): told of every write, inside its
# transaction, so caches derived from account data drop their copy.
WriteListener = Callable[[str, str | None, str], None]


class AccountDataStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.on_write: list[WriteListener] = []

    def put_txn(self, cur: Cursor, user_id: str, room_id: str | None, type: str,
                content: JsonDict) -> int:
        """Write inside a caller's transaction; returns the new stream position."""
        stream_id = self._db.next_stream_id()
        cur.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type) DO UPDATE SET"
            " content = excluded.content, stream_id = excluded.stream_id",
            (user_id, room_id or "", type, orjson.dumps(content), stream_id),
        )
        for listener in self.on_write:
            listener(user_id, room_id, type)
        return stream_id

    async def put(self, user_id: str, room_id: str | None, type: str, content: JsonDict) -> int:
        return await self._db.write(lambda cur: self.put_txn(cur, user_id, room_id, type, content))

    async def update(self, user_id: str, room_id: str | None, type: str,
                     change: Callable[[JsonDict | None], JsonDict | None]) -> int | None:
        """Read-modify-write in one transaction (used for m.tag). `change` gets
        the current content (None when unset) and returns the new content, or
        None to leave it unchanged. Returns the new stream position, if any."""

        def txn(cur: Cursor) -> int | None:
            new = change(self._get(cur, user_id, room_id, type))
            if new is None:
                return None
            return self.put_txn(cur, user_id, room_id, type, new)

        return await self._db.write(txn)

    @staticmethod
    def _get(cur: Cursor, user_id: str, room_id: str | None, type: str) -> JsonDict | None:
        row = cur.execute(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            (user_id, room_id or "", type),
        ).fetchone()
        return _load(row[0]) if row else None

    async def get(self, user_id: str, room_id: str | None, type: str) -> JsonDict | None:
        return await self._db.read(lambda cur: self._get(cur, user_id, room_id, type))

    async def changed_since(self, user_id: str, since: int | None, upto: int
                            ) -> tuple[list[JsonDict], dict[str, list[JsonDict]]]:
        """Account data events changed in (since, upto]; since None means all.

        Returns (global events, {room_id: room events}), each event being
        {"type", "content"} as /sync's `account_data` sections carry them.
        """
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT room_id, type, content FROM account_data WHERE user_id = ?"
            " AND stream_id > ? AND stream_id <= ? ORDER BY stream_id",
            (user_id, since if since is not None else -1, upto),
        ).fetchall())
        global_events: list[JsonDict] = []
        rooms: dict[str, list[JsonDict]] = {}
        for room_id, etype, content in rows:
            event = {"type": etype, "content": _load(content)}
            if room_id:
                rooms.setdefault(room_id, []).append(event)
            else:
                global_events.append(event)
        return global_events, rooms
