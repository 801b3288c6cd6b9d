"""Errors raised by the pure event core when an event breaks a spec limit.

These are plain exceptions carrying a readable message plus the numbers involved;
the HTTP layer decides how to present them (for example M_TOO_LARGE to clients,
or dropping the PDU over federation).
"""

from __future__ import annotations


class EventValidationError(Exception):
    """Base class: the event cannot be created or accepted as it stands."""


class EventTooLarge(EventValidationError):
    """Spec client-server-api "Size limits": the complete federation-format
    event, signatures included, encoded as canonical JSON, exceeds 65536 bytes."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"event is {size} bytes as canonical JSON; the limit is {limit}")
        self.size = size
        self.limit = limit


class EventFieldTooLong(EventValidationError):
    """Spec client-server-api "Size limits": `sender`, `room_id`, `state_key`,
    `type` or `event_id` is longer than 255 bytes."""

    def __init__(self, field: str, size: int, limit: int) -> None:
        super().__init__(f"event field '{field}' is {size} bytes; the limit is {limit}")
        self.field = field
        self.size = size
        self.limit = limit


class TooManyEventReferences(EventValidationError):
    """Spec PDU format (auth_events_prev_events_v4): at most 20 `prev_events`
    and at most 10 `auth_events`."""

    def __init__(self, field: str, count: int, limit: int) -> None:
        super().__init__(f"event lists {count} {field}; the limit is {limit}")
        self.field = field
        self.count = count
        self.limit = limit
