"""Erased accounts (spec: client-server-api account_deactivation.yaml, `erase`).

A user who deactivates with `erase: true` asks for their content to be erased
as much as possible: users who join a room after the erasure are served
redacted copies of the events the account sent, while those who could see the
events before keep seeing them; non-event data (account data, profile fields,
push rules, pushers, filters, pending to-device messages) is deleted. The
stream position of the erasure is what "after" is measured against.
"""

from __future__ import annotations

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS erased_users (
        user_id TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL
    )""",
]

# Per-user data that is not an event: deleted outright on erasure.
_NON_EVENT_TABLES = ("account_data", "profile_fields", "push_rules", "pushers", "filters",
                     "e2ee_to_device")


class ErasureStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._erased: dict[str, int] | None = None

    def erased(self) -> dict[str, int]:
        """user_id -> stream position of the erasure (few rows; kept in memory)."""
        if self._erased is None:
            rows = self._db.read_sync(lambda cur: cur.execute(
                "SELECT user_id, stream_id FROM erased_users").fetchall())
            self._erased = {r[0]: r[1] for r in rows}
        return self._erased

    async def erase(self, user_id: str) -> None:
        """Record the erasure at the current position and delete the user's
        non-event data, in one transaction."""
        position = self._db.current_stream_id

        def txn(cur: Cursor) -> None:
            cur.execute("INSERT INTO erased_users (user_id, stream_id) VALUES (?, ?)"
                        " ON CONFLICT (user_id) DO NOTHING", (user_id, position))
            for table in _NON_EVENT_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))

        await self._db.write(txn)
        self.erased().setdefault(user_id, position)
