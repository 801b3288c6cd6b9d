"""The full-text index behind POST /search (search.yaml), in SQLite FTS5.

Spec: client-server-api/modules/search.md, `room_events`: the searchable keys
are `content.body` of m.room.message, `content.name` of m.room.name and, of
m.room.topic, `content.topic` and the text/plain `body` in `content['m.topic']`.
One FTS5 row per such event, its rowid the event's stream position. The index
follows the events table in stream order from `event_search_position`
(kept in the same transaction as the rows, so a restart loses nothing); a
redaction removes its target's row, and redacted events are never indexed.

FTS5 is part of the sqlite3 module of CPython's own builds and of the Debian
and Ubuntu packages; without it Kith refuses to start with a clear message
rather than silently offering no search.

This is the SQLite search store, written against FTS5 on purpose (MATCH,
bm25, rowid, a TEMP table per request) and outside kith.store.dialect: full-text
search differs too much between databases for fragments to bridge. Another
backend provides its own store with the same methods (PostgreSQL: a tsvector
column with a GIN index, ranked by ts_rank).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kith.store.database import Cursor, Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

KEYS = ("content.body", "content.name", "content.topic")
BATCH = 1000
COUNT_CAP = 10_000

_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS event_search USING fts5("
    " text, key UNINDEXED, room_id UNINDEXED, sender UNINDEXED,"
    " tokenize = 'unicode61 remove_diacritics 2')",
    """CREATE TABLE IF NOT EXISTS event_search_position (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        stream_id INTEGER NOT NULL
    )""",
    "INSERT INTO event_search_position (id, stream_id) VALUES (0, 0) ON CONFLICT (id) DO NOTHING",
]
# Per request: the stream ranges of each room whose events the searcher may
# see (history visibility), joined against the matches.
_WINDOWS = [
    "CREATE TEMP TABLE IF NOT EXISTS search_windows (room_id TEXT NOT NULL,"
    " lo INTEGER NOT NULL, hi INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS temp.search_windows_room ON search_windows (room_id, lo)",
    "DELETE FROM temp.search_windows",
]
_VISIBLE = ("EXISTS (SELECT 1 FROM temp.search_windows w WHERE w.room_id = event_search.room_id"
            " AND event_search.rowid BETWEEN w.lo AND w.hi)")


_MATCH = "rowid, bm25(event_search), room_id, sender"


class Fts5Missing(RuntimeError):
    pass


def require_fts5() -> None:
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        raise Fts5Missing("Kith needs SQLite with the FTS5 extension (server-side search,"
                          " search.yaml); this Python's sqlite3 module lacks it") from None


def searchable_text(event: StoredEvent) -> tuple[str, str] | None:
    """(key, text) for an event search covers, or None."""
    content = event.content
    if event.type == "m.room.message":
        body = content.get("body")
        return ("content.body", body) if isinstance(body, str) and body else None
    if event.type == "m.room.name" and event.state_key == "":
        name = content.get("name")
        return ("content.name", name) if isinstance(name, str) and name else None
    if event.type == "m.room.topic" and event.state_key == "":
        parts = [content.get("topic"), *_plain_topic_blocks(content)]
        texts = list(dict.fromkeys(p for p in parts if isinstance(p, str) and p))
        return ("content.topic", "\n".join(texts)) if texts else None
    return None


def _plain_topic_blocks(content: dict[str, Any]) -> list[str]:
    """Bodies of the text/plain representations in m.room.topic's `m.topic`."""
    blocks = content.get("m.topic")
    if not isinstance(blocks, list):
        return []
    return [str(b["body"]) for b in blocks if isinstance(b, dict)
            and isinstance(b.get("body"), str) and b.get("mimetype", "text/plain") == "text/plain"]


def redaction_target(event: StoredEvent) -> str | None:
    if event.type != "m.room.redaction":
        return None
    target = event.pdu.get("redacts", event.content.get("redacts"))
    return target if isinstance(target, str) else None


@dataclass(frozen=True, slots=True)
class Query:
    """An FTS5 match expression over some keys, within visibility windows."""

    match: str
    keys: tuple[str, ...]
    windows: list[tuple[str, int, int]]
    senders: tuple[str, ...] | None = None
    # ignore_users.md: the searcher's ignored users, whose messages are left
    # out. Their room names and topics stay: those are state events, which
    # "Servers must still send" (kith.sync.ignored.hides).
    ignored: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Match:
    stream_id: int
    rank: float
    room_id: str
    sender: str


class SearchStore:
    def __init__(self, db: Database) -> None:
        require_fts5()
        self._db = db

        def create(cur: Cursor) -> None:
            for statement in _TABLES:
                cur.execute(statement)

        db.write_sync(create)

    async def catch_up(self) -> None:
        """Index every event after the stored position, in batches."""
        while True:
            def txn(cur: Cursor) -> int:
                position = int(cur.execute(
                    "SELECT stream_id FROM event_search_position").fetchone()[0])
                rows = cur.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE stream_id > ? ORDER BY stream_id"
                    " LIMIT ?", (position, BATCH)).fetchall()
                events = [_row_to_event(r) for r in rows]
                _index(cur, events)
                if events:
                    cur.execute("UPDATE event_search_position SET stream_id = ?",
                                (events[-1].stream_id,))
                return len(events)

            if await self._db.write(txn) < BATCH:
                return

    def _prepare(self, cur: Cursor, query: Query) -> tuple[str, list[Any]]:
        for statement in _WINDOWS:
            cur.execute(statement)
        cur.executemany("INSERT INTO temp.search_windows (room_id, lo, hi) VALUES (?, ?, ?)",
                        query.windows)
        where = (f"event_search MATCH ? AND key IN ({','.join('?' * len(query.keys))})"
                 f" AND {_VISIBLE}")
        params: list[Any] = [query.match, *query.keys]
        if query.senders is not None:
            where += f" AND sender IN ({','.join('?' * len(query.senders))})"
            params.extend(query.senders)
        if query.ignored:
            where += (f" AND NOT (sender IN ({','.join('?' * len(query.ignored))})"
                      " AND key = 'content.body')")
            params.extend(sorted(query.ignored))
        return where, params

    async def search(self, query: Query, by_rank: bool, start: int | None, limit: int
                     ) -> list[Match]:
        """Matches by rank (higher first, `start` an offset) or newest first
        (`start` a stream position to go below)."""
        if not query.windows or not query.keys:
            return []

        def txn(cur: Cursor) -> list[Match]:
            where, params = self._prepare(cur, query)
            if by_rank:
                sql = (f"SELECT {_MATCH} FROM event_search WHERE {where}"
                       " ORDER BY bm25(event_search), rowid DESC LIMIT ? OFFSET ?")
                params += [limit, start or 0]
            else:
                if start is not None:
                    where += " AND rowid < ?"
                    params.append(start)
                sql = (f"SELECT {_MATCH} FROM event_search WHERE {where}"
                       " ORDER BY rowid DESC LIMIT ?")
                params.append(limit)
            # bm25 is lower for better matches; search.yaml's rank is higher.
            return [Match(int(r[0]), -float(r[1]), r[2], r[3]) for r in cur.execute(sql, params)]

        return await self._db.read(txn)

    async def events_at(self, stream_ids: list[int]) -> list[StoredEvent]:
        if not stream_ids:
            return []
        marks = ",".join("?" * len(stream_ids))
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id IN ({marks})", stream_ids).fetchall())
        return [_row_to_event(r) for r in rows]

    async def count(self, query: Query) -> int:
        """The number of matches the searcher may see, counted up to COUNT_CAP
        (search.yaml: `count` is "an approximate count")."""
        if not query.windows or not query.keys:
            return 0

        def txn(cur: Cursor) -> int:
            where, params = self._prepare(cur, query)
            row = cur.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM event_search WHERE {where}"
                              " LIMIT ?)", [*params, COUNT_CAP]).fetchone()
            return int(row[0])

        return await self._db.read(txn)


def _index(cur: Cursor, events: Iterable[StoredEvent]) -> None:
    for event in events:
        target = redaction_target(event)
        if target is not None:
            cur.execute("DELETE FROM event_search WHERE rowid ="
                        " (SELECT stream_id FROM events WHERE event_id = ?)", (target,))
            continue
        found = searchable_text(event) if not event.redacted_by else None
        if found is not None:
            cur.execute("INSERT INTO event_search (rowid, text, key, room_id, sender)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (event.stream_id, found[1], found[0], event.room_id, event.sender))
