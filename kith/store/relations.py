"""Reads over the events table for relations.yaml, threads_list.yaml and the
published room directory (list_public_rooms.yaml).

Kept apart from EventStore so that module stays small; both read the same
tables, and this one never writes.

A redacted child no longer relates to its parent: "when a child event is
redacted then the relationship is broken" (client-server-api "Redactions"),
so it is neither listed nor counted.
"""

from __future__ import annotations

from typing import Any

from kith.store.aggregations import EVERYTHING, Scope
from kith.store.database import Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event


class RelationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def related_events(self, room_id: str, parents: list[str], rel_type: str | None,
                             event_type: str | None, after: int | None, upto: int | None,
                             backwards: bool, limit: int) -> list[StoredEvent]:
        """Events of the room relating to any of `parents`, in stream order."""
        if not parents:
            return []
        clauses = [f"relates_to IN ({','.join('?' * len(parents))})", "room_id = ?",
                   "redacted_by IS NULL"]
        params: list[Any] = [*parents, room_id]
        for clause, value in (("rel_type = ?", rel_type), ("type = ?", event_type),
                              ("stream_id > ?", after), ("stream_id <= ?", upto)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        order = "DESC" if backwards else "ASC"
        params.append(limit)
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
            f" ORDER BY stream_id {order} LIMIT ?", params).fetchall())
        return [_row_to_event(r) for r in rows]

    async def relation_children(self, room_id: str, parents: list[str], cap: int) -> list[str]:
        """IDs of events in the room relating to any of `parents` (at most `cap`)."""
        if not parents:
            return []
        marks = ",".join("?" * len(parents))
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT event_id FROM events WHERE relates_to IN ({marks}) AND room_id = ?"
            " AND redacted_by IS NULL ORDER BY stream_id LIMIT ?",
            (*parents, room_id, cap)).fetchall())
        return [r[0] for r in rows]

    async def thread_roots(self, room_id: str, upto: int, limit: int,
                           participant: str | None = None, scope: Scope = EVERYTHING
                           ) -> list[tuple[str, int]]:
        """(root event ID, stream_id of its latest thread event) for threads whose
        latest event is at or before `upto`, most recently active first. Only
        thread events within `scope` count, so a thread none of whose events
        the reader may see is not listed. With `participant`, only threads
        that user started or replied in."""
        having = ""
        params: list[Any] = []
        if participant is not None:
            having = (" AND (MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END) = 1 OR EXISTS"
                      " (SELECT 1 FROM events r WHERE r.event_id = e.thread_id AND r.sender = ?))")
            params += [participant, participant]
        scoped, scope_params = scope.sql("e.")
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT thread_id, MAX(stream_id) AS latest FROM events e WHERE room_id = ?"
            " AND rel_type = 'm.thread' AND thread_id IS NOT NULL AND redacted_by IS NULL"
            f"{scoped} GROUP BY thread_id HAVING MAX(stream_id) <= ?{having}"
            " ORDER BY latest DESC LIMIT ?",
            (room_id, *scope_params, upto, *params, limit)).fetchall())
        return [(r[0], r[1]) for r in rows]

    async def thread_summary(self, root_id: str, user_id: str
                             ) -> tuple[int, str | None, bool]:
        """(number of live thread events, latest one's ID, whether user_id replied)."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT COUNT(*), MAX(stream_id), MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END)"
            " FROM events WHERE thread_id = ? AND rel_type = 'm.thread' AND redacted_by IS NULL",
            (user_id, root_id)).fetchone())
        if not row or not row[0]:
            return 0, None, False
        latest = await self._db.read(lambda cur: cur.execute(
            "SELECT event_id FROM events WHERE stream_id = ?", (row[1],)).fetchone())
        return int(row[0]), latest[0] if latest else None, bool(row[2])

    async def joined_member_counts(self, room_ids: list[str]) -> dict[str, int]:
        if not room_ids:
            return {}
        marks = ",".join("?" * len(room_ids))
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT room_id, COUNT(*) FROM room_members WHERE room_id IN ({marks})"
            " AND membership = 'join' GROUP BY room_id", room_ids).fetchall())
        counts = {rid: 0 for rid in room_ids}
        counts.update({r[0]: int(r[1]) for r in rows})
        return counts
