"""Receipts and read markers: receipts.yaml and read_markers.yaml."""

from __future__ import annotations

import time
from typing import Any

from kith.api.fields import opt_str
from kith.errors import forbidden, invalid_param, not_found
from kith.http.types import Request, Route
from kith.rooms.visibility import VisibilityFilter
from kith.store.account_data import AccountDataStore
from kith.store.events import EventStore, StoredEvent
from kith.store.receipts import PRIVATE, ReceiptStore
from kith.sync.notifier import Notifier

FULLY_READ = "m.fully_read"
RECEIPT_TYPES = ("m.read", PRIVATE, FULLY_READ)
# receipts.md "Threaded read receipts": follow relations at most 3 hops.
MAX_THREAD_HOPS = 3


def _relation(event: StoredEvent) -> tuple[str | None, str | None]:
    rel = event.content.get("m.relates_to")
    if not isinstance(rel, dict) or not isinstance(rel.get("event_id"), str):
        return None, None
    rel_type = rel.get("rel_type")
    return rel["event_id"], rel_type if isinstance(rel_type, str) else None


class Receipts:
    """Validation and storage shared by /receipt and /read_markers."""

    def __init__(self, events: EventStore, visibility: VisibilityFilter, store: ReceiptStore,
                 account_data: AccountDataStore, notifier: Notifier) -> None:
        self._events = events
        self._visibility = visibility
        self._store = store
        self._account_data = account_data
        self._notifier = notifier

    async def require_joined(self, room_id: str, user_id: str) -> None:
        if await self._events.snapshot(room_id) is None:
            raise not_found("Unknown room")
        membership = await self._events.membership(room_id, user_id)
        if membership is None or membership[0] != "join":
            raise forbidden("You are not joined to this room")

    async def target(self, room_id: str, user_id: str, event_id: str) -> StoredEvent:
        """The receipted event: it must be in the room and visible to the user
        (read_markers.yaml: the event MUST belong to the room)."""
        event = await self._events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found("Unknown event")
        if not await self._visibility.can_see(room_id, user_id, event):
            raise not_found("Unknown event")
        return event

    async def thread_of(self, event: StoredEvent) -> str:
        """`main` or the thread root's ID, per receipts.md "Threaded read receipts"."""
        current = event
        for _ in range(MAX_THREAD_HOPS):
            parent_id, rel_type = _relation(current)
            if parent_id is None:
                return "main"
            if rel_type == "m.thread":
                return parent_id
            parent = await self._events.get_event(parent_id)
            if parent is None:
                return "main"
            current = parent
        return "main"

    async def check_thread(self, event: StoredEvent, thread_id: str) -> None:
        # receipts.yaml 400: the event_id must be related to the thread_id.
        # A thread root is in the main timeline but also starts its thread.
        actual = await self.thread_of(event)
        if thread_id != actual and not (thread_id == event.event_id):
            raise invalid_param(f"Event {event.event_id} is not in thread {thread_id}")

    async def send(self, room_id: str, user_id: str, receipt_type: str,
                   event: StoredEvent, thread_id: str | None) -> None:
        if receipt_type == FULLY_READ:
            # read_markers.md: the fully read marker is room account data.
            await self._account_data.put(user_id, room_id, FULLY_READ,
                                         {"event_id": event.event_id})
            self._notifier.wake([user_id])
            return
        changed = await self._store.put(room_id, receipt_type, user_id, thread_id,
                                        event.event_id, event.stream_id, int(time.time() * 1000))
        if changed is None:
            return
        if receipt_type == PRIVATE:
            self._notifier.wake([user_id])  # nobody else may see a private receipt
        else:
            self._notifier.wake(await self._events.members(room_id))


def _thread_param(body: dict[str, Any], receipt_type: str) -> str | None:
    if "thread_id" not in body:
        return None
    thread_id = body["thread_id"]
    # receipts.yaml 400: not a string, empty, or for an incompatible type.
    if not isinstance(thread_id, str) or not thread_id:
        raise invalid_param("thread_id field must be a non-empty string")
    if receipt_type == FULLY_READ:
        raise invalid_param("thread_id is not allowed for m.fully_read")
    return thread_id


def routes(receipts: Receipts) -> list[Route]:
    async def post_receipt(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}"""
        room_id = request.path_params["roomId"]
        receipt_type = request.path_params["receiptType"]
        user_id = request.user.user_id
        if receipt_type not in RECEIPT_TYPES:
            raise invalid_param(f"Receipt type must be one of {', '.join(RECEIPT_TYPES)}")
        body = request.json_object(allow_empty=True)
        thread_id = _thread_param(body, receipt_type)
        await receipts.require_joined(room_id, user_id)
        event = await receipts.target(room_id, user_id, request.path_params["eventId"])
        if thread_id is not None:
            await receipts.check_thread(event, thread_id)
        await receipts.send(room_id, user_id, receipt_type, event, thread_id)
        return {}

    async def post_read_markers(request: Request) -> dict[str, Any]:
        """POST /_matrix/client/v3/rooms/{roomId}/read_markers"""
        room_id = request.path_params["roomId"]
        user_id = request.user.user_id
        body = request.json_object(allow_empty=True)
        wanted = [(rtype, opt_str(body, rtype)) for rtype in RECEIPT_TYPES]
        await receipts.require_joined(room_id, user_id)
        # Check every event before changing anything, so a bad one changes nothing.
        targets = [(rtype, await receipts.target(room_id, user_id, event_id))
                   for rtype, event_id in wanted if event_id is not None]
        for rtype, event in targets:
            await receipts.send(room_id, user_id, rtype, event, None)
        return {}

    return [
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}",
              post_receipt),
        Route("POST", "/_matrix/client/v3/rooms/{roomId}/read_markers", post_read_markers),
    ]
