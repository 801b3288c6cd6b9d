"""User directory search (users.yaml POST /user_directory/search).

users.yaml: the server "MUST at a minimum consider" users who share a room with
the searcher and users joined to rooms with a `public` join rule or a
`world_readable` history visibility; those are exactly the users searched here
(whether a room is published in the room directory does not matter).
Deactivated users are never listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from kith.store.database import Database


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    user_id: str
    displayname: str | None
    avatar_url: str | None


# Room m.room_id's current join rule is public or its history world readable:
# two primary-key lookups in current_state per room of a candidate user.
_OPEN_ROOM = (
    "EXISTS (SELECT 1 FROM current_state cs JOIN events e ON e.event_id = cs.event_id"
    " WHERE cs.room_id = m.room_id AND cs.state_key = '' AND ("
    "  (cs.type = 'm.room.join_rules'"
    "   AND json_extract(CAST(e.json AS TEXT), '$.content.join_rule') = 'public')"
    "  OR (cs.type = 'm.room.history_visibility'"
    "   AND json_extract(CAST(e.json AS TEXT), '$.content.history_visibility')"
    "    = 'world_readable')))"
)


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
            " AND EXISTS (SELECT 1 FROM room_members m"
            "   WHERE m.user_id = u.user_id AND m.membership = 'join' AND (" + _OPEN_ROOM +
            "   OR EXISTS (SELECT 1 FROM room_members s WHERE s.room_id = m.room_id"
            "     AND s.user_id = ? AND s.membership = 'join')))"
            " ORDER BY (instr(lower(COALESCE(u.displayname, '')), ?) = 1) DESC,"
            " (u.displayname IS NULL), lower(COALESCE(u.displayname, u.user_id)), u.user_id"
            " LIMIT ?",
            (needle, needle, searcher, needle, limit),
        ).fetchall())
        return [DirectoryEntry(r[0], r[1], r[2]) for r in rows]
