"""Server signing keys and JSON signatures.

Spec: appendices.md "Signing JSON" / "Signing Details" / "Checking for a
Signature", and server-server-api.md "Retrieving server keys". Keys are ed25519
(the only algorithm the spec defines), held as signedjson/PyNaCl key objects so
they can be handed to any code that expects those types.

The on-disk format is one line, "ed25519 <version> <unpadded base64 seed>", the
same layout other homeservers use, so an operator can move a key file between
implementations without converting it.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing
from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    get_verify_key,
)
from signedjson.types import BaseKey, SigningKey, VerifyKey
from unpaddedbase64 import decode_base64, encode_base64

from kith.canonical_json import encode_canonical_json

__all__ = [
    "ED25519",
    "InvalidSignature",
    "SigningKey",
    "SigningKeyFileError",
    "VerifyKey",
    "decode_verify_key",
    "encode_verify_key",
    "generate_signing_key",
    "get_verify_key",
    "key_id",
    "read_signing_key",
    "sign_json",
    "verify_json",
    "write_signing_key",
]

# Spec (appendices "Signing Details"): "The currently supported value for signing
# algorithm is ed25519".
ED25519 = "ed25519"

# Key versions become part of key IDs and of URLs (/_matrix/key/v2/server), so
# only characters that need no escaping anywhere are used.
_VERSION_ALPHABET = string.ascii_letters + string.digits + "_"

# An ed25519 private key is stored as its 32-byte seed (RFC 8032 section 5.1.5).
_SEED_BYTES = 32


class InvalidSignature(Exception):
    """A JSON object does not carry a valid signature from the expected key."""


class SigningKeyFileError(ValueError):
    """A signing key file is missing, unreadable or not in the expected format."""


def _random_version() -> str:
    return "a_" + "".join(secrets.choice(string.ascii_letters) for _ in range(4))


def generate_signing_key(version: str | None = None) -> SigningKey:
    """Create a fresh ed25519 signing key, versioned "a_XXXX" unless told otherwise."""
    if version is None:
        version = _random_version()
    _check_version(version)
    key: SigningKey = nacl.signing.SigningKey.generate()  # type: ignore[assignment]
    key.version = version
    key.alg = ED25519
    return key


def _check_version(version: str) -> None:
    if not version or any(ch not in _VERSION_ALPHABET for ch in version):
        raise ValueError(
            f"signing key version {version!r} must be non-empty and use only "
            "letters, digits and '_'"
        )


def key_id(key: BaseKey) -> str:
    """The signing key identifier, "<algorithm>:<version>" (appendices "Signing Details")."""
    return f"{key.alg}:{key.version}"


def write_signing_key(path: str | os.PathLike[str], key: SigningKey) -> None:
    """Store `key` at `path` as one line, readable by the owner only (mode 0600).

    The file is written under a temporary name and renamed into place, so a crash
    never leaves a half-written key where the server will look for it, and it is
    created with 0600 from the start so the seed is never briefly world-readable.
    """
    target = Path(path)
    line = f"{key.alg} {key.version} {encode_signing_key_base64(key)}\n"
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        # The umask may have narrowed the mode further; it can never widen it,
        # but set it explicitly so the contract is exact.
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load the signing key written by `write_signing_key`.

    Raises `SigningKeyFileError` naming the file and the problem; blank lines are
    ignored, and exactly one key line is expected.
    """
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningKeyFileError(f"cannot read signing key file {path}: {exc}") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise SigningKeyFileError(
            f"signing key file {path} must hold exactly one key line, found {len(lines)}"
        )
    parts = lines[0].split()
    if len(parts) != 3:
        raise SigningKeyFileError(
            f"signing key file {path}: expected 'ed25519 <version> <base64 seed>'"
        )
    algorithm, version, seed_b64 = parts
    if algorithm != ED25519:
        raise SigningKeyFileError(
            f"signing key file {path}: unsupported algorithm {algorithm!r}"
        )
    try:
        _check_version(version)
        if len(decode_base64(seed_b64)) != _SEED_BYTES:
            raise ValueError(f"seed must be {_SEED_BYTES} bytes")
        return decode_signing_key_base64(algorithm, version, seed_b64)
    except (ValueError, TypeError, nacl.exceptions.CryptoError) as exc:
        raise SigningKeyFileError(f"signing key file {path}: bad key: {exc}") from exc


def encode_verify_key(key: VerifyKey) -> str:
    """Unpadded base64 of the public key, as published under `verify_keys`."""
    return encode_verify_key_base64(key)


def decode_verify_key(key_identifier: str, key_b64: str) -> VerifyKey:
    """Build a verify key from a key ID ("ed25519:abc") and its unpadded base64.

    Raises ValueError for unknown algorithms or bad base64/length.
    """
    algorithm, sep, version = key_identifier.partition(":")
    if not sep or algorithm != ED25519 or not version:
        raise ValueError(f"unsupported or malformed key id {key_identifier!r}")
    try:
        return decode_verify_key_base64(algorithm, version, key_b64)
    except (TypeError, nacl.exceptions.CryptoError) as exc:
        raise ValueError(f"bad verify key for {key_identifier!r}: {exc}") from exc


def _signing_bytes(obj: Mapping[str, Any]) -> bytes:
    # Spec (appendices "Signing Details"): the signature covers the canonical JSON
    # of the object without its `signatures` and `unsigned` members.
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )


def sign_json(obj: Mapping[str, Any], server_name: str, key: SigningKey) -> dict[str, Any]:
    """Return a copy of `obj` with this server's signature added to `signatures`.

    `obj` itself is not modified. Existing signatures (ours under other key IDs,
    or other servers') are kept, as the spec allows several signers.
    """
    signature = encode_base64(key.sign(_signing_bytes(obj)).signature)
    result = dict(obj)
    existing = obj.get("signatures")
    signatures: dict[str, Any] = (
        {name: dict(sigs) if isinstance(sigs, Mapping) else sigs
         for name, sigs in existing.items()}
        if isinstance(existing, Mapping)
        else {}
    )
    server_sigs = signatures.get(server_name)
    if not isinstance(server_sigs, dict):
        server_sigs = {}
        signatures[server_name] = server_sigs
    server_sigs[key_id(key)] = signature
    result["signatures"] = signatures
    return result


def verify_json(obj: Mapping[str, Any], server_name: str, verify_key: VerifyKey) -> None:
    """Check that `obj` carries a valid signature by `verify_key` for `server_name`.

    Implements appendices "Checking for a Signature" for one known key: the
    signature is looked up under signatures[server_name][key_id], base64-decoded
    (padding tolerated, per "Unpadded Base64"), and checked against the canonical
    JSON of the object minus `signatures` and `unsigned`. Raises
    `InvalidSignature` with a message saying which step failed.
    """
    kid = key_id(verify_key)
    signatures = obj.get("signatures")
    if not isinstance(signatures, Mapping):
        raise InvalidSignature("object has no signatures")
    server_sigs = signatures.get(server_name)
    if not isinstance(server_sigs, Mapping):
        raise InvalidSignature(f"object is not signed by {server_name}")
    signature_b64 = server_sigs.get(kid)
    if not isinstance(signature_b64, str):
        raise InvalidSignature(f"no signature from {server_name} with key {kid}")
    try:
        signature = decode_base64(signature_b64)
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        raise InvalidSignature(
            f"signature from {server_name} with key {kid} is not valid base64"
        ) from exc
    try:
        verify_key.verify(_signing_bytes(obj), signature)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise InvalidSignature(
            f"signature from {server_name} with key {kid} does not match the content"
        ) from exc
