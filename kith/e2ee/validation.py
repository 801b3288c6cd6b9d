"""Pure checks of uploaded key objects (spec: end_to_end_encryption.md
"Device keys", "One-time and fallback keys", "Cross-signing"; appendices
"Signing JSON").

Type errors are 400 M_BAD_JSON; well-typed objects that name the wrong user,
device or key, or carry a bad signature, are 400 M_INVALID_PARAM (device keys)
or M_INVALID_SIGNATURE (cross-signing, as cross_signing.yaml lists).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from signedjson.key import decode_verify_key_base64
from signedjson.sign import SignatureVerifyException, verify_signed_json

from kith.errors import MatrixError, bad_json, invalid_param

ED25519 = "ed25519"
CROSS_SIGNING_USAGES = ("master", "self_signing", "user_signing")


def invalid_signature(message: str = "Invalid signature") -> MatrixError:
    return MatrixError(400, "M_INVALID_SIGNATURE", message)


def verify(obj: dict[str, Any], signer: str, key_id: str, public_key: str) -> bool:
    """True if obj carries a valid signature by signer under key_id ("ed25519:X")
    made with public_key (unpadded base64). Spec: appendices "Checking for a
    Signature" -- the signature covers canonical JSON without signatures/unsigned."""
    algorithm, _, version = key_id.partition(":")
    if algorithm != ED25519 or not version:
        return False
    try:
        verify_key = decode_verify_key_base64(algorithm, version, public_key)
        verify_signed_json(obj, signer, verify_key)
    except (SignatureVerifyException, ValueError, TypeError, nacl.exceptions.CryptoError):
        return False
    return True


def is_curve_public_key(value: Any) -> bool:
    """Unpadded base64 of exactly 32 bytes (appendices "Unpadded Base64"): the
    form of ed25519 and curve25519 public keys alike."""
    if not isinstance(value, str) or len(value) != 43:
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except (ValueError, binascii.Error):
        return False


def is_ed25519_public_key(value: str) -> bool:
    """A 32-byte unpadded base64 key that nacl accepts as an ed25519 verify key."""
    if not is_curve_public_key(value):
        return False
    try:
        decode_verify_key_base64(ED25519, "check", value)
    except (ValueError, TypeError, nacl.exceptions.CryptoError):
        return False
    return True


def signatures_by(obj: dict[str, Any], signer: str) -> dict[str, str]:
    """obj.signatures[signer] as {key_id: signature}; malformed parts are M_BAD_JSON."""
    sigs = obj.get("signatures", {})
    if not isinstance(sigs, dict):
        raise bad_json("signatures must be an object")
    mine = sigs.get(signer, {})
    if not isinstance(mine, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mine.items()):
        raise bad_json("signatures must map user IDs to {key_id: signature}")
    return mine


def unsigned_part(obj: dict[str, Any]) -> dict[str, Any]:
    """What a signature covers: the object without signatures and unsigned."""
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


# -- device keys --------------------------------------------------------------------


def check_device_keys(keys: Any, user_id: str, device_id: str) -> dict[str, Any]:
    """Validate a DeviceKeys object (definitions/device_keys.yaml) uploaded by
    user_id's device_id and self-signed with its ed25519 key; returns it without
    `unsigned`, which the server fills in itself."""
    if not isinstance(keys, dict):
        raise bad_json("device_keys must be an object")
    for name in ("user_id", "device_id"):
        if not isinstance(keys.get(name), str):
            raise bad_json(f"device_keys.{name} must be a string")
    algorithms = keys.get("algorithms")
    if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
        raise bad_json("device_keys.algorithms must be a list of strings")
    key_map = keys.get("keys")
    if not isinstance(key_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in key_map.items()):
        raise bad_json("device_keys.keys must map key IDs to strings")
    if keys["user_id"] != user_id or keys["device_id"] != device_id:
        raise invalid_param("device_keys must be for the requesting user and device")
    for key_id in key_map:
        algorithm, sep, key_device = key_id.partition(":")
        if not sep or not algorithm or key_device != device_id:
            raise invalid_param(f"Key ID {key_id} must be <algorithm>:{device_id}")
    signing_id = f"{ED25519}:{device_id}"
    public = key_map.get(signing_id)
    if public is None:
        raise invalid_param(f"device_keys.keys must include {signing_id}")
    if signing_id not in signatures_by(keys, user_id):
        raise invalid_param("device_keys must be signed by the device's ed25519 key")
    if not verify(keys, user_id, signing_id, public):
        raise invalid_param("device_keys signature does not verify")
    curve = key_map.get(f"curve25519:{device_id}")
    if curve is not None and not is_curve_public_key(curve):
        raise invalid_param("device_keys curve25519 key is not unpadded base64 of 32 bytes")
    return {k: v for k, v in keys.items() if k != "unsigned"}


# -- one-time and fallback keys ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneTimeKey:
    algorithm: str
    key_id: str  # the full "<algorithm>:<key id>"
    value: Any   # a string (curve25519) or a signed object (signed_curve25519)


# Spec (end_to_end_encryption.md "Key algorithms"): `curve25519` keys are bare
# strings (deprecated), `signed_curve25519` keys are objects signed by the
# device. Both are curve25519 public keys: unpadded base64 of 32 bytes.
CURVE_ALGORITHMS = ("curve25519", "signed_curve25519")


def check_one_time_keys(keys: Any, user_id: str, device_id: str, ed25519: str | None,
                        fallback: bool) -> list[OneTimeKey]:
    """Validate the one_time_keys or fallback_keys map of /keys/upload.

    A key handed out by /keys/claim is what another device starts an Olm
    session with, so nothing unverifiable is stored: every signed key (an
    object) must verify against the device's ed25519 key, known either from an
    earlier upload or from the device_keys of the same request; a fallback key
    object carries "fallback": true (spec: keys.yaml, fallback_keys); keys of
    the curve25519 family must be well-formed public keys."""
    what = "fallback_keys" if fallback else "one_time_keys"
    if not isinstance(keys, dict):
        raise bad_json(f"{what} must be an object")
    out = []
    for key_id, value in keys.items():
        algorithm, sep, ident = key_id.partition(":")
        if not sep or not algorithm or not ident:
            raise invalid_param(f"{what}: key ID {key_id!r} must be <algorithm>:<key_id>")
        if algorithm.startswith("signed_") and not isinstance(value, dict):
            raise bad_json(f"{what}.{key_id} must be a signed key object")
        if isinstance(value, dict):
            _check_signed_key(value, what, key_id, user_id, device_id, ed25519, fallback)
            public = value["key"]
        elif isinstance(value, str):
            if fallback:
                raise invalid_param(f"fallback key {key_id} must be an object with \"fallback\": true")
            public = value
        else:
            raise bad_json(f"{what}.{key_id} must be a string or an object")
        if algorithm in CURVE_ALGORITHMS and not is_curve_public_key(public):
            raise invalid_param(f"{what}.{key_id} is not unpadded base64 of 32 bytes")
        out.append(OneTimeKey(algorithm, key_id, value))
    if fallback and len({k.algorithm for k in out}) != len(out):
        raise invalid_param("At most one fallback key per algorithm")
    return out


def _check_signed_key(value: dict[str, Any], what: str, key_id: str, user_id: str,
                      device_id: str, ed25519: str | None, fallback: bool) -> None:
    if not isinstance(value.get("key"), str):
        raise bad_json(f"{what}.{key_id}.key must be a string")
    if ed25519 is None:
        raise invalid_param(f"{what} need the device's keys: upload device_keys first "
                            "or in the same request")
    signing_id = f"{ED25519}:{device_id}"
    if signing_id not in signatures_by(value, user_id) or not verify(
            value, user_id, signing_id, ed25519):
        raise invalid_param(f"{what}.{key_id} is not signed by this device")
    if fallback and value.get("fallback") is not True:
        raise invalid_param(f"fallback key {key_id} must have \"fallback\": true")


# -- cross-signing keys --------------------------------------------------------------------


def check_cross_signing_key(key: Any, user_id: str, usage: str) -> str:
    """Validate a CrossSigningKey (definitions/cross_signing_key.yaml) for the
    given usage; returns its public key (unpadded base64)."""
    if not isinstance(key, dict):
        raise bad_json(f"{usage} key must be an object")
    if key.get("user_id") != user_id:
        raise invalid_param(f"{usage} key must belong to {user_id}")
    usages = key.get("usage")
    if not isinstance(usages, list) or usage not in usages:
        raise invalid_param(f"{usage} key must list {usage!r} in usage")
    key_map = key.get("keys")
    if not isinstance(key_map, dict) or len(key_map) != 1:
        raise invalid_param(f"{usage} key must have exactly one key")
    (key_id, public), = key_map.items()
    algorithm, _, name = key_id.partition(":")
    if algorithm != ED25519 or not isinstance(public, str) or name != public:
        raise invalid_param(f"{usage} key ID must be ed25519:<public key>")
    if not is_ed25519_public_key(public):
        # cross_signing_key.yaml: the value is "the unpadded base64 public key";
        # a key that cannot verify anything would lock the account's cross-signing.
        raise invalid_param(f"{usage} key is not an unpadded base64 ed25519 public key")
    if "signatures" in key:
        signatures_by(key, user_id)  # type check only
    return public


def check_signed_by(key: dict[str, Any], user_id: str, public: str) -> None:
    """Spec (cross_signing_key.yaml): self-signing and user-signing keys "must be
    signed by the user's master signing key"."""
    if not verify(key, user_id, f"{ED25519}:{public}", public):
        raise invalid_signature("Key is not signed by the master key")
