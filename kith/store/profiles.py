"""Extended profile fields (profile.yaml since v1.16: `m.tz` and custom
namespaced keys). `displayname` and `avatar_url` stay in the users table."""

from __future__ import annotations

from typing import Any

import orjson

from kith.store.database import Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS profile_fields (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (user_id, key)
    )""",
]


class ProfileFieldStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def fields(self, user_id: str) -> dict[str, Any]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT key, value FROM profile_fields WHERE user_id = ? ORDER BY key",
            (user_id,)).fetchall())
        return {key: orjson.loads(value) for key, value in rows}

    async def set(self, user_id: str, key: str, value: Any) -> None:
        await self._db.write(lambda cur: cur.execute(
            "INSERT INTO profile_fields (user_id, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
            (user_id, key, orjson.dumps(value))))

    async def delete(self, user_id: str, key: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "DELETE FROM profile_fields WHERE user_id = ? AND key = ?", (user_id, key)))
