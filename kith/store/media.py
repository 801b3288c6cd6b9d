"""Media metadata: who uploaded what, under which id, with which content.

One row per media id. A row created by POST /_matrix/media/v1/create has no
content yet (sha256 NULL) until its PUT, and expires at `expires_ts` if that
never comes. Content is shared between rows with the same sha256
(kith.media.storage keeps one file per hash), so a file is deleted only when
its last row goes. Rows are per uploader, so a user's media can be listed
(export) and erased.
"""

from __future__ import annotations

from dataclasses import dataclass

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS media (
        media_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        sha256 TEXT,
        size INTEGER,
        content_type TEXT,
        filename TEXT,
        created_ts INTEGER NOT NULL,
        uploaded_ts INTEGER,
        expires_ts INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS media_by_user ON media (user_id, created_ts)",
    "CREATE INDEX IF NOT EXISTS media_by_sha256 ON media (sha256)",
]

_COLUMNS = ("media_id, user_id, sha256, size, content_type, filename, created_ts,"
            " uploaded_ts, expires_ts")


@dataclass(frozen=True, slots=True)
class MediaRecord:
    media_id: str
    user_id: str
    sha256: str | None  # None: created, not uploaded yet
    size: int | None
    content_type: str | None
    filename: str | None
    created_ts: int
    uploaded_ts: int | None
    expires_ts: int | None

    @property
    def uploaded(self) -> bool:
        return self.sha256 is not None


def _record(row: tuple[object, ...]) -> MediaRecord:
    return MediaRecord(*row)  # type: ignore[arg-type]


class MediaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, media_id: str) -> MediaRecord | None:
        row = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM media WHERE media_id = ?", (media_id,)).fetchone())
        return _record(row) if row else None

    async def add_uploaded(self, media_id: str, user_id: str, sha256: str, size: int,
                           content_type: str | None, filename: str | None, now_ms: int) -> None:
        await self._db.write(lambda cur: cur.execute(
            "INSERT INTO media (media_id, user_id, sha256, size, content_type, filename,"
            " created_ts, uploaded_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (media_id, user_id, sha256, size, content_type, filename, now_ms, now_ms)))

    async def add_pending(self, media_id: str, user_id: str, now_ms: int, expires_ms: int,
                          max_pending: int) -> bool:
        """Reserve a media id; False when the user already has `max_pending`
        unexpired reservations."""
        def txn(cur: Cursor) -> bool:
            (pending,) = cur.execute(
                "SELECT COUNT(*) FROM media WHERE user_id = ? AND sha256 IS NULL AND expires_ts > ?",
                (user_id, now_ms)).fetchone()
            if pending >= max_pending:
                return False
            cur.execute("INSERT INTO media (media_id, user_id, created_ts, expires_ts)"
                        " VALUES (?, ?, ?, ?)", (media_id, user_id, now_ms, expires_ms))
            return True

        return await self._db.write(txn)

    async def complete_pending(self, media_id: str, user_id: str, sha256: str, size: int,
                               content_type: str | None, filename: str | None, now_ms: int) -> bool:
        """Attach content to a reserved id; False if it has content already
        (or is not this user's unexpired reservation)."""
        def txn(cur: Cursor) -> bool:
            cur.execute(
                "UPDATE media SET sha256 = ?, size = ?, content_type = ?, filename = ?,"
                " uploaded_ts = ?, expires_ts = NULL"
                " WHERE media_id = ? AND user_id = ? AND sha256 IS NULL AND expires_ts > ?",
                (sha256, size, content_type, filename, now_ms, media_id, user_id, now_ms))
            return cur.rowcount == 1

        return await self._db.write(txn)

    async def used_bytes(self, user_id: str) -> int:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT COALESCE(SUM(size), 0) FROM media WHERE user_id = ? AND sha256 IS NOT NULL",
            (user_id,)).fetchone())
        return int(row[0])

    async def by_user(self, user_id: str) -> list[MediaRecord]:
        """A user's media, oldest first (for export and erasure)."""
        rows = await self._db.read(lambda cur: cur.execute(
            f"SELECT {_COLUMNS} FROM media WHERE user_id = ? ORDER BY created_ts, media_id",
            (user_id,)).fetchall())
        return [_record(row) for row in rows]

    async def delete(self, media_id: str) -> str | None:
        """Remove a row; the sha256 it referenced if no other row does."""
        def txn(cur: Cursor) -> str | None:
            row = cur.execute("SELECT sha256 FROM media WHERE media_id = ?", (media_id,)).fetchone()
            if row is None:
                return None
            cur.execute("DELETE FROM media WHERE media_id = ?", (media_id,))
            sha256 = row[0]
            if sha256 is None:
                return None
            still = cur.execute("SELECT 1 FROM media WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
            return None if still else str(sha256)

        return await self._db.write(txn)

    async def is_referenced(self, sha256: str) -> bool:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT 1 FROM media WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone())
        return row is not None

    async def delete_expired(self, now_ms: int) -> int:
        """Drop reservations whose upload never came."""
        def txn(cur: Cursor) -> int:
            cur.execute("DELETE FROM media WHERE sha256 IS NULL AND expires_ts <= ?", (now_ms,))
            return cur.rowcount

        return await self._db.write(txn)
