"""Room aliases (spec: directory.yaml)."""

from __future__ import annotations

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS room_aliases (
        alias TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        creator TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS room_aliases_room ON room_aliases (room_id)",
]


class AliasExists(Exception):
    pass


class AliasStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, alias: str, room_id: str, creator: str) -> None:
        def txn(cur: Cursor) -> None:
            if cur.execute("SELECT 1 FROM room_aliases WHERE alias = ?", (alias,)).fetchone():
                raise AliasExists(alias)
            cur.execute("INSERT INTO room_aliases (alias, room_id, creator) VALUES (?, ?, ?)",
                        (alias, room_id, creator))

        await self._db.write(txn)

    async def lookup(self, alias: str) -> tuple[str, str] | None:
        """(room_id, creator) for the alias."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT room_id, creator FROM room_aliases WHERE alias = ?", (alias,)).fetchone())
        return (row[0], row[1]) if row else None

    async def delete(self, alias: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "DELETE FROM room_aliases WHERE alias = ?", (alias,)))

    async def for_room(self, room_id: str) -> list[str]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", (room_id,)).fetchall())
        return [r[0] for r in rows]

    async def move_room(self, old_room_id: str, new_room_id: str) -> list[str]:
        """Point every alias of one room at another (room upgrades); the moved aliases."""
        def txn(cur: Cursor) -> list[str]:
            moved = [r[0] for r in cur.execute(
                "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", (old_room_id,))]
            cur.execute("UPDATE room_aliases SET room_id = ? WHERE room_id = ?",
                        (new_room_id, old_room_id))
            return moved

        return await self._db.write(txn)
