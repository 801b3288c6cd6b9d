"""Signature check for third-party invites (rule 4.4.1.7 [v12: 5.4.1.7]).

"If any signature in `signed` matches any public key in the
`m.room.third_party_invite` event, allow. The public keys are in `content` of
`m.room.third_party_invite` as: a single public key in the `public_key`
property; a list of public keys in the `public_keys` property."

Keys are ed25519, unpadded base64 in the standard or URL-safe alphabet
(m.room.third_party_invite schema). `signed` is a signed JSON object
(appendices "Signing JSON"): its `signatures` map a signing entity to
key IDs to signatures, and the signature covers the object without
`signatures` and `unsigned`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nacl.exceptions
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64


def invite_public_keys(invite_content: Mapping[str, Any]) -> list[str]:
    """All public keys (base64 strings) listed in third_party_invite content."""
    keys: list[str] = []
    single = invite_content.get("public_key")
    if isinstance(single, str):
        keys.append(single)
    listed = invite_content.get("public_keys")
    if isinstance(listed, list):
        for entry in listed:
            if isinstance(entry, Mapping) and isinstance(entry.get("public_key"), str):
                keys.append(entry["public_key"])
    return keys


def _decode_key(key_b64: str) -> bytes | None:
    try:
        return decode_base64(key_b64)
    except ValueError:  # binascii.Error is a ValueError
        return None


def signed_matches_invite(signed: Mapping[str, Any], invite_content: Mapping[str, Any]) -> bool:
    """True if any signature in `signed` verifies under any invite public key."""
    signatures = signed.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    keys = [k for k in (_decode_key(s) for s in invite_public_keys(invite_content)) if k is not None]
    signed_dict = dict(signed)
    for entity, by_key_id in signatures.items():
        if not isinstance(entity, str) or not isinstance(by_key_id, Mapping):
            continue
        for key_id in by_key_id:
            if not isinstance(key_id, str) or not key_id.startswith("ed25519:"):
                continue
            for key_bytes in keys:
                try:
                    verify_key = decode_verify_key_bytes(key_id, key_bytes)
                    verify_signed_json(signed_dict, entity, verify_key)
                except (SignatureVerifyException, ValueError, TypeError, nacl.exceptions.CryptoError):
                    continue
                return True
    return False
