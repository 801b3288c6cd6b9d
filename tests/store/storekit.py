"""What the storage contract tests build on: backends and rooms.

A backend is opened the way kith.app opens it (open_database: the app's
SCHEMAS and STREAM_TABLES) on a real database, and can be closed and opened
again to play a restart. Rooms are made as the API makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kith.app import open_database
from kith.config import Config
from kith.rooms.create import creation_intents, parse_request
from kith.rooms.service import Intent, RoomService
from kith.signing import generate_signing_key
from kith.store.database import Database
from kith.store.events import EventStore, Persisted, Txn
from kith.sync.notifier import Notifier

BACKENDS = ["sqlite"]
SERVER = "store.test"


@dataclass
class Backend:
    name: str
    config: Config
    db: Database

    def reopen(self) -> Database:
        """Close the database and open the same one again, as a restart does.
        Stores must be built anew on the returned database."""
        self.db.close()
        self.db = open_database(self.config)
        return self.db

    def close(self) -> None:
        self.db.close()


def open_backend(name: str, tmp_path: Path) -> Backend:
    if name == "sqlite":
        config = Config(data_dir=tmp_path / "data")
        config.data_dir.mkdir(parents=True)
        return Backend(name, config, open_database(config))
    raise ValueError(f"no such backend {name}")


class Rooms:
    """Rooms built and persisted as the API does: RoomService, real signatures."""

    def __init__(self, db: Database) -> None:
        self.events = EventStore(db)
        self.service = RoomService(SERVER, generate_signing_key(), self.events, Notifier())

    async def create(self, creator: str, body: dict[str, Any] | None = None) -> str:
        plan = parse_request(body or {"preset": "public_chat"})
        intents = creation_intents(creator, plan, SERVER, {})
        makers = [self.service.maker(intents[0], plan.version)]
        makers += [self.service.maker(i) for i in intents[1:]]
        return (await self.service.persist(None, makers))[0].room_id

    async def say(self, room_id: str, sender: str, body: str, txn: Txn | None = None,
                  **content: Any) -> Persisted:
        return await self.service.send(
            Intent(sender, "m.room.message", {"msgtype": "m.text", "body": body, **content},
                   txn=txn), room_id)

    async def join(self, room_id: str, user_id: str) -> Persisted:
        return await self.service.set_membership(user_id, room_id, user_id, "join")

    async def leave(self, room_id: str, user_id: str) -> Persisted:
        return await self.service.set_membership(user_id, room_id, user_id, "leave")
