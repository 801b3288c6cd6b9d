"""Small shared pieces of the authorisation core.

* `StateMap`: room state before an event, keyed by (type, state_key).
* `numbered`: picks a rule number for the room version. Room version 12
  inserted a new rule 2 (room ID is the create event's ID) and a new rule
  10.4 (creators may not appear in `users`), so most rules have one number in
  versions 10 and 11 and another in version 12. Both numbers are written at
  each call site, so the code reads against either spec page.
* Identifier grammar from the spec appendices (user IDs, server names), and
  the canonical JSON integer test used by the power level rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from kith.events.room_versions import RoomVersion

StateKey = tuple[str, str]
Event = Mapping[str, Any]
StateMap = Mapping[StateKey, Event]

CREATE: StateKey = ("m.room.create", "")
POWER_LEVELS: StateKey = ("m.room.power_levels", "")
JOIN_RULES: StateKey = ("m.room.join_rules", "")

# Appendices, "Canonical JSON": integers must lie in [-(2**53)+1, (2**53)-1].
_JSON_INT_MIN = -(2**53) + 1
_JSON_INT_MAX = 2**53 - 1


def numbered(version: RoomVersion, v10_v11: str, v12: str) -> str:
    """Return the rule number as written in this room version's rules.

    Version 12's renumbering comes from its new rule 2, which exists exactly
    when the room ID is derived from the create event.
    """
    return v12 if version.room_id_from_create else v10_v11


def is_json_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer within the canonical JSON range.

    `bool` is excluded: JSON `true` is not an integer even though Python
    treats it as one.
    """
    return type(value) is int and _JSON_INT_MIN <= value <= _JSON_INT_MAX


def content_of(event: Event | None) -> Mapping[str, Any]:
    """The `content` of an event, or an empty mapping if absent or malformed."""
    if event is None:
        return {}
    content = event.get("content")
    return content if isinstance(content, Mapping) else {}


# --- Identifier grammar (appendices: "Server Name", "User Identifiers") ---

_PORT = re.compile(r"[0-9]{1,5}")
_DNS_NAME = re.compile(r"[0-9A-Za-z.\-]{1,255}")
_IPV4 = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")


def is_valid_server_name(name: str) -> bool:
    """server_name = hostname [ ":" port ], per appendices "Server Name"."""
    host = name
    if name.startswith("["):
        end = name.find("]")
        if end < 0:
            return False
        host, rest = name[: end + 1], name[end + 1 :]
        if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
            return False
        inner = host[1:-1]
        if not _IPV6_CHARS.fullmatch(inner):
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    if ":" in name:
        host, port = name.rsplit(":", 1)
        if not _PORT.fullmatch(port):
            return False
    if _IPV4.fullmatch(host):
        return all(0 <= int(part) <= 255 for part in host.split("."))
    return _DNS_NAME.fullmatch(host) is not None


def server_name_of(identifier: str) -> str | None:
    """The server name part of a user or (pre-v12) room ID.

    The localpart may not contain ":", so the server name is everything after
    the first ":". Returns None when there is no ":".
    """
    _, sep, server = identifier.partition(":")
    return server if sep else None


def is_valid_user_id(value: object) -> bool:
    """True if `value` is a user ID that must be accepted over federation.

    Appendices "User Identifiers": at most 255 bytes including the sigil and
    server name. "Historical User IDs": servers must accept localparts made of
    any non-surrogate code points except ":" and NUL, including the empty
    localpart, so the strict `a-z0-9._=-/+` grammar is not enforced here.
    """
    if not isinstance(value, str) or not value.startswith("@"):
        return False
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    if len(encoded) > 255:
        return False
    localpart, sep, server = value[1:].partition(":")
    if not sep or "\x00" in localpart:
        return False
    return is_valid_server_name(server)
