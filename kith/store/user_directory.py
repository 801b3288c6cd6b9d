"""User directory search (users.yaml POST /user_directory/search).

users.yaml: the searchable users are at least those sharing a room with the
searcher and those joined to public rooms; here "public" is the room directory
flag. Deactivated users are never listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from kith.store.database import Database


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    user_id: str
    displayname: str | None
    avatar_url: str | None


class UserDirectoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(self, searcher: str, term: str, limit: int) -> list[DirectoryEntry]:
        """Up to `limit` visible users whose ID or display name contains `term`
        (case-insensitive); display-name prefix matches rank first."""
        needle = term.lower()
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT u.user_id, u.displayname, u.avatar_url FROM users u"
            " WHERE u.deactivated = 0"
            " AND (instr(lower(u.user_id), ?) > 0 OR instr(lower(COALESCE(u.displayname, '')), ?) > 0)"
            " AND EXISTS (SELECT 1 FROM room_members m JOIN rooms r ON r.room_id = m.room_id"
            "   WHERE m.user_id = u.user_id AND m.membership = 'join' AND (r.is_public = 1"
            "   OR EXISTS (SELECT 1 FROM room_members s WHERE s.room_id = m.room_id"
            "     AND s.user_id = ? AND s.membership = 'join')))"
            " ORDER BY (instr(lower(COALESCE(u.displayname, '')), ?) = 1) DESC,"
            " (u.displayname IS NULL), lower(COALESCE(u.displayname, u.user_id)), u.user_id"
            " LIMIT ?",
            (needle, needle, searcher, needle, limit),
        ).fetchall())
        return [DirectoryEntry(r[0], r[1], r[2]) for r in rows]
