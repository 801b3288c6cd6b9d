"""Server-side key backups (spec: key_backup.yaml; end_to_end_encryption.md
"Server-side key backups").

Versions are numbered per user and never reused. Keys can be written only to
the newest live version; `etag` is a per-version counter bumped by every change
of its keys, so a client can tell that another client modified the backup.
"""

from __future__ import annotations

from typing import Any

import orjson

from kith.e2ee.backup import new_is_better, wrong_version
from kith.errors import not_found
from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS e2ee_backup_versions (
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        algorithm TEXT NOT NULL,
        auth_data TEXT NOT NULL,
        etag INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, version)
    )""",
    """CREATE TABLE IF NOT EXISTS e2ee_backup_keys (
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        room_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, version, room_id, session_id)
    )""",
]

Json = dict[str, Any]
Rooms = dict[str, dict[str, Json]]


def _number(version: str) -> int | None:
    """The row number of a version string this store handed out ("1", "2", ...):
    anything else ("abc", "01", "²") names no version."""
    if not (version.isascii() and version.isdigit() and len(version) < 18):
        return None
    number = int(version)
    return number if str(number) == version else None


def _current(cur: Cursor, user_id: str) -> int | None:
    row = cur.execute("SELECT MAX(version) FROM e2ee_backup_versions WHERE user_id = ?"
                      " AND deleted = 0", (user_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _live(cur: Cursor, user_id: str, version: str) -> int:
    """The number of an existing, not deleted version, else 404 M_NOT_FOUND."""
    number = _number(version)
    if number is not None and cur.execute(
            "SELECT 1 FROM e2ee_backup_versions WHERE user_id = ? AND version = ?"
            " AND deleted = 0", (user_id, number)).fetchone():
        return number
    raise not_found("Unknown backup version")


def _writable(cur: Cursor, user_id: str, version: str) -> int:
    """key_backup.yaml PUT /room_keys/keys: a version that does not exist (or
    was deleted) is 404 M_NOT_FOUND; one that exists but is not the current
    backup is 403 M_WRONG_ROOM_KEYS_VERSION ("Keys can only be written to the
    most recently created version of the backup"). The session-level PUT lists
    only the 403, but a 403 must name a current_version, which a user with no
    backup does not have, so all three levels answer alike."""
    number = _live(cur, user_id, version)
    current = _current(cur, user_id)
    if number != current:
        raise wrong_version(str(current))
    return number


def _etag_count(cur: Cursor, user_id: str, number: int) -> tuple[str, int]:
    etag = cur.execute("SELECT etag FROM e2ee_backup_versions WHERE user_id = ? AND version = ?",
                       (user_id, number)).fetchone()[0]
    count = cur.execute("SELECT COUNT(*) FROM e2ee_backup_keys WHERE user_id = ? AND version = ?",
                        (user_id, number)).fetchone()[0]
    return str(etag), int(count)


def _bump(cur: Cursor, user_id: str, number: int) -> None:
    cur.execute("UPDATE e2ee_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ?",
                (user_id, number))


def _where(room_id: str | None, session_id: str | None) -> tuple[str, tuple[str, ...]]:
    clause = ""
    params: tuple[str, ...] = ()
    if room_id is not None:
        clause, params = " AND room_id = ?", (room_id,)
        if session_id is not None:
            clause, params = clause + " AND session_id = ?", (room_id, session_id)
    return clause, params


class BackupStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_version(self, user_id: str, algorithm: str, auth_data: Json) -> str:
        def txn(cur: Cursor) -> str:
            row = cur.execute("SELECT MAX(version) FROM e2ee_backup_versions WHERE user_id = ?",
                              (user_id,)).fetchone()
            number = (int(row[0]) if row[0] is not None else 0) + 1
            cur.execute("INSERT INTO e2ee_backup_versions (user_id, version, algorithm, auth_data)"
                        " VALUES (?, ?, ?, ?)",
                        (user_id, number, algorithm, orjson.dumps(auth_data).decode()))
            return str(number)

        return await self._db.write(txn)

    async def version_info(self, user_id: str, version: str | None) -> Json:
        """GET /room_keys/version[/{version}]: the newest live version when None."""

        def txn(cur: Cursor) -> Json:
            if version is None:
                number = _current(cur, user_id)
                if number is None:
                    raise not_found("No current backup version")
            else:
                number = _live(cur, user_id, version)
            algorithm, auth_data = cur.execute(
                "SELECT algorithm, auth_data FROM e2ee_backup_versions WHERE user_id = ?"
                " AND version = ?", (user_id, number)).fetchone()
            etag, count = _etag_count(cur, user_id, number)
            return {"algorithm": algorithm, "auth_data": orjson.loads(auth_data),
                    "count": count, "etag": etag, "version": str(number)}

        return await self._db.read(txn)

    async def algorithm(self, user_id: str, version: str) -> str:
        def txn(cur: Cursor) -> str:
            number = _live(cur, user_id, version)
            return str(cur.execute("SELECT algorithm FROM e2ee_backup_versions WHERE user_id = ?"
                                   " AND version = ?", (user_id, number)).fetchone()[0])

        return await self._db.read(txn)

    async def update_version(self, user_id: str, version: str, auth_data: Json) -> None:
        def txn(cur: Cursor) -> None:
            number = _live(cur, user_id, version)
            cur.execute("UPDATE e2ee_backup_versions SET auth_data = ? WHERE user_id = ?"
                        " AND version = ?", (orjson.dumps(auth_data).decode(), user_id, number))

        await self._db.write(txn)

    async def delete_version(self, user_id: str, version: str) -> None:
        """key_backup.yaml DELETE /room_keys/version/{version}: 404 for a version
        that never existed; one deleted before is a success again."""

        def txn(cur: Cursor) -> None:
            number = _number(version)
            row = None if number is None else cur.execute(
                "SELECT deleted FROM e2ee_backup_versions WHERE user_id = ? AND version = ?",
                (user_id, number)).fetchone()
            if row is None:
                raise not_found("Unknown backup version")
            if row[0]:
                return
            cur.execute("UPDATE e2ee_backup_versions SET deleted = 1 WHERE user_id = ?"
                        " AND version = ?", (user_id, number))
            cur.execute("DELETE FROM e2ee_backup_keys WHERE user_id = ? AND version = ?",
                        (user_id, number))

        await self._db.write(txn)

    async def put_keys(self, user_id: str, version: str, rooms: Rooms) -> tuple[str, int]:
        """Store keys in the current version, keeping the better of two keys for
        one session (kith.e2ee.backup.new_is_better)."""

        def txn(cur: Cursor) -> tuple[str, int]:
            current = _writable(cur, user_id, version)
            changed = False
            for room_id, sessions in rooms.items():
                for session_id, data in sessions.items():
                    row = cur.execute(
                        "SELECT json FROM e2ee_backup_keys WHERE user_id = ? AND version = ?"
                        " AND room_id = ? AND session_id = ?",
                        (user_id, current, room_id, session_id)).fetchone()
                    if row is not None and not new_is_better(orjson.loads(row[0]), data):
                        continue
                    cur.execute(
                        "INSERT INTO e2ee_backup_keys (user_id, version, room_id, session_id,"
                        " json) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (user_id, version, room_id, session_id)"
                        " DO UPDATE SET json = excluded.json",
                        (user_id, current, room_id, session_id, orjson.dumps(data).decode()))
                    changed = True
            if changed:
                _bump(cur, user_id, current)
            return _etag_count(cur, user_id, current)

        return await self._db.write(txn)

    async def get_keys(self, user_id: str, version: str, room_id: str | None = None,
                       session_id: str | None = None) -> Rooms:
        """{room_id: {session_id: KeyBackupData}} of a live version."""

        def txn(cur: Cursor) -> Rooms:
            number = _live(cur, user_id, version)
            clause, params = _where(room_id, session_id)
            out: Rooms = {}
            for room, session, text in cur.execute(
                    "SELECT room_id, session_id, json FROM e2ee_backup_keys WHERE user_id = ?"
                    f" AND version = ?{clause} ORDER BY room_id, session_id",
                    (user_id, number, *params)):
                out.setdefault(room, {})[session] = orjson.loads(text)
            return out

        return await self._db.read(txn)

    async def delete_keys(self, user_id: str, version: str, room_id: str | None = None,
                          session_id: str | None = None) -> tuple[str, int]:
        def txn(cur: Cursor) -> tuple[str, int]:
            number = _live(cur, user_id, version)
            clause, params = _where(room_id, session_id)
            deleted = cur.execute(f"DELETE FROM e2ee_backup_keys WHERE user_id = ? AND version = ?"
                                  f"{clause}", (user_id, number, *params)).rowcount
            if deleted:
                _bump(cur, user_id, number)
            return _etag_count(cur, user_id, number)

        return await self._db.write(txn)

    async def delete_user(self, user_id: str) -> None:
        def txn(cur: Cursor) -> None:
            cur.execute("UPDATE e2ee_backup_versions SET deleted = 1 WHERE user_id = ?", (user_id,))
            cur.execute("DELETE FROM e2ee_backup_keys WHERE user_id = ?", (user_id,))

        await self._db.write(txn)
