"""Users, devices, access tokens and registration tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS users (
        user_id TEXT PRIMARY KEY,
        password_hash TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0,
        deactivated INTEGER NOT NULL DEFAULT 0,
        created_ts INTEGER NOT NULL,
        displayname TEXT,
        avatar_url TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS devices (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        display_name TEXT,
        last_seen_ts INTEGER,
        last_seen_ip TEXT,
        PRIMARY KEY (user_id, device_id)
    )""",
    """CREATE TABLE IF NOT EXISTS access_tokens (
        token_hash BLOB PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        created_ts INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS access_tokens_device ON access_tokens (user_id, device_id)",
    """CREATE TABLE IF NOT EXISTS registration_tokens (
        token TEXT PRIMARY KEY,
        uses_allowed INTEGER,
        completed INTEGER NOT NULL DEFAULT 0,
        expiry_ts INTEGER
    )""",
]


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    password_hash: str | None
    is_admin: bool
    deactivated: bool
    displayname: str | None
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class Device:
    user_id: str
    device_id: str
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None


@dataclass(frozen=True, slots=True)
class TokenOwner:
    user_id: str
    device_id: str
    is_admin: bool


class UserExists(Exception):
    pass


def now_ms() -> int:
    return int(time.time() * 1000)


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Token lookups happen on every request: keep a bounded cache that the
        # methods deleting tokens invalidate.
        self._token_cache: dict[bytes, TokenOwner] = {}

    # -- users --------------------------------------------------------------------

    async def create_user(
        self, user_id: str, password_hash: str | None, is_admin: bool = False,
        displayname: str | None = None,
    ) -> None:
        def txn(cur: Cursor) -> None:
            if cur.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone():
                raise UserExists(user_id)
            cur.execute(
                "INSERT INTO users (user_id, password_hash, is_admin, created_ts, displayname)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, password_hash, int(is_admin), now_ms(), displayname),
            )

        await self._db.write(txn)

    async def get_user(self, user_id: str) -> User | None:
        def txn(cur: Cursor) -> User | None:
            row = cur.execute(
                "SELECT user_id, password_hash, is_admin, deactivated, displayname, avatar_url"
                " FROM users WHERE user_id = ?",
                (user_id,),
            ).fetchone()
            if row is None:
                return None
            return User(row[0], row[1], bool(row[2]), bool(row[3]), row[4], row[5])

        return await self._db.read(txn)

    async def user_id_taken(self, user_id: str) -> bool:
        return await self.get_user(user_id) is not None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash, user_id)
            )
        )

    async def deactivate(self, user_id: str) -> None:
        def txn(cur: Cursor) -> None:
            cur.execute(
                "UPDATE users SET deactivated = 1, password_hash = NULL, displayname = NULL,"
                " avatar_url = NULL WHERE user_id = ?",
                (user_id,),
            )
            cur.execute("DELETE FROM access_tokens WHERE user_id = ?", (user_id,))
            cur.execute("DELETE FROM devices WHERE user_id = ?", (user_id,))

        await self._db.write(txn)
        self._forget_tokens(lambda owner: owner.user_id == user_id)

    async def set_profile_field(self, user_id: str, field: str, value: str | None) -> None:
        if field not in ("displayname", "avatar_url"):
            raise ValueError(field)
        await self._db.write(
            lambda cur: cur.execute(
                f"UPDATE users SET {field} = ? WHERE user_id = ?", (value, user_id)
            )
        )

    async def count_users(self) -> int:
        row = await self._db.read(lambda cur: cur.execute("SELECT COUNT(*) FROM users").fetchone())
        return int(row[0])

    # -- devices ------------------------------------------------------------------

    async def upsert_device(self, user_id: str, device_id: str, display_name: str | None) -> None:
        def txn(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE SET"
                " display_name = COALESCE(excluded.display_name, devices.display_name)",
                (user_id, device_id, display_name, now_ms()),
            )

        await self._db.write(txn)

    async def get_devices(self, user_id: str) -> list[Device]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip"
                " FROM devices WHERE user_id = ? ORDER BY device_id",
                (user_id,),
            ).fetchall()
        )
        return [Device(*row) for row in rows]

    async def get_device(self, user_id: str, device_id: str) -> Device | None:
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip"
                " FROM devices WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            ).fetchone()
        )
        return Device(*row) if row else None

    async def set_device_name(self, user_id: str, device_id: str, name: str | None) -> bool:
        return await self._db.write(
            lambda cur: cur.execute(
                "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
                (name, user_id, device_id),
            ).rowcount > 0
        )

    async def touch_device(self, user_id: str, device_id: str, ip: str | None) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?"
                " WHERE user_id = ? AND device_id = ?",
                (now_ms(), ip, user_id, device_id),
            )
        )

    async def delete_devices(self, user_id: str, device_ids: list[str]) -> None:
        """Delete devices and their access tokens (spec: device_management)."""

        def txn(cur: Cursor) -> None:
            for device_id in device_ids:
                cur.execute(
                    "DELETE FROM devices WHERE user_id = ? AND device_id = ?", (user_id, device_id)
                )
                cur.execute(
                    "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?",
                    (user_id, device_id),
                )

        await self._db.write(txn)
        gone = set(device_ids)
        self._forget_tokens(lambda o: o.user_id == user_id and o.device_id in gone)

    # -- access tokens ------------------------------------------------------------

    async def add_access_token(self, token_hash: bytes, user_id: str, device_id: str) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, user_id, device_id, now_ms()),
            )
        )

    async def lookup_token(self, token_hash: bytes) -> TokenOwner | None:
        cached = self._token_cache.get(token_hash)
        if cached is not None:
            return cached
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT t.user_id, t.device_id, u.is_admin FROM access_tokens t"
                " JOIN users u ON u.user_id = t.user_id"
                " WHERE t.token_hash = ? AND u.deactivated = 0",
                (token_hash,),
            ).fetchone()
        )
        if row is None:
            return None
        owner = TokenOwner(row[0], row[1], bool(row[2]))
        if len(self._token_cache) >= 10_000:
            self._token_cache.clear()
        self._token_cache[token_hash] = owner
        return owner

    async def delete_tokens_except_device(self, user_id: str, keep_device: str | None) -> list[str]:
        """Remove the user's other devices and tokens; returns the devices removed."""

        def txn(cur: Cursor) -> list[str]:
            rows = cur.execute(
                "SELECT device_id FROM devices WHERE user_id = ?", (user_id,)
            ).fetchall()
            removed = [r[0] for r in rows if r[0] != keep_device]
            for device_id in removed:
                cur.execute(
                    "DELETE FROM devices WHERE user_id = ? AND device_id = ?", (user_id, device_id)
                )
            cur.execute(
                "DELETE FROM access_tokens WHERE user_id = ? AND device_id != ?",
                (user_id, keep_device or ""),
            )
            return removed

        removed = await self._db.write(txn)
        self._forget_tokens(lambda o: o.user_id == user_id and o.device_id != keep_device)
        return removed

    def _forget_tokens(self, match: Callable[[TokenOwner], bool]) -> None:
        for key in [k for k, owner in self._token_cache.items() if match(owner)]:
            del self._token_cache[key]

    # -- registration tokens --------------------------------------------------------

    async def create_registration_token(
        self, token: str, uses_allowed: int | None, expiry_ts: int | None
    ) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "INSERT INTO registration_tokens (token, uses_allowed, expiry_ts) VALUES (?, ?, ?)",
                (token, uses_allowed, expiry_ts),
            )
        )

    async def registration_token_valid(self, token: str) -> bool:
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT uses_allowed, completed, expiry_ts FROM registration_tokens WHERE token = ?",
                (token,),
            ).fetchone()
        )
        return row is not None and _token_usable(row[0], row[1], row[2])

    async def use_registration_token(self, token: str) -> bool:
        """Consume one use atomically; False if the token is no longer usable."""

        def txn(cur: Cursor) -> bool:
            row = cur.execute(
                "SELECT uses_allowed, completed, expiry_ts FROM registration_tokens WHERE token = ?",
                (token,),
            ).fetchone()
            if row is None or not _token_usable(row[0], row[1], row[2]):
                return False
            cur.execute(
                "UPDATE registration_tokens SET completed = completed + 1 WHERE token = ?", (token,)
            )
            return True

        return await self._db.write(txn)


def _token_usable(uses_allowed: int | None, completed: int, expiry_ts: int | None) -> bool:
    if uses_allowed is not None and completed >= uses_allowed:
        return False
    return expiry_ts is None or expiry_ts > now_ms()

