"""Reads for bundled aggregations (client-server-api "Aggregations of child
events"): the latest edit, thread summaries and references of a page of events,
each in one query for the whole page."""

from __future__ import annotations

from dataclasses import dataclass

from kith.store.database import Cursor, Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

MAX_REFERENCES = 50


@dataclass(slots=True)
class ThreadSummary:
    count: int
    latest_stream_id: int
    participated: bool


@dataclass(slots=True)
class Bundles:
    replacements: dict[str, StoredEvent]
    threads: dict[str, tuple[ThreadSummary, StoredEvent]]
    references: dict[str, list[str]]


class AggregationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def bundles(self, event_ids: list[str], user_id: str | None) -> Bundles:
        ids = list(dict.fromkeys(event_ids))[:1000]
        if not ids:
            return Bundles({}, {}, {})
        marks = ",".join("?" * len(ids))
        cols = ", ".join("r." + c.strip() for c in _COLUMNS.split(","))

        def txn(cur: Cursor) -> Bundles:
            # event_replacements.md: only edits by the original sender of a
            # non-state event count; the most recent one is bundled.
            replacements: dict[str, StoredEvent] = {}
            for row in cur.execute(
                    f"SELECT {cols} FROM events r JOIN events o ON o.event_id = r.relates_to"
                    f" WHERE r.relates_to IN ({marks}) AND r.rel_type = 'm.replace'"
                    " AND r.sender = o.sender AND o.state_key IS NULL AND r.state_key IS NULL"
                    " AND r.redacted_by IS NULL ORDER BY r.stream_id", ids):
                event = _row_to_event(row)
                target = event.content.get("m.relates_to", {}).get("event_id")
                if isinstance(target, str):
                    replacements[target] = event
            threads: dict[str, tuple[ThreadSummary, StoredEvent]] = {}
            summaries = cur.execute(
                f"SELECT thread_id, COUNT(*), MAX(stream_id),"
                f" MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END) FROM events"
                f" WHERE thread_id IN ({marks}) AND rel_type = 'm.thread' GROUP BY thread_id",
                (user_id or "", *ids)).fetchall()
            for root, count, latest, mine in summaries:
                row = cur.execute(f"SELECT {_COLUMNS} FROM events WHERE stream_id = ?",
                                  (latest,)).fetchone()
                if row is not None:
                    threads[root] = (ThreadSummary(int(count), int(latest), bool(mine)),
                                     _row_to_event(row))
            references: dict[str, list[str]] = {}
            for target, event_id in cur.execute(
                    f"SELECT relates_to, event_id FROM events WHERE relates_to IN ({marks})"
                    " AND rel_type = 'm.reference' ORDER BY stream_id", ids):
                chunk = references.setdefault(target, [])
                if len(chunk) < MAX_REFERENCES:
                    chunk.append(event_id)
            return Bundles(replacements, threads, references)

        return await self._db.read(txn)
