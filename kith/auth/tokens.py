"""Random identifiers: access tokens, device IDs, session IDs."""

from __future__ import annotations

import secrets
import string

_DEVICE_ALPHABET = string.ascii_uppercase


def new_access_token() -> str:
    # 32 random bytes = 256 bits; stored only as a SHA-256 hash.
    return "kith_" + secrets.token_urlsafe(32)


def new_device_id() -> str:
    return "".join(secrets.choice(_DEVICE_ALPHABET) for _ in range(10))


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def new_registration_token() -> str:
    return secrets.token_urlsafe(12)
