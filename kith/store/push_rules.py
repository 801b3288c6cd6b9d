"""Each user's push rules in their stored form (see kith.push.ruleset).

A change writes the new stored form and, in the same transaction, the
`m.push_rules` global account data event (push.md: "When a user changes
their push rules a `m.push_rules` event is sent to all clients in the
`account_data` section of their next /sync request").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from kith.store.account_data import AccountDataStore
from kith.store.database import Cursor, Database

JsonDict = dict[str, Any]

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS push_rules (
        user_id TEXT PRIMARY KEY,
        rules BLOB NOT NULL
    )""",
]


def _stored(cur: Cursor, user_id: str) -> JsonDict:
    row = cur.execute("SELECT rules FROM push_rules WHERE user_id = ?", (user_id,)).fetchone()
    value = orjson.loads(row[0]) if row else {}
    return value if isinstance(value, dict) else {}


class PushRuleStore:
    def __init__(self, db: Database, account_data: AccountDataStore) -> None:
        self._db = db
        self._account_data = account_data

    async def get(self, user_id: str) -> JsonDict:
        """The stored form; {} when the user never changed anything."""
        return await self._db.read(lambda cur: _stored(cur, user_id))

    async def update(self, user_id: str, change: Callable[[JsonDict], JsonDict],
                     account_data: Callable[[JsonDict], JsonDict]) -> JsonDict:
        """Apply `change` to the stored form atomically (an exception from it
        rolls back) and write `account_data(new)` as m.push_rules."""

        def txn(cur: Cursor) -> JsonDict:
            new = change(_stored(cur, user_id))
            cur.execute(
                "INSERT INTO push_rules (user_id, rules) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules",
                (user_id, orjson.dumps(new)))
            self._account_data.put_txn(cur, user_id, None, "m.push_rules", account_data(new))
            return new

        return await self._db.write(txn)
