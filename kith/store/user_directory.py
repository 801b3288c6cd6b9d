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
from kith.store.dialect import Dialect


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    user_id: str
    displayname: str | None
    avatar_url: str | None


def _search_sql(d: Dialect) -> str:
    # Room m.room_id's current join rule is public or its history world
    # readable: two primary-key lookups in current_state per room of a user.
    open_room = (
        "EXISTS (SELECT 1 FROM current_state cs JOIN events e ON e.event_id = cs.event_id"
        " WHERE cs.room_id = m.room_id AND cs.state_key = '' AND ("
        "  (cs.type = 'm.room.join_rules'"
        f"   AND {d.json_text('e.json', 'content.join_rule')} = 'public')"
        "  OR (cs.type = 'm.room.history_visibility'"
        f"   AND {d.json_text('e.json', 'content.history_visibility')} = 'world_readable')))"
    )
    name = "lower(COALESCE(u.displayname, ''))"
    return (
        "SELECT u.user_id, u.displayname, u.avatar_url FROM users u"
        " WHERE u.deactivated = 0"
        f" AND ({d.contains('lower(u.user_id)', '?')} OR {d.contains(name, '?')})"
        " AND EXISTS (SELECT 1 FROM room_members m"
        "   WHERE m.user_id = u.user_id AND m.membership = 'join' AND (" + open_room +
        "   OR EXISTS (SELECT 1 FROM room_members s WHERE s.room_id = m.room_id"
        "     AND s.user_id = ? AND s.membership = 'join')))"
        f" ORDER BY ({d.position(name, '?')} = 1) DESC,"
        " (u.displayname IS NULL), lower(COALESCE(u.displayname, u.user_id)), u.user_id"
        " LIMIT ?"
    )


class UserDirectoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._search = _search_sql(db.dialect)

    async def search(self, searcher: str, term: str, limit: int) -> list[DirectoryEntry]:
        """Up to `limit` visible users whose ID or display name contains `term`
        (case-insensitive); display-name prefix matches rank first."""
        needle = term.lower()
        rows = await self._db.read(lambda cur: cur.execute(
            self._search, (needle, needle, searcher, needle, limit)).fetchall())
        return [DirectoryEntry(r[0], r[1], r[2]) for r in rows]
