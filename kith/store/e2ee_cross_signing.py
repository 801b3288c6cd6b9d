"""Cross-signing keys and the signatures users add to keys (spec:
end_to_end_encryption.md "Cross-signing"; cross_signing.yaml).

A signature row says: signer_user's key signer_key_id signed the key
`target_key` of target_user, where target_key is a device ID (device keys) or
a cross-signing public key. /keys/query merges these into the key objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from kith.store.database import Cursor, Database
from kith.store.e2ee_device_lists import record_change
from kith.store.e2ee_keys import dumps

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS e2ee_cross_signing_keys (
        user_id TEXT NOT NULL,
        usage TEXT NOT NULL,
        public_key TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, usage)
    )""",
    """CREATE TABLE IF NOT EXISTS e2ee_signatures (
        target_user TEXT NOT NULL,
        target_key TEXT NOT NULL,
        signer_user TEXT NOT NULL,
        signer_key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (target_user, target_key, signer_user, signer_key_id)
    )""",
]

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Signature:
    target_user: str
    target_key: str
    signer_user: str
    signer_key_id: str
    signature: str


class CrossSigningStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def keys(self, user_id: str) -> dict[str, Json]:
        """{usage: key object} of the user's stored cross-signing keys."""
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT usage, json FROM e2ee_cross_signing_keys WHERE user_id = ?",
            (user_id,)).fetchall())
        return {r[0]: dict(orjson.loads(r[1])) for r in rows}

    async def set_keys(self, user_id: str, keys: dict[str, tuple[str, Json]]) -> None:
        """Store {usage: (public key, object)} and record a device-list change."""

        def txn(cur: Cursor) -> None:
            for usage, (public, obj) in keys.items():
                cur.execute(
                    "INSERT INTO e2ee_cross_signing_keys (user_id, usage, public_key, json)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, usage) DO UPDATE SET"
                    " public_key = excluded.public_key, json = excluded.json",
                    (user_id, usage, public, dumps(obj)))
            record_change(cur, self._db, user_id)

        await self._db.write(txn)

    async def add_signatures(self, signatures: list[Signature],
                             changes: Iterable[tuple[str, str | None]]) -> None:
        """Store signatures and record (user_id, viewer) device-list changes."""
        wanted_changes = list(dict.fromkeys(changes))

        def txn(cur: Cursor) -> None:
            for sig in signatures:
                cur.execute(
                    "INSERT INTO e2ee_signatures (target_user, target_key, signer_user,"
                    " signer_key_id, signature) VALUES (?, ?, ?, ?, ?) ON CONFLICT (target_user,"
                    " target_key, signer_user, signer_key_id) DO UPDATE"
                    " SET signature = excluded.signature",
                    (sig.target_user, sig.target_key, sig.signer_user, sig.signer_key_id,
                     sig.signature))
            for user_id, viewer in wanted_changes:
                record_change(cur, self._db, user_id, viewer=viewer)

        if signatures:
            await self._db.write(txn)

    async def signatures_on(self, target_user: str, target_keys: Iterable[str]
                            ) -> dict[str, list[Signature]]:
        keys = list(target_keys)
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT target_user, target_key, signer_user, signer_key_id, signature"
            f" FROM e2ee_signatures WHERE target_user = ? AND target_key IN ({marks})",
            (target_user, *keys)).fetchall())
        out: dict[str, list[Signature]] = {}
        for row in rows:
            out.setdefault(row[1], []).append(Signature(*row))
        return out

    async def delete_targets(self, user_id: str, target_keys: list[str]) -> None:
        """Forget signatures on deleted devices."""

        def txn(cur: Cursor) -> None:
            for key in target_keys:
                cur.execute("DELETE FROM e2ee_signatures WHERE target_user = ? AND target_key = ?",
                            (user_id, key))

        await self._db.write(txn)

    async def delete_user(self, user_id: str) -> None:
        """Account deactivation: the user's cross-signing keys go away."""

        def txn(cur: Cursor) -> None:
            cur.execute("DELETE FROM e2ee_cross_signing_keys WHERE user_id = ?", (user_id,))
            cur.execute("DELETE FROM e2ee_signatures WHERE target_user = ?", (user_id,))
            record_change(cur, self._db, user_id)

        await self._db.write(txn)
