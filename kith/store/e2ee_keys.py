"""Device keys, one-time keys and fallback keys (spec: keys.yaml
/keys/upload, /keys/query, /keys/claim; end_to_end_encryption.md).

Key objects are stored as canonical (sorted-key) JSON text so that "the same
key uploaded again" is a plain string comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from kith.e2ee.claim import Candidate, choose
from kith.e2ee.validation import OneTimeKey
from kith.errors import invalid_param
from kith.store.database import Cursor, Database
from kith.store.e2ee_device_lists import record_change

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS e2ee_device_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id)
    )""",
    """CREATE TABLE IF NOT EXISTS e2ee_one_time_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id, algorithm, key_id)
    )""",
    """CREATE TABLE IF NOT EXISTS e2ee_fallback_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        json TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, device_id, algorithm)
    )""",
]

Json = dict[str, Any]


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _identity(device_keys: Json) -> dict[str, Any]:
    """A device's identity keys: its ed25519 signing key and curve25519 Olm key
    (end_to_end_encryption.md "Device keys")."""
    keys = device_keys.get("keys") or {}
    return {k: v for k, v in keys.items() if k.split(":", 1)[0] in ("ed25519", "curve25519")}


def _forget_old_identity(cur: Cursor, user_id: str, device_id: str) -> None:
    """A device whose identity keys were replaced: its one-time and fallback
    keys were signed by the old ed25519 key (and belong to the old Olm account),
    so a claimer would get keys that fail verification; signatures on the
    device (self-signing, in e2ee_signatures of kith.store.e2ee_cross_signing)
    covered the old keys, and signatures it made were made with the old key."""
    for table in ("e2ee_one_time_keys", "e2ee_fallback_keys"):
        cur.execute(f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                    (user_id, device_id))
    cur.execute("DELETE FROM e2ee_signatures WHERE target_user = ? AND target_key = ?",
                (user_id, device_id))
    cur.execute("DELETE FROM e2ee_signatures WHERE signer_user = ? AND signer_key_id = ?",
                (user_id, f"ed25519:{device_id}"))


class KeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- upload ----------------------------------------------------------------------

    async def upload(self, user_id: str, device_id: str, device_keys: Json | None,
                     one_time: list[OneTimeKey], fallback: list[OneTimeKey]) -> bool:
        """Store everything or nothing; True if the device keys changed.

        Spec (keys.yaml): re-uploading a one-time key ID with different content
        is an error; the same content again is accepted (a retried request).
        New identity keys first drop what the old ones signed, so that one-time
        and fallback keys uploaded with them in this request are kept."""

        def store_device_keys(cur: Cursor, keys: Json) -> bool:
            value = dumps(keys)
            row = cur.execute("SELECT json FROM e2ee_device_keys WHERE user_id = ? AND device_id = ?",
                              (user_id, device_id)).fetchone()
            if row is not None and row[0] == value:
                return False
            if row is not None and _identity(orjson.loads(row[0])) != _identity(keys):
                _forget_old_identity(cur, user_id, device_id)
            cur.execute(
                "INSERT INTO e2ee_device_keys (user_id, device_id, json) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, device_id) DO UPDATE SET json = excluded.json",
                (user_id, device_id, value))
            record_change(cur, self._db, user_id)
            return True

        def txn(cur: Cursor) -> bool:
            changed = device_keys is not None and store_device_keys(cur, device_keys)
            for key in one_time:
                value = dumps(key.value)
                row = cur.execute(
                    "SELECT json FROM e2ee_one_time_keys WHERE user_id = ? AND device_id = ?"
                    " AND algorithm = ? AND key_id = ?",
                    (user_id, device_id, key.algorithm, key.key_id)).fetchone()
                if row is not None and row[0] != value:
                    raise invalid_param(f"One-time key {key.key_id} already exists")
                if row is None:
                    cur.execute(
                        "INSERT INTO e2ee_one_time_keys (user_id, device_id, algorithm, key_id,"
                        " json) VALUES (?, ?, ?, ?, ?)",
                        (user_id, device_id, key.algorithm, key.key_id, value))
            for key in fallback:
                value = dumps(key.value)
                row = cur.execute(
                    "SELECT key_id, json FROM e2ee_fallback_keys WHERE user_id = ?"
                    " AND device_id = ? AND algorithm = ?",
                    (user_id, device_id, key.algorithm)).fetchone()
                if row is not None and row[0] == key.key_id and row[1] == value:
                    continue  # the same key again keeps its used flag
                cur.execute(
                    "INSERT INTO e2ee_fallback_keys (user_id, device_id, algorithm, key_id, json,"
                    " used) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (user_id, device_id, algorithm)"
                    " DO UPDATE SET key_id = excluded.key_id, json = excluded.json, used = 0",
                    (user_id, device_id, key.algorithm, key.key_id, value))
            return changed

        return await self._db.write(txn)

    # -- counts (for /keys/upload and /sync) ------------------------------------------------

    async def one_time_key_counts(self, user_id: str, device_id: str) -> dict[str, int]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT algorithm, COUNT(*) FROM e2ee_one_time_keys WHERE user_id = ?"
            " AND device_id = ? GROUP BY algorithm", (user_id, device_id)).fetchall())
        return {r[0]: int(r[1]) for r in rows}

    async def unused_fallback_types(self, user_id: str, device_id: str) -> list[str]:
        rows = await self._db.read(lambda cur: cur.execute(
            "SELECT algorithm FROM e2ee_fallback_keys WHERE user_id = ? AND device_id = ?"
            " AND used = 0 ORDER BY algorithm", (user_id, device_id)).fetchall())
        return [r[0] for r in rows]

    # -- query -------------------------------------------------------------------------------

    async def device_keys(self, user_id: str, device_id: str) -> Json | None:
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT json FROM e2ee_device_keys WHERE user_id = ? AND device_id = ?",
            (user_id, device_id)).fetchone())
        return dict(orjson.loads(row[0])) if row else None

    async def query(self, wanted: dict[str, list[str]]) -> dict[str, dict[str, Json]]:
        """{user: {device: keys}} for the listed devices (all when the list is
        empty), with unsigned.device_display_name (spec: keys.yaml /keys/query)."""

        def txn(cur: Cursor) -> dict[str, dict[str, Json]]:
            out: dict[str, dict[str, Json]] = {}
            for user_id, device_ids in wanted.items():
                rows = cur.execute(
                    "SELECT k.device_id, k.json, d.display_name FROM e2ee_device_keys k"
                    " JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id"
                    " WHERE k.user_id = ? ORDER BY k.device_id", (user_id,)).fetchall()
                only = set(device_ids)
                found: dict[str, Json] = {}
                for device_id, text, display_name in rows:
                    if only and device_id not in only:
                        continue
                    keys = dict(orjson.loads(text))
                    if display_name is not None:
                        keys["unsigned"] = {"device_display_name": display_name}
                    found[device_id] = keys
                out[user_id] = found
            return out

        return await self._db.read(txn)

    # -- claim --------------------------------------------------------------------------------

    async def claim(self, wanted: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, Json]]:
        """Hand out one key per (user, device, algorithm) in one write transaction,
        so concurrent claims never receive the same one-time key. Only devices
        that still exist: keys left behind by a device being deleted (its row
        goes before its keys) must never start an Olm session with nobody."""
        items = list(wanted)

        def txn(cur: Cursor) -> dict[str, dict[str, Json]]:
            out: dict[str, dict[str, Json]] = {}
            for user_id, device_id, algorithm in items:
                if cur.execute("SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?",
                               (user_id, device_id)).fetchone() is None:
                    continue
                row = cur.execute(
                    "SELECT key_id, json FROM e2ee_one_time_keys WHERE user_id = ?"
                    " AND device_id = ? AND algorithm = ? ORDER BY key_id LIMIT 1",
                    (user_id, device_id, algorithm)).fetchone()
                otk = Candidate(row[0], row[1]) if row else None
                row = cur.execute(
                    "SELECT key_id, json FROM e2ee_fallback_keys WHERE user_id = ?"
                    " AND device_id = ? AND algorithm = ?",
                    (user_id, device_id, algorithm)).fetchone()
                fallback = Candidate(row[0], row[1]) if row else None
                chosen = choose(otk, fallback)
                if chosen is None:
                    continue
                if chosen.is_fallback:
                    cur.execute(
                        "UPDATE e2ee_fallback_keys SET used = 1 WHERE user_id = ?"
                        " AND device_id = ? AND algorithm = ?", (user_id, device_id, algorithm))
                else:
                    cur.execute(
                        "DELETE FROM e2ee_one_time_keys WHERE user_id = ? AND device_id = ?"
                        " AND algorithm = ? AND key_id = ?",
                        (user_id, device_id, algorithm, chosen.key_id))
                out.setdefault(user_id, {}).setdefault(device_id, {})[chosen.key_id] = \
                    orjson.loads(chosen.json)
            return out

        return await self._db.write(txn)

    # -- removal --------------------------------------------------------------------------------

    async def delete_devices(self, user_id: str, device_ids: list[str]) -> None:
        """Spec (device_management.md): deleting a device removes its keys; the
        change is a device-list update."""

        def txn(cur: Cursor) -> None:
            for device_id in device_ids:
                for table in ("e2ee_device_keys", "e2ee_one_time_keys", "e2ee_fallback_keys"):
                    cur.execute(f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                                (user_id, device_id))
            if device_ids:
                record_change(cur, self._db, user_id)

        await self._db.write(txn)
