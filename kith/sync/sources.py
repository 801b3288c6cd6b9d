"""What /sync reads besides room events, as narrow protocols.

Each source is implemented next to its own API (account data, receipts,
typing, presence, to-device, device lists) and handed to the sync handler by
app.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from kith.sync.filters import EventFilter


class AccountDataSource(Protocol):
    async def changed_since(self, user_id: str, since: int | None, upto: int
                            ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]: ...


class ReceiptSource(Protocol):
    async def for_rooms(self, room_ids: Iterable[str], since: int | None, upto: int,
                        requester: str) -> dict[str, dict[str, Any]]: ...


class TypingSource(Protocol):
    @property
    def serial(self) -> int: ...

    def changed_rooms(self, since_serial: int) -> set[str]: ...

    def event_for(self, room_id: str) -> dict[str, Any]: ...


class ExtensionSource(Protocol):
    """Adds top-level sections (to_device, device_lists, ...) to a sync response."""

    async def add_to_sync(self, user_id: str, device_id: str, since: int | None, upto: int,
                          response: dict[str, Any]) -> bool:
        """Fill sections; True if anything new was added (ends a long-poll)."""
        ...


class ToDeviceSource(Protocol):
    """The device's to-device queue (send_to_device.md): acknowledge what the
    `since` token's mark covers, hand out the next messages under a new mark."""

    async def to_device(self, user_id: str, device_id: str, acknowledged: int | None
                        ) -> tuple[list[dict[str, Any]], int | None]: ...


class PresenceSource(Protocol):
    """Presence for /sync (modules/presence.md); see kith.sync.presence."""

    async def sync_started(self, user_id: str, set_presence: str | None) -> None: ...

    def sync_ended(self, user_id: str, set_presence: str | None) -> None: ...

    async def events(self, user_id: str, joined: set[str], since: int | None, upto: int,
                     ignored: frozenset[str], presence_filter: EventFilter
                     ) -> list[dict[str, Any]]: ...
