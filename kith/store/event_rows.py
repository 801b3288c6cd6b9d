"""Row types and schema of the events tables (see kith.store.events)."""

from __future__ import annotations

from collections.abc import Callable, Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import orjson

from kith.events.room_versions import RoomVersion
from kith.store.dialect import Dialect, Statement

StateKey = tuple[str, str]

# Data directories from before room_txns keyed transaction IDs by (user, device,
# txnId) only, in `event_txns`, with redactions' IDs stored as "redact:<txnId>".
# Their rows move to room_txns with the path rebuilt from the event they name.
# Every statement is idempotent: on a new or migrated database the legacy table is
# created empty, nothing is copied, and it is dropped again.
def _copy_legacy_txns(d: Dialect) -> str:
    # Rows whose path cannot be rebuilt (a redaction naming no target) are left
    # behind: a NOT NULL failure must not abort the start. The WHERE also keeps
    # SQLite from reading ON CONFLICT as the join's ON (its lang_upsert.html).
    redacts = (f"COALESCE({d.json_text('e.json', 'content.redacts')},"
               f" {d.json_text('e.json', 'redacts')})")
    return (
        "INSERT INTO room_txns (user_id, device_id, path, txn_id, event_id)"
        " SELECT user_id, device_id, path, txn_id, event_id FROM ("
        "  SELECT t.user_id, t.device_id,"
        "  CASE WHEN t.txn_id LIKE 'redact:%' AND e.type = 'm.room.redaction'"
        f"   THEN '/rooms/' || e.room_id || '/redact/' || {redacts}"
        "   ELSE '/rooms/' || e.room_id || '/send/' || e.type END AS path,"
        "  CASE WHEN t.txn_id LIKE 'redact:%' AND e.type = 'm.room.redaction'"
        "   THEN substr(t.txn_id, 8) ELSE t.txn_id END AS txn_id,"
        "  t.event_id FROM event_txns t JOIN events e ON e.event_id = t.event_id"
        " ) AS legacy WHERE path IS NOT NULL ON CONFLICT DO NOTHING")


_LEGACY_TXNS_MIGRATION: list[Statement] = [
    """CREATE TABLE IF NOT EXISTS event_txns (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id, txn_id)
    )""",
    _copy_legacy_txns,
    # unsigned.transaction_id must echo the client's own txnId, without the prefix.
    "UPDATE events SET txn_id = substr(txn_id, 8) WHERE type = 'm.room.redaction'"
    " AND txn_id LIKE 'redact:%' AND event_id IN"
    " (SELECT event_id FROM event_txns WHERE txn_id LIKE 'redact:%')",
    "DROP TABLE event_txns",
]


@dataclass(frozen=True, slots=True)
class Txn:
    """A client transaction: the device, the request path without the txnId
    (e.g. "/rooms/!r:hs/send/m.room.message"), and the txnId."""

    user_id: str
    device_id: str
    path: str
    txn_id: str


def send_path(room_id: str, event_type: str) -> str:
    """The scope of a txnId on PUT /rooms/{roomId}/send/{eventType}/{txnId}."""
    return f"/rooms/{room_id}/send/{event_type}"


def redact_path(room_id: str, event_id: str) -> str:
    """The scope of a txnId on PUT /rooms/{roomId}/redact/{eventId}/{txnId}."""
    return f"/rooms/{room_id}/redact/{event_id}"

SCHEMA: list[Statement] = [
    """CREATE TABLE IF NOT EXISTS rooms (
        room_id TEXT PRIMARY KEY,
        room_version TEXT NOT NULL,
        creator TEXT NOT NULL,
        created_ts INTEGER NOT NULL,
        is_public INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        stream_id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT,
        sender TEXT NOT NULL,
        origin_server_ts INTEGER NOT NULL,
        depth INTEGER NOT NULL,
        json BLOB NOT NULL,
        prev_state_id TEXT,
        redacted_by TEXT,
        relates_to TEXT,
        rel_type TEXT,
        thread_id TEXT,
        txn_device TEXT,
        txn_id TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_room ON events (room_id, stream_id)",
    "CREATE INDEX IF NOT EXISTS events_state ON events (room_id, type, state_key, stream_id)"
    " WHERE state_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS events_member ON events (state_key, stream_id)"
    " WHERE type = 'm.room.member'",
    "CREATE INDEX IF NOT EXISTS events_relations ON events (relates_to, rel_type, stream_id)"
    " WHERE relates_to IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS events_thread ON events (thread_id, stream_id)"
    " WHERE thread_id IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS current_state (
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
    )""",
    """CREATE TABLE IF NOT EXISTS room_members (
        room_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        membership TEXT NOT NULL,
        event_id TEXT NOT NULL,
        stream_id INTEGER NOT NULL,
        forgotten INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room_id, user_id)
    )""",
    "CREATE INDEX IF NOT EXISTS room_members_user ON room_members (user_id, membership)",
    # client-server-api "Transaction identifiers": a retransmission has the same
    # transaction ID *and* the same request path, per device; so the path (without
    # the txnId) is part of the key: one txnId into two rooms is two events.
    """CREATE TABLE IF NOT EXISTS room_txns (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        path TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id, path, txn_id)
    )""",
    *_LEGACY_TXNS_MIGRATION,
]
STREAM_TABLES = ["events"]


@dataclass(slots=True)
class StoredEvent:
    stream_id: int
    event_id: str
    room_id: str
    pdu: dict[str, Any]
    prev_state_id: str | None
    redacted_by: str | None
    txn_device: str | None
    txn_id: str | None

    @property
    def type(self) -> str:
        return str(self.pdu["type"])

    @property
    def sender(self) -> str:
        return str(self.pdu["sender"])

    @property
    def state_key(self) -> str | None:
        key = self.pdu.get("state_key")
        return key if isinstance(key, str) else None

    @property
    def content(self) -> dict[str, Any]:
        content = self.pdu.get("content")
        return content if isinstance(content, dict) else {}


@dataclass(slots=True)
class RoomSnapshot:
    """A room's current state as the pure core needs it to build the next event."""

    room_id: str
    version: RoomVersion
    state: dict[StateKey, dict[str, Any]]
    state_ids: dict[StateKey, str]
    latest_event_id: str | None
    depth: int
    create_event_id: str
    # membership -> users, built on first use and kept up to date by set_state:
    # member counts, heroes and wake-ups then cost O(1)/O(members of that kind)
    # instead of a scan of the whole state on every request.
    _members: dict[str, set[str]] | None = None
    # False while this snapshot still shares its dicts with the one it was made
    # from (see begin_change): state is copied only when a state event lands.
    _owns_state: bool = True

    def begin_change(self) -> RoomSnapshot:
        """A snapshot to build on in a transaction, leaving this one untouched
        (the cached one stays valid if the transaction fails). Message events
        only move latest_event_id/depth, so the state is copied on first write."""
        return RoomSnapshot(self.room_id, self.version, self.state, self.state_ids,
                            self.latest_event_id, self.depth, self.create_event_id,
                            self._members, False)

    def set_state(self, key: StateKey, event_id: str, pdu: dict[str, Any]) -> None:
        if not self._owns_state:
            self.state, self.state_ids = dict(self.state), dict(self.state_ids)
            if self._members is not None:
                self._members = {m: set(users) for m, users in self._members.items()}
            self._owns_state = True
        if key[0] == "m.room.member" and self._members is not None:
            old = self.state.get(key)
            if old is not None:
                self._members.get(_membership(old), set()).discard(key[1])
            self._members.setdefault(_membership(pdu), set()).add(key[1])
        self.state[key] = pdu
        self.state_ids[key] = event_id

    def members(self, membership: str) -> AbstractSet[str]:
        """Users whose current membership is `membership` (do not mutate)."""
        if self._members is None:
            index: dict[str, set[str]] = {}
            for (etype, key), pdu in self.state.items():
                if etype == "m.room.member":
                    index.setdefault(_membership(pdu), set()).add(key)
            self._members = index
        return self._members.get(membership) or _NO_USERS


_NO_USERS: frozenset[str] = frozenset()


def _membership(pdu: dict[str, Any]) -> str:
    content = pdu.get("content")
    membership = content.get("membership") if isinstance(content, dict) else None
    return membership if isinstance(membership, str) else ""


@dataclass(slots=True)
class NewEvent:
    """What a maker hands the store: a built, authorised event."""

    event_id: str
    pdu: dict[str, Any]
    txn: Txn | None = None
    redaction_target: str | None = None      # event to mark redacted, if allowed


class DuplicateTxn(Exception):
    """The transaction was already persisted, as `event_id`: the write is rolled back."""

    def __init__(self, event_id: str) -> None:
        super().__init__(event_id)
        self.event_id = event_id


@dataclass(slots=True)
class Persisted:
    event_id: str
    stream_id: int
    room_id: str
    pdu: dict[str, Any]
    member_changes: list[tuple[str, str]] = field(default_factory=list)


Maker = Callable[[RoomSnapshot | None], NewEvent]

_COLUMNS = "stream_id, event_id, room_id, json, prev_state_id, redacted_by, txn_device, txn_id"


def _row_to_event(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], orjson.loads(row[3]), row[4], row[5], row[6], row[7])


def _relation(content: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(relates_to event, rel_type, thread root) from content.m.relates_to."""
    rel = content.get("m.relates_to")
    if not isinstance(rel, dict):
        return None, None, None
    target = rel.get("event_id")
    rel_type = rel.get("rel_type")
    if not isinstance(target, str):
        return None, None, None
    rel_type = rel_type if isinstance(rel_type, str) else None
    thread = target if rel_type == "m.thread" else None
    return target, rel_type, thread


