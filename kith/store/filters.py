"""Uploaded filters (filter.yaml). Filter IDs are per-user decimal counters,
so they never start with "{" (filter.yaml: that marks inline JSON)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from kith.store.database import Cursor, Database
from kith.sync.filter_errors import FilterError
from kith.sync.filters import SyncFilter, parse_filter

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS filters (
        user_id TEXT NOT NULL,
        filter_id INTEGER NOT NULL,
        definition BLOB NOT NULL,
        PRIMARY KEY (user_id, filter_id)
    )""",
]
_CACHE = 4096


class FilterStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._parsed: OrderedDict[tuple[str, str], SyncFilter] = OrderedDict()

    async def add(self, user_id: str, definition: dict[str, Any]) -> str:
        """Store an already validated definition; returns its filter ID."""

        def txn(cur: Cursor) -> int:
            row = cur.execute(
                "SELECT COALESCE(MAX(filter_id), -1) + 1 FROM filters WHERE user_id = ?",
                (user_id,)).fetchone()
            filter_id = int(row[0])
            cur.execute("INSERT INTO filters (user_id, filter_id, definition) VALUES (?, ?, ?)",
                        (user_id, filter_id, orjson.dumps(definition)))
            return filter_id

        return str(await self._db.write(txn))

    async def get_json(self, user_id: str, filter_id: str) -> dict[str, Any] | None:
        if not filter_id.isdigit() or len(filter_id) > 18:
            return None
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT definition FROM filters WHERE user_id = ? AND filter_id = ?",
            (user_id, int(filter_id))).fetchone())
        if row is None:
            return None
        value = orjson.loads(row[0])
        return value if isinstance(value, dict) else None

    async def get_filter(self, user_id: str, filter_id: str) -> SyncFilter | None:
        """The parsed filter for /sync, or None if the user has no such filter."""
        key = (user_id, filter_id)
        cached = self._parsed.get(key)
        if cached is not None:
            return cached
        definition = await self.get_json(user_id, filter_id)
        if definition is None:
            return None
        try:
            parsed = parse_filter(definition)
        except FilterError:
            return None  # validated on upload; only a changed parser could get here
        self._parsed[key] = parsed
        if len(self._parsed) > _CACHE:
            self._parsed.popitem(last=False)
        return parsed
