"""Encryption stays on: a local policy on top of the auth rules.

The spec (client-server-api/modules/end_to_end_encryption.md, "Enabling
end-to-end encryption") warns that encryption cannot be safely switched off
once enabled, and clients are told to ignore attempts to do so. Kith goes
further and refuses them, so no client is ever shown a room that silently
fell back to plaintext:

- a new `m.room.encryption` state event must keep the current `algorithm`;
- the current `m.room.encryption` event cannot be redacted (the redaction
  algorithm strips `algorithm`, which would leave the room unencrypted, and
  the redact level is usually lower than the level needed to send the event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kith.errors import forbidden
from kith.rooms.auth_common import StateMap

KEY = ("m.room.encryption", "")


def current_algorithm(state: StateMap) -> str | None:
    event = state.get(KEY)
    if event is None:
        return None
    content = event.get("content")
    algorithm = content.get("algorithm") if isinstance(content, Mapping) else None
    return algorithm if isinstance(algorithm, str) and algorithm else None


def check_encryption_kept(event_type: str, state_key: str | None, content: Mapping[str, Any],
                          redacts: str | None, state: StateMap,
                          state_ids: Mapping[tuple[str, str], str]) -> None:
    """Raise 403 M_FORBIDDEN if the event would switch a room's encryption off."""
    algorithm = current_algorithm(state)
    if algorithm is None:
        return
    if (event_type, state_key) == KEY and content.get("algorithm") != algorithm:
        raise forbidden("Encryption cannot be changed or switched off once enabled")
    if event_type == "m.room.redaction" and redacts is not None and state_ids.get(KEY) == redacts:
        raise forbidden("The room's encryption event cannot be redacted")
