"""Matrix identifiers (spec: appendices "Identifier Grammar").

Distinct NewTypes keep user, room and event IDs apart in signatures; the
validators return the checked value or raise ValueError.
"""

from __future__ import annotations

import re
from typing import NewType

UserID = NewType("UserID", str)
RoomID = NewType("RoomID", str)
EventID = NewType("EventID", str)
RoomAlias = NewType("RoomAlias", str)

# Appendices "User Identifiers": localparts of new users use a-z 0-9 . _ = - / +
_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
# Historical user IDs may contain any printable ASCII except ':'.
_HISTORICAL_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+$")
_SERVER_NAME = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?$")
MAX_ID_LENGTH = 255


def valid_server_name(name: str) -> bool:
    return bool(_SERVER_NAME.match(name))


def valid_localpart(localpart: str) -> bool:
    return bool(_LOCALPART.match(localpart))


def make_user_id(localpart: str, server_name: str) -> UserID:
    return UserID(f"@{localpart}:{server_name}")


def parse_user_id(value: str) -> tuple[str, str]:
    """Split @localpart:server, accepting historical localparts."""
    if not value.startswith("@") or ":" not in value or len(value.encode()) > MAX_ID_LENGTH:
        raise ValueError(f"invalid user ID {value!r}")
    localpart, server = value[1:].split(":", 1)
    if not localpart or not _HISTORICAL_LOCALPART.match(localpart) or not valid_server_name(server):
        raise ValueError(f"invalid user ID {value!r}")
    return localpart, server


def is_valid_user_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_user_id(value)
    except ValueError:
        return False
    return True


def parse_room_alias(value: str) -> tuple[str, str]:
    if not value.startswith("#") or ":" not in value or len(value.encode()) > MAX_ID_LENGTH:
        raise ValueError(f"invalid room alias {value!r}")
    local, server = value[1:].split(":", 1)
    if not local or not valid_server_name(server) or any(c in local for c in ": \x00"):
        raise ValueError(f"invalid room alias {value!r}")
    return local, server


def is_room_id(value: object) -> bool:
    return isinstance(value, str) and value.startswith("!") and 1 < len(value.encode()) <= MAX_ID_LENGTH
