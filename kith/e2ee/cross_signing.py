"""Cross-signing rules (spec: end_to_end_encryption.md "Cross-signing";
cross_signing.yaml). Pure: callers pass in the stored keys."""

from __future__ import annotations

from typing import Any

from kith.e2ee.validation import (
    CROSS_SIGNING_USAGES, ED25519, check_cross_signing_key, check_signed_by, invalid_signature,
    signatures_by, unsigned_part, verify,
)
from kith.errors import MatrixError, bad_json, forbidden, invalid_param, missing_param

Json = dict[str, Any]
BODY_FIELDS = {"master": "master_key", "self_signing": "self_signing_key",
               "user_signing": "user_signing_key"}


def public_key(key: Json) -> str:
    """The public key of a stored (already validated) cross-signing key."""
    return str(next(iter(key["keys"].values())))


def parse_device_signing_upload(body: Json, user_id: str, existing: dict[str, Json],
                                device_ids: set[str]) -> dict[str, tuple[str, Json]]:
    """Validate POST /keys/device_signing/upload; returns {usage: (public key, key)}.

    Self-signing and user-signing keys must be signed by the master key, the
    uploaded one or else the stored one (400 M_INVALID_SIGNATURE, or
    M_MISSING_PARAM when there is none); a public key equal to one of the
    user's device IDs is 403 M_FORBIDDEN."""
    out: dict[str, tuple[str, Json]] = {}
    for usage in CROSS_SIGNING_USAGES:
        key = body.get(BODY_FIELDS[usage])
        if key is None:
            continue
        public = check_cross_signing_key(key, user_id, usage)
        if public in device_ids:
            raise forbidden("Key ID in use")
        out[usage] = (public, {k: v for k, v in key.items() if k != "unsigned"})
    if not out:
        raise missing_param("No cross-signing keys given")
    if "master" in out:
        master = out["master"][0]
    elif "master" in existing:
        master = public_key(existing["master"])
    else:
        raise missing_param("No master signing key is available")
    for usage in ("self_signing", "user_signing"):
        if usage in out:
            check_signed_by(out[usage][1], user_id, master)
    return out


def needs_uia(upload: dict[str, tuple[str, Json]], existing: dict[str, Json]) -> bool:
    """cross_signing.yaml: no UIA when the user has no master key yet, or when
    the request contains no new keys (a retried first upload)."""
    if "master" not in existing:
        return False
    return any(existing.get(usage) != key for usage, (_, key) in upload.items())


def check_new_signatures(signer: str, submitted: Any, stored: Json,
                         allowed: dict[str, str]) -> dict[str, str]:
    """The new valid signatures by `signer` on `stored` in `submitted`.

    Spec (cross_signing.yaml, /keys/signatures/upload): "The signed JSON object
    must match the key previously uploaded or retrieved for the given key ID,
    with the exception of the signatures property". `allowed` maps the signer's
    key IDs that may sign this key to their public keys."""
    if not isinstance(submitted, dict):
        raise bad_json("Signed key must be an object")
    if unsigned_part(submitted) != unsigned_part(stored):
        raise invalid_param("Signed object does not match the stored key")
    already = signatures_by(stored, signer)
    new: dict[str, str] = {}
    for key_id, signature in signatures_by(submitted, signer).items():
        if already.get(key_id) == signature:
            continue
        public = allowed.get(key_id)
        if public is None:
            raise invalid_signature(f"{key_id} may not sign this key")
        if not verify(submitted, signer, key_id, public):
            raise invalid_signature("Invalid signature")
        new[key_id] = signature
    if not new:
        raise invalid_signature("No new signature from an allowed key")
    return new


def error_json(error: MatrixError) -> Json:
    return {"errcode": error.errcode, "error": error.message}


def key_id(public: str) -> str:
    return f"{ED25519}:{public}"
