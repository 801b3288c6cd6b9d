"""Rooms, events and current state (membership queries: kith.store.memberships).

History on one server is linear: each new event's prev_events is the room's
previous event, so "state at stream position p" is the last state event per
(type, state_key) at or before p. Current state is kept in `current_state` and
cached per room in memory (bounded LRU); the cache is updated only by the
method that writes, after the transaction committed. Row types and the schema
live in kith.store.event_rows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson

from kith.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from kith.store.database import Cursor, Database
from kith.store.memberships import MembershipReads
from kith.store.event_rows import (  # noqa: F401  (re-exported for callers)
    _COLUMNS,
    SCHEMA,
    DuplicateTxn,
    STREAM_TABLES,
    Maker,
    NewEvent,
    Persisted,
    RoomSnapshot,
    StateKey,
    StoredEvent,
    Txn,
    _relation,
    _row_to_event,
)

__all__ = ["EventStore", "SCHEMA", "STREAM_TABLES", "DuplicateTxn", "Maker", "NewEvent",
           "Persisted", "RoomSnapshot", "StateKey", "StoredEvent", "Txn"]

class EventStore(MembershipReads):
    def __init__(self, db: Database, cache_rooms: int = 2048, cache_users: int = 4096) -> None:
        self._snapshots: OrderedDict[str, RoomSnapshot] = OrderedDict()
        self._cache_rooms = cache_rooms
        self._versions: dict[str, RoomVersion] = {}
        # room_id -> stream position of its latest event: incremental sync asks
        # "did this room change since p?" without touching the database.
        self._room_positions: dict[str, int] = {}
        self._positions_loaded = False
        super().__init__(db, cache_users)

    # -- writing ------------------------------------------------------------------

    async def persist(self, room_id: str | None, makers: Iterable[Maker]) -> list[Persisted]:
        """Build and persist events in one transaction: all or nothing.

        With room_id None the first maker builds the create event of a new room.
        """
        makers = list(makers)
        updated: dict[str, RoomSnapshot] = {}

        def txn(cur: Cursor) -> list[Persisted]:
            snapshot = self._load_snapshot(cur, room_id) if room_id else None
            if room_id and snapshot is None:
                raise KeyError(room_id)
            snapshot = snapshot.begin_change() if snapshot else None
            results = []
            for make in makers:
                new = make(snapshot)
                snapshot, persisted = self._insert(cur, snapshot, new)
                results.append(persisted)
            if snapshot is not None:
                updated[snapshot.room_id] = snapshot
            return results

        results = await self._db.write(txn)
        for rid, snap in updated.items():
            self._remember(snap)
            self._room_positions[rid] = results[-1].stream_id
        return results

    def _insert(self, cur: Cursor, snapshot: RoomSnapshot | None, new: NewEvent
                ) -> tuple[RoomSnapshot, Persisted]:
        pdu = new.pdu
        etype, sender = pdu["type"], pdu["sender"]
        state_key = pdu.get("state_key")
        if snapshot is None:
            # A new room: the create event defines its ID and version.
            version = KNOWN_ROOM_VERSIONS[str(pdu["content"].get("room_version", "1"))]
            room_id = pdu.get("room_id") or "!" + new.event_id[1:]
            cur.execute(
                "INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (?, ?, ?, ?)",
                (room_id, version.identifier, sender, pdu["origin_server_ts"]),
            )
            self._versions[room_id] = version
            snapshot = RoomSnapshot(room_id, version, {}, {}, None, 0, new.event_id)
        stream_id = self._db.next_stream_id()
        key = (etype, state_key) if isinstance(state_key, str) else None
        prev_state_id = snapshot.state_ids.get(key) if key else None
        relates_to, rel_type, thread = _relation(pdu.get("content") or {})
        if new.txn is not None:
            # Checked inside the write, so two concurrent retransmissions of one
            # request still make one event (the second gets the first's ID).
            found = _txn_row(cur, new.txn)
            if found is not None:
                raise DuplicateTxn(found)
        txn_device = new.txn.device_id if new.txn else None
        txn_id = new.txn.txn_id if new.txn else None
        cur.execute(
            "INSERT INTO events (stream_id, event_id, room_id, type, state_key, sender,"
            " origin_server_ts, depth, json, prev_state_id, relates_to, rel_type, thread_id,"
            " txn_device, txn_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stream_id, new.event_id, snapshot.room_id, etype, state_key, sender,
             pdu["origin_server_ts"], pdu["depth"], orjson.dumps(pdu), prev_state_id,
             relates_to, rel_type, thread, txn_device, txn_id),
        )
        if new.txn is not None:
            cur.execute(
                "INSERT INTO room_txns (user_id, device_id, path, txn_id, event_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (new.txn.user_id, new.txn.device_id, new.txn.path, new.txn.txn_id, new.event_id),
            )
        if new.redaction_target:
            cur.execute(
                "UPDATE events SET redacted_by = ? WHERE event_id = ? AND room_id = ?"
                " AND redacted_by IS NULL",
                (new.event_id, new.redaction_target, snapshot.room_id),
            )
        changes: list[tuple[str, str]] = []
        if key is not None:
            cur.execute(
                "INSERT INTO current_state (room_id, type, state_key, event_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id",
                (snapshot.room_id, etype, state_key, new.event_id),
            )
            snapshot.set_state(key, new.event_id, pdu)
            if etype == "m.room.member":
                membership = str(pdu["content"].get("membership"))
                cur.execute(
                    "INSERT INTO room_members (room_id, user_id, membership, event_id, stream_id)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET"
                    " membership = excluded.membership, event_id = excluded.event_id,"
                    " stream_id = excluded.stream_id, forgotten = 0",
                    (snapshot.room_id, state_key, membership, new.event_id, stream_id),
                )
                changes.append((str(state_key), membership))
                self._user_rooms.pop(str(state_key), None)
        snapshot.latest_event_id = new.event_id
        snapshot.depth = int(pdu["depth"])
        return snapshot, Persisted(new.event_id, stream_id, snapshot.room_id, pdu, changes)

    async def forget(self, room_id: str, user_id: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "UPDATE room_members SET forgotten = 1 WHERE room_id = ? AND user_id = ?",
            (room_id, user_id)))
        self._user_rooms.pop(user_id, None)

    async def set_public(self, room_id: str, public: bool) -> None:
        await self._db.write(lambda cur: cur.execute(
            "UPDATE rooms SET is_public = ? WHERE room_id = ?", (int(public), room_id)))

    # -- snapshots (current state) --------------------------------------------------

    def _remember(self, snapshot: RoomSnapshot) -> None:
        self._snapshots[snapshot.room_id] = snapshot
        self._snapshots.move_to_end(snapshot.room_id)
        while len(self._snapshots) > self._cache_rooms:
            self._snapshots.popitem(last=False)

    def _load_snapshot(self, cur: Cursor, room_id: str) -> RoomSnapshot | None:
        cached = self._snapshots.get(room_id)
        if cached is not None:
            return cached
        version = self._version(cur, room_id)
        if version is None:
            return None
        rows = cur.execute(
            "SELECT cs.type, cs.state_key, cs.event_id, e.json FROM current_state cs"
            " JOIN events e ON e.event_id = cs.event_id WHERE cs.room_id = ?",
            (room_id,),
        ).fetchall()
        state = {(r[0], r[1]): orjson.loads(r[3]) for r in rows}
        state_ids = {(r[0], r[1]): r[2] for r in rows}
        last = cur.execute(
            "SELECT event_id, depth FROM events WHERE room_id = ? ORDER BY stream_id DESC LIMIT 1",
            (room_id,),
        ).fetchone()
        snapshot = RoomSnapshot(room_id, version, state, state_ids, last[0] if last else None,
                                last[1] if last else 0, state_ids.get(("m.room.create", ""), ""))
        self._remember(snapshot)
        return snapshot

    def _version(self, cur: Cursor, room_id: str) -> RoomVersion | None:
        version = self._versions.get(room_id)
        if version is None:
            row = cur.execute("SELECT room_version FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
            if row is None:
                return None
            version = self._versions[room_id] = KNOWN_ROOM_VERSIONS[row[0]]
        return version

    async def snapshot(self, room_id: str) -> RoomSnapshot | None:
        return await self._db.read(lambda cur: self._load_snapshot(cur, room_id))

    async def room_version(self, room_id: str) -> RoomVersion | None:
        return await self._db.read(lambda cur: self._version(cur, room_id))

    # -- reading events --------------------------------------------------------------

    async def get_event(self, event_id: str) -> StoredEvent | None:
        row = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone())
        return _row_to_event(row) if row else None

    async def get_events(self, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return {}

        def txn(cur: Cursor) -> dict[str, StoredEvent]:
            out: dict[str, StoredEvent] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in cur.execute(
                        f"SELECT {_COLUMNS} FROM events WHERE event_id IN ({marks})", chunk):
                    event = _row_to_event(row)
                    out[event.event_id] = event
            return out

        return await self._db.read(txn)

    async def txn_event(self, txn: Txn) -> str | None:
        """The event an earlier request with this transaction ID and path made."""
        return await self._db.read(lambda cur: _txn_row(cur, txn))

    async def room_events(self, room_id: str, *, after: int | None = None,
                          upto: int | None = None, backwards: bool = False,
                          limit: int = 10, where: str = "", args: tuple[Any, ...] = ()
                          ) -> list[StoredEvent]:
        """Events of a room with after < stream_id <= upto, oldest first unless
        backwards (then newest first). `where` adds SQL conditions (filters)."""
        clauses = ["room_id = ?"]
        params: list[Any] = [room_id]
        if after is not None:
            clauses.append("stream_id > ?")
            params.append(after)
        if upto is not None:
            clauses.append("stream_id <= ?")
            params.append(upto)
        if where:
            clauses.append(where)
            params.extend(args)
        order = "DESC" if backwards else "ASC"
        sql = (f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
               f" ORDER BY stream_id {order} LIMIT ?")
        params.append(limit)
        rows = await self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [_row_to_event(r) for r in rows]

    async def state_at(self, room_id: str, upto: int, types: Iterable[str] | None = None,
                       after: int | None = None, state_keys: Iterable[str] | None = None
                       ) -> dict[StateKey, StoredEvent]:
        """The room's state after every event with stream_id <= upto; with
        `after`, only the entries whose latest event is newer than that; with
        `state_keys`, only those keys (lazy-loaded members: a sync in a large
        room reads the few senders' member events, not all of them)."""
        type_list = list(types) if types is not None else None
        key_list = list(state_keys) if state_keys is not None else None

        def txn(cur: Cursor) -> dict[StateKey, StoredEvent]:
            sql = (f"SELECT {_COLUMNS} FROM events WHERE stream_id IN ("
                   " SELECT MAX(stream_id) FROM events WHERE room_id = ? AND state_key IS NOT NULL"
                   " AND stream_id <= ? AND stream_id > ?")
            params: list[Any] = [room_id, upto, after if after is not None else -1]
            if type_list is not None:
                sql += f" AND type IN ({','.join('?' * len(type_list))})"
                params.extend(type_list)
            if key_list is not None:
                sql += f" AND state_key IN ({','.join('?' * len(key_list))})"
                params.extend(key_list)
            sql += " GROUP BY type, state_key)"
            out: dict[StateKey, StoredEvent] = {}
            for row in cur.execute(sql, params):
                event = _row_to_event(row)
                out[(event.type, event.state_key or "")] = event
            return out

        return await self._db.read(txn)

    async def state_event_at(self, room_id: str, etype: str, state_key: str, upto: int
                             ) -> StoredEvent | None:
        row = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE room_id = ? AND type = ? AND state_key = ?"
            " AND stream_id <= ? ORDER BY stream_id DESC LIMIT 1",
            (room_id, etype, state_key, upto)).fetchone())
        return _row_to_event(row) if row else None

    async def current_state_events(self, room_id: str) -> dict[StateKey, StoredEvent]:
        def txn(cur: Cursor) -> dict[StateKey, StoredEvent]:
            rows = cur.execute(
                f"SELECT {', '.join('e.' + c.strip() for c in _COLUMNS.split(','))}"
                " FROM current_state cs JOIN events e ON e.event_id = cs.event_id"
                " WHERE cs.room_id = ?", (room_id,)).fetchall()
            return {(r.type, r.state_key or ""): r for r in map(_row_to_event, rows)}

        return await self._db.read(txn)

    async def state_history(self, room_id: str, etype: str, state_key: str = ""
                            ) -> list[tuple[int, dict[str, Any]]]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT stream_id, json FROM events WHERE room_id = ? AND type = ? AND state_key = ?"
            " ORDER BY stream_id", (room_id, etype, state_key)).fetchall())
        return [(r[0], orjson.loads(r[1]).get("content") or {}) for r in rows]

    # -- change positions -------------------------------------------------------------------

    async def room_position(self, room_id: str) -> int:
        await self._load_positions()
        return self._room_positions.get(room_id, 0)

    async def rooms_moved_since(self, room_ids: Iterable[str], since: int) -> set[str]:
        """Those of `room_ids` with an event after position `since` (in memory)."""
        await self._load_positions()
        positions = self._room_positions
        return {r for r in room_ids if positions.get(r, 0) > since}

    async def _load_positions(self) -> None:
        if not self._positions_loaded:
            def txn(cur: Cursor) -> None:
                for rid, pos in cur.execute(
                        "SELECT room_id, MAX(stream_id) FROM events GROUP BY room_id"):
                    self._room_positions.setdefault(rid, pos)
            await self._db.read(txn)
            self._positions_loaded = True

    async def relations(self, event_id: str, rel_type: str | None, after: int | None,
                        upto: int | None, backwards: bool, limit: int) -> list[StoredEvent]:
        clauses = ["relates_to = ?"]
        params: list[Any] = [event_id]
        if rel_type:
            clauses.append("rel_type = ?")
            params.append(rel_type)
        if after is not None:
            clauses.append("stream_id > ?")
            params.append(after)
        if upto is not None:
            clauses.append("stream_id <= ?")
            params.append(upto)
        order = "DESC" if backwards else "ASC"
        params.append(limit)
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
            f" ORDER BY stream_id {order} LIMIT ?", params).fetchall())
        return [_row_to_event(r) for r in rows]

    async def annotation_keys(self, room_id: str, target: str, sender: str, event_type: str
                              ) -> set[str]:
        """The keys of the sender's live (unredacted) annotations of `target`
        with this event type (event_annotations.md "Avoiding duplicate
        annotations")."""
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM events WHERE relates_to = ? AND rel_type = 'm.annotation'"
            " AND room_id = ? AND sender = ? AND type = ? AND redacted_by IS NULL",
            (target, room_id, sender, event_type)).fetchall())
        keys = set()
        for event in map(_row_to_event, rows):
            relation = event.content.get("m.relates_to")
            if isinstance(relation, dict) and isinstance(relation.get("key"), str):
                keys.add(relation["key"])
        return keys

    async def public_rooms(self) -> list[str]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT room_id FROM rooms WHERE is_public = 1 ORDER BY created_ts").fetchall())
        return [r[0] for r in rows]

    async def is_public(self, room_id: str) -> bool:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT is_public FROM rooms WHERE room_id = ?", (room_id,)).fetchone())
        return bool(row and row[0])


def _txn_row(cur: Cursor, txn: Txn) -> str | None:
    row = cur.execute(
        "SELECT event_id FROM room_txns WHERE user_id = ? AND device_id = ? AND path = ?"
        " AND txn_id = ?", (txn.user_id, txn.device_id, txn.path, txn.txn_id)).fetchone()
    return str(row[0]) if row else None
