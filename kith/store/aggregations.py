"""Reads for bundled aggregations (client-server-api "Aggregations of child
events"): the latest edit, thread summaries and references of a page of events,
each in one query for the whole page.

Only live relationships count: "when a child event is redacted then the
relationship is broken. Therefore, the server needs to de-aggregate" it
(client-server-api "Redactions"). A `Scope` narrows the children further to
those one reader may see: the stream ranges their history visibility covers,
and nothing from users they ignore ("Servers must additionally ensure they do
not consider child events from ignored users when preparing an aggregation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from kith.store.database import Cursor, Database
from kith.store.event_rows import _COLUMNS, StoredEvent, _row_to_event

MAX_REFERENCES = 50
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Scope:
    """The children a reader may see: `windows` are inclusive stream ranges
    (None: all of them); `ignored` senders' non-state events are left out
    (as kith.sync.ignored.hides)."""

    windows: tuple[tuple[int, int], ...] | None = None
    ignored: frozenset[str] = frozenset()

    def sql(self, prefix: str = "") -> tuple[str, list[Any]]:
        """An `AND ...` condition on the children's columns, and its parameters."""
        clause = ""
        params: list[Any] = []
        if self.windows is not None:
            if not self.windows:
                return " AND 1 = 0", []
            ranges = " OR ".join(f"{prefix}stream_id BETWEEN ? AND ?" for _ in self.windows)
            clause += f" AND ({ranges})"
            params += [bound for window in self.windows for bound in window]
        if self.ignored:
            marks = ",".join("?" * len(self.ignored))
            clause += f" AND NOT ({prefix}sender IN ({marks}) AND {prefix}state_key IS NULL)"
            params += sorted(self.ignored)
        return clause, params


EVERYTHING = Scope()


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
    # parent -> (lowest, highest) stream position among the children each
    # aggregation above was computed from, so a caller can tell whether a
    # reader's visibility covers all of them.
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    def replace(self, parents: list[str], other: Bundles) -> None:
        """Take the aggregations of `parents` from `other`."""
        for parent in parents:
            _take(self.replacements, other.replacements, parent)
            _take(self.threads, other.threads, parent)
            _take(self.references, other.references, parent)
            _take(self.spans, other.spans, parent)

    def _widen(self, parent: str, low: int, high: int) -> None:
        old = self.spans.get(parent)
        self.spans[parent] = (min(low, old[0]), max(high, old[1])) if old else (low, high)


class AggregationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def bundles(self, event_ids: list[str], user_id: str | None,
                      scope: Scope = EVERYTHING) -> Bundles:
        ids = list(dict.fromkeys(event_ids))[:1000]
        if not ids:
            return Bundles({}, {}, {})
        marks = ",".join("?" * len(ids))
        cols = ", ".join("r." + c.strip() for c in _COLUMNS.split(","))
        edits_scope, edits_params = scope.sql("r.")
        children_scope, children_params = scope.sql()

        def txn(cur: Cursor) -> Bundles:
            bundles = Bundles({}, {}, {})
            # event_replacements.md "Validity of replacement events": same
            # room, sender and type, neither a state event, the original not
            # itself an edit; the most recent valid edit is bundled, and none
            # for a redacted original ("If the original event is redacted, any
            # m.replace relationship should not be bundled with it").
            for row in cur.execute(
                    f"SELECT {_COLUMNS} FROM (SELECT {cols}, ROW_NUMBER() OVER"
                    " (PARTITION BY r.relates_to ORDER BY r.stream_id DESC) AS n"
                    " FROM events r JOIN events o ON o.event_id = r.relates_to"
                    f" WHERE r.relates_to IN ({marks}) AND r.rel_type = 'm.replace'"
                    " AND r.room_id = o.room_id AND r.sender = o.sender AND r.type = o.type"
                    " AND o.state_key IS NULL AND r.state_key IS NULL"
                    " AND (o.rel_type IS NULL OR o.rel_type <> 'm.replace')"
                    f" AND o.redacted_by IS NULL AND r.redacted_by IS NULL{edits_scope})"
                    " AS edits WHERE n = 1", (*ids, *edits_params)):
                edit = _row_to_event(row)
                target = edit.content.get("m.relates_to", {}).get("event_id")
                if isinstance(target, str):
                    bundles.replacements[target] = edit
                    bundles._widen(target, edit.stream_id, edit.stream_id)
            # threading.md: `count` is the number of m.thread children, not
            # counting ignored users' events; the latest one is bundled.
            summaries = cur.execute(
                "SELECT thread_id, COUNT(*), MIN(stream_id), MAX(stream_id),"
                " MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END) FROM events"
                f" WHERE thread_id IN ({marks}) AND rel_type = 'm.thread'"
                f" AND redacted_by IS NULL{children_scope} GROUP BY thread_id",
                (user_id or "", *ids, *children_params)).fetchall()
            latest_ids = [int(s[3]) for s in summaries]
            latest = {} if not latest_ids else {
                e.stream_id: e for e in map(_row_to_event, cur.execute(
                    f"SELECT {_COLUMNS} FROM events WHERE stream_id IN"
                    f" ({','.join('?' * len(latest_ids))})", latest_ids))}
            for root, count, low, high, mine in summaries:
                event = latest.get(int(high))
                if event is not None:
                    bundles.threads[root] = (ThreadSummary(int(count), int(high), bool(mine)),
                                             event)
                    bundles._widen(root, int(low), int(high))
            # reference_relations.md: the chunk lists the referencing events,
            # here the first MAX_REFERENCES of each parent.
            for target, event_id, stream_id, n, last in cur.execute(
                    "SELECT relates_to, event_id, stream_id, n, last FROM (SELECT relates_to,"
                    " event_id, stream_id, ROW_NUMBER() OVER"
                    " (PARTITION BY relates_to ORDER BY stream_id) AS n,"
                    " MAX(stream_id) OVER (PARTITION BY relates_to) AS last FROM events"
                    f" WHERE relates_to IN ({marks}) AND rel_type = 'm.reference'"
                    f" AND redacted_by IS NULL{children_scope}) AS refs WHERE n <= ?"
                    " ORDER BY relates_to, n", (*ids, *children_params, MAX_REFERENCES)):
                bundles.references.setdefault(target, []).append(event_id)
                if n == 1:
                    bundles._widen(target, int(stream_id), int(last))
            return bundles

        return await self._db.read(txn)


def _take(mine: dict[str, _V], theirs: dict[str, _V], key: str) -> None:
    mine.pop(key, None)
    if key in theirs:
        mine[key] = theirs[key]
