"""Where the SQL dialects differ: the one place a store asks for non-portable SQL.

Stores write portable SQL (SQL:2003 plus `INSERT ... ON CONFLICT (...) DO
NOTHING/UPDATE` and `RETURNING`, which SQLite and PostgreSQL share) with `?`
placeholders, and take everything else from `Database.dialect`. What differs,
with the SQLite form used here and the PostgreSQL one a second backend would use:

* a string field of a JSON column: json_extract(CAST(x AS TEXT), '$.a.b');
  convert_from(x, 'UTF8')::jsonb #>> '{a,b}'
* the 1-based position of a substring: instr(haystack, needle);
  strpos(haystack, needle)
* a generated key, never reused: INTEGER PRIMARY KEY AUTOINCREMENT;
  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
* a write transaction that excludes other writers: BEGIN IMMEDIATE;
  BEGIN ISOLATION LEVEL SERIALIZABLE (or a lock taken first)
* per-connection settings: PRAGMAs (WAL, synchronous=FULL, ...); session settings

A fragment's arguments are SQL expressions (column names or `?`) and appear in
the result in the order given, so the parameters of a statement line up on
every backend. JSON columns hold UTF-8 JSON as bytes or text; the dialect
decodes either.

Schema statements may be a function of the dialect (`Statement`), for DDL that
differs, e.g. `lambda d: f"CREATE TABLE t (id {d.autoincrement_primary_key})"`.

Full-text search (kith.store.search) is not expressed here: it is written
against SQLite FTS5 and a PostgreSQL backend needs its own search store.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Final, Protocol

# RETURNING (the generated key of a report) needs 3.35; Debian 12's Python
# ships 3.40.
SQLITE_MINIMUM: Final = (3, 35, 0)

_PATH_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Dialect(Protocol):
    """The SQL fragments and statements that differ between backends."""

    @property
    def name(self) -> str: ...

    @property
    def session_setup(self) -> tuple[str, ...]:
        """Statements run once on every new connection."""
        ...

    @property
    def begin_write(self) -> str:
        """Starts a write transaction that excludes every other writer until it ends."""
        ...

    @property
    def autoincrement_primary_key(self) -> str:
        """Column type and constraint of an integer key the database assigns,
        increasing and never reused (read it back with RETURNING)."""
        ...

    def json_text(self, column: str, path: str) -> str:
        """The value at dotted `path` (e.g. "content.membership") of the JSON
        object in `column`, as text; NULL when absent."""
        ...

    def position(self, haystack: str, needle: str) -> str:
        """The 1-based position of `needle` in `haystack`, 0 when absent."""
        ...

    def contains(self, haystack: str, needle: str) -> str:
        """True when `needle` occurs in `haystack` (no LIKE wildcards)."""
        ...


Statement = str | Callable[[Dialect], str]


def render(statement: Statement, dialect: Dialect) -> str:
    return statement if isinstance(statement, str) else statement(dialect)


def _json_path(path: str) -> list[str]:
    # Paths are written in the code, never taken from a request; checking them
    # keeps a typo from becoming SQL.
    parts = path.split(".")
    if not all(_PATH_PART.match(p) for p in parts):
        raise ValueError(f"unsupported JSON path {path!r}")
    return parts


class SQLiteDialect:
    name = "sqlite"
    session_setup = (
        # WAL lets readers run beside the writer; synchronous=FULL makes a
        # returned COMMIT durable (GUIDE: durable before acknowledged).
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    )
    # IMMEDIATE takes the write lock at BEGIN, so two writers never both read
    # and then fail to upgrade (SQLITE_BUSY mid-transaction).
    begin_write = "BEGIN IMMEDIATE"
    autoincrement_primary_key = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def json_text(self, column: str, path: str) -> str:
        # json_extract reads TEXT; the columns are BLOBs of UTF-8 JSON.
        return f"json_extract(CAST({column} AS TEXT), '$.{'.'.join(_json_path(path))}')"

    def position(self, haystack: str, needle: str) -> str:
        return f"instr({haystack}, {needle})"

    def contains(self, haystack: str, needle: str) -> str:
        return f"instr({haystack}, {needle}) > 0"


SQLITE: Final[Dialect] = SQLiteDialect()


def require_sqlite() -> None:
    if sqlite3.sqlite_version_info < SQLITE_MINIMUM:
        raise RuntimeError(
            f"Kith needs SQLite {'.'.join(map(str, SQLITE_MINIMUM))} or newer;"
            f" this Python's sqlite3 module has {sqlite3.sqlite_version}")
