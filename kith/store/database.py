"""The database connection, transactions and the global stream position.

The contract a backend provides to the stores; tests/store checks it, and
every store's behaviour, on each backend (only SQLite exists today):

* `read(fn)` / `write(fn)` run `fn(cursor)` as one transaction. A write is
  atomic: if `fn` raises, nothing it did is kept, and positions it allocated
  are handed out again. Writes are serialised: no two overlap, and no write
  lands in the middle of a read.
* Durable before return: when `write` returns, the transaction is on disk and
  survives a crash (GUIDE: durable before acknowledged; a 200 for a sent event
  means it is committed). SQLite: WAL with synchronous=FULL.
* One global stream: `next_stream_id()` (inside a write) allocates the next
  position of a single counter shared by every stream table; `create_schema`
  resumes it from the largest `stream_id` of those tables, so positions keep
  increasing across restarts and a sync token is one number.
* The cursor (`Cursor` below) is all a store sees: `execute` and `executemany`
  with `?` placeholders (qmark; a PostgreSQL backend translates them to `%s`
  or `$n`), rows as tuples from `fetchone`/`fetchall`/iteration, `rowcount`.
  Generated keys come back with `RETURNING`, never `lastrowid`.
* Text compares and sorts by code point (SQLite's default BINARY collation;
  a PostgreSQL database would use the "C" collation), so ORDER BY on IDs is
  the same everywhere.
* `dialect` (kith.store.dialect) gives the SQL fragments that differ between
  backends; schema statements may be functions of it.

Transactions are plain functions of a cursor; the async wrappers keep callers
ready for a backend that really awaits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kith.store.dialect import SQLITE, Dialect, Statement, render, require_sqlite

T = TypeVar("T")


class Cursor(Protocol):
    """What a store may do with the cursor of a transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /
                    ) -> Cursor: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    @property
    def rowcount(self) -> int:
        """Rows changed by the last INSERT/UPDATE/DELETE."""
        ...


SCHEMA_VERSION = 1


class Database:
    """The SQLite backend."""

    dialect: Dialect = SQLITE

    def __init__(self, path: Path) -> None:
        require_sqlite()
        self.path = path
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, cached_statements=512
        )
        for statement in self.dialect.session_setup:
            self._conn.execute(statement)
        self._lock = threading.Lock()
        self._stream_pos = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- schema ---------------------------------------------------------------

    def create_schema(self, statements: Iterable[Statement], stream_tables: Iterable[str]
                      ) -> None:
        def txn(cur: Cursor) -> None:
            for statement in statements:
                cur.execute(render(statement, self.dialect))
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
            cur.execute(self.dialect.begin_write)
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
