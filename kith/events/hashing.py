"""Content hashes, reference hashes, event IDs and v12 room IDs.

Spec: server-server-api.md "Calculating the content hash for an event" and
"Calculating the reference hash for an event"; rooms/fragments/v4-event-ids.md
(event IDs for room versions 4 and later, so all versions Kith supports);
appendices.md "Room IDs" (the domain-less room IDs of room version 12).

Every function hashes the canonical JSON of the dict it is given, exactly as
given: nothing is re-serialised or normalised first, because the bytes must match
what the sending server hashed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from kith.canonical_json import encode_canonical_json
from kith.events.redaction import redacted_view
from kith.events.room_versions import V12, RoomVersion


def _unpadded_b64(data: bytes) -> str:
    # Spec appendices "Unpadded Base64": RFC 4648 standard alphabet, no "=".
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


def _urlsafe_unpadded_b64(data: bytes) -> str:
    # Spec appendices "URL-safe unpadded Base64": "-" and "_" for 62 and 63.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def content_hash_bytes(pdu: Mapping[str, Any]) -> bytes:
    """Raw SHA-256 content hash of `pdu`.

    Spec "Calculating the content hash for an event": remove `unsigned`,
    `signatures` and `hashes`, encode the rest as canonical JSON, SHA-256 it. The
    content is *not* redacted, so the hash covers the full event.
    """
    stripped = {
        key: value for key, value in pdu.items()
        if key not in ("unsigned", "signatures", "hashes")
    }
    return hashlib.sha256(encode_canonical_json(stripped)).digest()


def compute_content_hash(pdu: Mapping[str, Any]) -> str:
    """Content hash as stored in `hashes.sha256`: unpadded standard base64.

    Spec "Adding hashes and signatures to outgoing events": "The hash is encoded
    using Unpadded Base64 and stored in the event object, in a hashes object,
    under a sha256 key."
    """
    return _unpadded_b64(content_hash_bytes(pdu))


def content_hash_matches(pdu: Mapping[str, Any]) -> bool:
    """Whether `pdu`'s `hashes.sha256` equals its recomputed content hash.

    Spec "Validating hashes and signatures on received events": the received
    hash is base64-decoded and compared with the computed one; on mismatch the
    receiver must use its redacted copy of the event instead. Decoding accepts
    padded or unpadded input ("Unpadded Base64": implementations SHOULD accept
    both).
    """
    hashes = pdu.get("hashes")
    if not isinstance(hashes, Mapping):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        decoded = base64.b64decode(claimed + "=" * (-len(claimed) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return decoded == content_hash_bytes(pdu)


def reference_hash(pdu: Mapping[str, Any], version: RoomVersion) -> bytes:
    """Raw SHA-256 reference hash of `pdu` in a room of `version`.

    Spec "Calculating the reference hash for an event": redact the event, remove
    `signatures` and `unsigned`, encode as canonical JSON, SHA-256 it. (The
    redaction algorithm already drops `unsigned`; it is removed again here only
    to mirror the spec's steps.)
    """
    redacted = redacted_view(pdu, version)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def compute_event_id(pdu: Mapping[str, Any], version: RoomVersion) -> str:
    """Event ID: "$" + URL-safe unpadded base64 of the reference hash.

    Spec rooms/fragments/v4-event-ids.md. Room versions 4+ never carry the event
    ID inside the PDU; if a dict does contain an `event_id` member it is part of
    the redacted form and therefore of the hash, exactly as the algorithm says,
    so do not store PDUs with an `event_id` key.
    """
    return "$" + _urlsafe_unpadded_b64(reference_hash(pdu, version))


def compute_v12_room_id(
    create_pdu: Mapping[str, Any], *, version: RoomVersion = V12
) -> str:
    """Room ID of a room whose version derives it from the create event (v12).

    Spec appendices "Room IDs": the room ID is "the event ID of the m.room.create
    event using ! as the sigil instead of $"; the v12 create PDU itself carries no
    `room_id` (pdu_v12: "Omitted from m.room.create events").
    """
    if not version.room_id_from_create:
        raise ValueError(
            f"room version {version.identifier} does not derive room IDs from the create event"
        )
    return "!" + _urlsafe_unpadded_b64(reference_hash(create_pdu, version))
