"""OpenID tokens (openid.yaml): random bearer tokens kept only as their
SHA-256, each with an expiry; expired ones are deleted as new ones are made,
and a user holds at most MAX_PER_USER live tokens (the oldest go first)."""

from __future__ import annotations

import hashlib

from kith.store.database import Cursor, Database

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS openid_tokens (
        token_hash BLOB PRIMARY KEY,
        user_id TEXT NOT NULL,
        expires_ts INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS openid_tokens_user ON openid_tokens (user_id, expires_ts)",
    "CREATE INDEX IF NOT EXISTS openid_tokens_expiry ON openid_tokens (expires_ts)",
]

MAX_PER_USER = 50


def token_hash(token: str) -> bytes:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode()).digest()


class OpenIdStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token: str, user_id: str, expires_ts: int, now_ts: int) -> None:
        def txn(cur: Cursor) -> None:
            cur.execute("DELETE FROM openid_tokens WHERE expires_ts <= ?", (now_ts,))
            cur.execute(
                "DELETE FROM openid_tokens WHERE user_id = ? AND token_hash NOT IN ("
                " SELECT token_hash FROM openid_tokens WHERE user_id = ?"
                " ORDER BY expires_ts DESC LIMIT ?)", (user_id, user_id, MAX_PER_USER - 1))
            cur.execute("INSERT INTO openid_tokens (token_hash, user_id, expires_ts)"
                        " VALUES (?, ?, ?)", (token_hash(token), user_id, expires_ts))

        await self._db.write(txn)

    async def owner(self, token: str, now_ts: int) -> str | None:
        """The user a live token was issued to; None if unknown or expired."""
        row = await self._db.read(lambda cur: cur.execute(
            "SELECT user_id FROM openid_tokens WHERE token_hash = ? AND expires_ts > ?",
            (token_hash(token), now_ts)).fetchone())
        return str(row[0]) if row else None

    async def delete_user(self, user_id: str) -> None:
        await self._db.write(lambda cur: cur.execute(
            "DELETE FROM openid_tokens WHERE user_id = ?", (user_id,)))
