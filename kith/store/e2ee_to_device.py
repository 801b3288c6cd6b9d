"""The per-device to-device message queue (spec: send_to_device.md, to_device.yaml).

Messages are stored per target device in stream order. A sync hands out the
oldest waiting ones and marks them with a new delivery mark, which goes into
that response's next_batch token (kith.sync.tokens); they are deleted only
when the device syncs with a `since` token carrying that mark or a later one,
which proves the response arrived (spec send_to_device.md: the server infers
delivery from the `next_batch` token of the response; "once the client has
received the message, the server should delete it"). A retried request with
an older token gets the same messages again, under a new mark.

A device's queue is bounded in all and per sender (kith.e2ee.to_device_queue);
what the bound drops is logged as a warning.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from kith.e2ee.to_device_queue import QueueLimits, evictions
from kith.store.database import Cursor, Database

log = logging.getLogger(__name__)

TXN_KEEP_MS = 24 * 60 * 60 * 1000

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS e2ee_to_device (
        stream_id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        type TEXT NOT NULL,
        content TEXT NOT NULL,
        delivered_at INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS e2ee_to_device_target ON e2ee_to_device"
    " (user_id, device_id, stream_id)",
    # Counting and dropping one sender's messages to a device (the queue bound).
    "CREATE INDEX IF NOT EXISTS e2ee_to_device_sender ON e2ee_to_device"
    " (user_id, device_id, sender, stream_id)",
    # client-server-api "Transaction identifiers": a request is a retransmission
    # when the device, the request path and the txnId are the same; the path of
    # PUT /sendToDevice/{eventType}/{txnId} differs only in the event type.
    # Rows older than TXN_KEEP_MS are pruned: retries come within minutes.
    """CREATE TABLE IF NOT EXISTS e2ee_to_device_txn_ids (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        received_ts INTEGER NOT NULL,
        PRIMARY KEY (user_id, device_id, event_type, txn_id)
    )""",
    "CREATE INDEX IF NOT EXISTS e2ee_to_device_txn_age ON e2ee_to_device_txn_ids (received_ts)",
    # Data directories from before kept txnIds without the event type in
    # e2ee_to_device_txns. Those rows cannot be given a path, so they go: at
    # worst a retry straddling the upgrade is delivered twice.
    "DROP TABLE IF EXISTS e2ee_to_device_txns",
    # Delivered messages are deleted, but the highest position ever handed out
    # must survive a restart (the stream counter resumes from MAX(stream_id)).
    """CREATE TABLE IF NOT EXISTS e2ee_to_device_mark (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        stream_id INTEGER NOT NULL
    )""",
    # The last delivery mark handed out; marks only grow, across restarts too,
    # so a token from before a restart never acknowledges a later delivery.
    """CREATE TABLE IF NOT EXISTS e2ee_to_device_delivery (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mark INTEGER NOT NULL
    )""",
]
STREAM_TABLES = ["e2ee_to_device", "e2ee_to_device_mark"]


@dataclass(frozen=True, slots=True)
class Message:
    user_id: str
    device_id: str  # or "*" for every device of the user
    content: dict[str, Any]


class ToDeviceStore:
    def __init__(self, db: Database, limits: QueueLimits = QueueLimits()) -> None:
        self._db = db
        self.limits = limits

    async def send(self, sender: str, sender_device: str, txn_id: str, event_type: str,
                   messages: list[Message]) -> set[str] | None:
        """Queue the messages; the users that got any, or None for a repeated
        (event type, txnId) from the device (spec: to_device.yaml, the txnId
        makes the request idempotent)."""

        now = int(time.time() * 1000)

        def txn(cur: Cursor) -> set[str] | None:
            cur.execute("DELETE FROM e2ee_to_device_txn_ids WHERE received_ts < ?",
                        (now - TXN_KEEP_MS,))
            key = (sender, sender_device, event_type, txn_id)
            if cur.execute("SELECT 1 FROM e2ee_to_device_txn_ids WHERE user_id = ?"
                           " AND device_id = ? AND event_type = ? AND txn_id = ?",
                           key).fetchone():
                return None
            cur.execute("INSERT INTO e2ee_to_device_txn_ids (user_id, device_id, event_type,"
                        " txn_id, received_ts) VALUES (?, ?, ?, ?, ?)", (*key, now))
            targets: set[tuple[str, str]] = set()
            for message in messages:
                if message.device_id == "*":
                    devices = [r[0] for r in cur.execute(
                        "SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id",
                        (message.user_id,))]
                elif cur.execute("SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?",
                                 (message.user_id, message.device_id)).fetchone():
                    devices = [message.device_id]
                else:
                    devices = []  # unknown devices are skipped, as for unknown users
                content = orjson.dumps(message.content).decode()
                for device_id in devices:
                    cur.execute(
                        "INSERT INTO e2ee_to_device (stream_id, user_id, device_id, sender, type,"
                        " content) VALUES (?, ?, ?, ?, ?, ?)",
                        (self._db.next_stream_id(), message.user_id, device_id, sender,
                         event_type, content))
                    targets.add((message.user_id, device_id))
            if targets:
                cur.execute("INSERT INTO e2ee_to_device_mark (id, stream_id) VALUES (1, ?)"
                            " ON CONFLICT (id) DO UPDATE SET stream_id = excluded.stream_id",
                            (self._db.current_stream_id,))
            for user_id, device_id in targets:
                self._trim(cur, user_id, device_id, sender)
            return {user for user, _ in targets}

        return await self._db.write(txn)

    def _trim(self, cur: Cursor, user_id: str, device_id: str, sender: str) -> None:
        """Hold the device's queue to self.limits (kith.e2ee.to_device_queue)."""
        total = cur.execute("SELECT COUNT(*) FROM e2ee_to_device WHERE user_id = ?"
                            " AND device_id = ?", (user_id, device_id)).fetchone()[0]
        mine = cur.execute("SELECT COUNT(*) FROM e2ee_to_device WHERE user_id = ?"
                           " AND device_id = ? AND sender = ?",
                           (user_id, device_id, sender)).fetchone()[0]
        if total <= self.limits.total and mine <= self.limits.per_sender:
            return
        queued = dict(cur.execute(
            "SELECT sender, COUNT(*) FROM e2ee_to_device WHERE user_id = ? AND device_id = ?"
            " GROUP BY sender", (user_id, device_id)).fetchall())
        for who, count in sorted(evictions(queued, sender, self.limits).items()):
            cur.execute(
                "DELETE FROM e2ee_to_device WHERE stream_id IN (SELECT stream_id FROM"
                " e2ee_to_device WHERE user_id = ? AND device_id = ? AND sender = ?"
                " ORDER BY stream_id LIMIT ?)", (user_id, device_id, who, count))
            log.warning("to-device queue of %s/%s is full: dropped the %d oldest messages"
                        " from %s", user_id, device_id, count, who)

    async def deliver(self, user_id: str, device_id: str, acknowledged: int | None,
                      limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Delete what was delivered under marks up to `acknowledged` (the
        since token's mark), then hand out up to `limit` of the oldest waiting
        messages under a new mark; returns them and the mark (None when none)."""

        def txn(cur: Cursor) -> tuple[list[dict[str, Any]], int | None]:
            if acknowledged:
                cur.execute("DELETE FROM e2ee_to_device WHERE user_id = ? AND device_id = ?"
                            " AND delivered_at IS NOT NULL AND delivered_at <= ?",
                            (user_id, device_id, acknowledged))
            rows = cur.execute(
                "SELECT stream_id, sender, type, content FROM e2ee_to_device WHERE user_id = ?"
                " AND device_id = ? ORDER BY stream_id LIMIT ?",
                (user_id, device_id, limit)).fetchall()
            if not rows:
                return [], None
            row = cur.execute("SELECT mark FROM e2ee_to_device_delivery").fetchone()
            mark = (int(row[0]) if row else 0) + 1
            cur.execute("INSERT INTO e2ee_to_device_delivery (id, mark) VALUES (1, ?)"
                        " ON CONFLICT (id) DO UPDATE SET mark = excluded.mark", (mark,))
            cur.execute(
                "UPDATE e2ee_to_device SET delivered_at = ? WHERE user_id = ? AND device_id = ?"
                " AND stream_id <= ?", (mark, user_id, device_id, rows[-1][0]))
            events = [{"sender": r[1], "type": r[2], "content": orjson.loads(r[3])} for r in rows]
            return events, mark

        return await self._db.write(txn)

    async def pending(self, user_id: str, device_id: str) -> int:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT COUNT(*) FROM e2ee_to_device WHERE user_id = ? AND device_id = ?",
            (user_id, device_id)).fetchone())
        return int(row[0])

    async def delete_devices(self, user_id: str, device_ids: list[str]) -> None:
        def txn(cur: Cursor) -> None:
            for device_id in device_ids:
                cur.execute("DELETE FROM e2ee_to_device WHERE user_id = ? AND device_id = ?",
                            (user_id, device_id))
                cur.execute("DELETE FROM e2ee_to_device_txn_ids WHERE user_id = ?"
                            " AND device_id = ?", (user_id, device_id))

        await self._db.write(txn)
