"""Pushers (spec: client-server-api modules/push.md, pusher.yaml).

A pusher is keyed by (user, app_id, pushkey). They are only stored for now:
nothing is sent to push gateways yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kith.store.accounts import now_ms
from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS pushers (
        user_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        pushkey TEXT NOT NULL,
        kind TEXT NOT NULL,
        app_display_name TEXT NOT NULL,
        device_display_name TEXT NOT NULL,
        profile_tag TEXT,
        lang TEXT NOT NULL,
        data BLOB NOT NULL,
        device_id TEXT,
        created_ts INTEGER NOT NULL,
        PRIMARY KEY (user_id, app_id, pushkey)
    )""",
    "CREATE INDEX IF NOT EXISTS pushers_key ON pushers (app_id, pushkey)",
]


@dataclass(frozen=True, slots=True)
class Pusher:
    user_id: str
    app_id: str
    pushkey: str
    kind: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str
    data: dict[str, Any]
    device_id: str | None = None


_COLUMNS = ("user_id, app_id, pushkey, kind, app_display_name, device_display_name,"
            " profile_tag, lang, data, device_id")


class PusherStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_user(self, user_id: str) -> list[Pusher]:
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM pushers WHERE user_id = ? ORDER BY created_ts, app_id, pushkey",
            (user_id,)).fetchall())
        return [Pusher(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], orjson.loads(r[8]), r[9])
                for r in rows]

    async def upsert(self, pusher: Pusher, append: bool) -> None:
        """Create or update; without `append`, pushers with the same app_id and
        pushkey for other users are removed (pusher.yaml `append`)."""

        def txn(cur: Cursor) -> None:
            if not append:
                cur.execute(
                    "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id != ?",
                    (pusher.app_id, pusher.pushkey, pusher.user_id))
            cur.execute(
                f"INSERT INTO pushers ({_COLUMNS}, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET kind = excluded.kind,"
                " app_display_name = excluded.app_display_name,"
                " device_display_name = excluded.device_display_name,"
                " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data,"
                " device_id = excluded.device_id",
                (pusher.user_id, pusher.app_id, pusher.pushkey, pusher.kind,
                 pusher.app_display_name, pusher.device_display_name, pusher.profile_tag,
                 pusher.lang, orjson.dumps(pusher.data), pusher.device_id, now_ms()))

        await self._db.write(txn)

    async def delete(self, user_id: str, app_id: str, pushkey: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            (user_id, app_id, pushkey)))
