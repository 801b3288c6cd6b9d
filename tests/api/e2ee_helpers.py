"""Client-side key material for the end-to-end encryption API tests: real
ed25519 keys signed the way clients sign them (appendices "Signing JSON")."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from signedjson.types import SigningKey

from matrix import User  # type: ignore[import-not-found]

ALGORITHMS = ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"]


def public(key: SigningKey) -> str:
    return str(encode_verify_key_base64(get_verify_key(key)))


def curve_key(seed: str) -> str:
    """A well-formed curve25519 public key (32 bytes, unpadded base64), derived
    from seed so tests can tell keys apart."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode().rstrip("=")


def device_signing_key(user: User) -> SigningKey:
    return generate_signing_key(user.device_id)


def cross_key() -> SigningKey:
    """An ed25519 key whose key ID is ed25519:<its public key>, as cross-signing uses."""
    key = generate_signing_key("tmp")
    key.version = public(key)
    return key


def device_keys(user: User, key: SigningKey) -> dict[str, Any]:
    obj = {
        "user_id": user.user_id, "device_id": user.device_id, "algorithms": ALGORITHMS,
        "keys": {f"ed25519:{user.device_id}": public(key),
                 f"curve25519:{user.device_id}": curve_key(user.device_id)},
    }
    return dict(sign_json(obj, user.user_id, key))


def one_time_keys(user: User, key: SigningKey, count: int, start: int = 0,
                  fallback: bool = False) -> dict[str, Any]:
    out = {}
    for i in range(start, start + count):
        obj: dict[str, Any] = {"key": curve_key(f"otk{i:04d}")}
        if fallback:
            obj["fallback"] = True
        out[f"signed_curve25519:AAAA{i:04d}"] = sign_json(obj, user.user_id, key)
    return out


def cross_signing_key(user: User, usage: str, key: SigningKey,
                      signer: SigningKey | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"user_id": user.user_id, "usage": [usage],
                           "keys": {f"ed25519:{public(key)}": public(key)}}
    return dict(sign_json(obj, user.user_id, signer)) if signer is not None else obj


async def upload_device(user: User) -> SigningKey:
    key = device_signing_key(user)
    await user.request("POST", "/keys/upload", {"device_keys": device_keys(user, key)})
    return key


__all__ = ["sign_json", "curve_key", "public", "device_keys", "one_time_keys", "cross_signing_key",
           "cross_key", "upload_device", "device_signing_key"]
