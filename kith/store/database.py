"""The database connection, transactions and the global stream position.

SQLite runs in WAL mode with synchronous=FULL: a transaction that returned is on
disk, so a 200 for a sent event means it survives a crash (Durable before
acknowledged). Transactions are plain functions of a cursor, run atomically; the
async wrappers keep callers ready for a backend that really awaits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
Cursor = sqlite3.Cursor

SCHEMA_VERSION = 1


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, cached_statements=512
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.Lock()
        self._stream_pos = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- schema ---------------------------------------------------------------

    def create_schema(self, statements: Iterable[str], stream_tables: Iterable[str]) -> None:
        def txn(cur: Cursor) -> None:
            for statement in statements:
                cur.execute(statement)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = cur.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                cur.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

        self.write_sync(txn)
        # Every stream table has a `stream_id` column drawn from one counter, so a
        # sync token is a single position that orders everything a user sees.
        for table in stream_tables:
            row = self._conn.execute(f"SELECT MAX(stream_id) FROM {table}").fetchone()
            if row and row[0] is not None:
                self._stream_pos = max(self._stream_pos, int(row[0]))

    # -- stream positions -------------------------------------------------------

    def next_stream_id(self) -> int:
        """Allocate the next position; only call inside a write transaction."""
        self._stream_pos += 1
        return self._stream_pos

    @property
    def current_stream_id(self) -> int:
        return self._stream_pos

    # -- transactions -------------------------------------------------------------

    def read_sync(self, fn: Callable[[Cursor], T]) -> T:
        with self._lock:
            cur = self._conn.cursor()
            try:
                return fn(cur)
            finally:
                cur.close()

    def write_sync(self, fn: Callable[[Cursor], T]) -> T:
        with self._lock:
            cur = self._conn.cursor()
            saved_pos = self._stream_pos
            cur.execute("BEGIN IMMEDIATE")
            try:
                result = fn(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                cur.close()
                # Positions handed out in a rolled-back transaction are reused, so
                # the stream has no holes a since-token could fall into.
                self._stream_pos = saved_pos
                raise
            cur.execute("COMMIT")
            cur.close()
            return result

    async def read(self, fn: Callable[[Cursor], T]) -> T:
        return self.read_sync(fn)

    async def write(self, fn: Callable[[Cursor], T]) -> T:
        return self.write_sync(fn)
