"""Stored events -> ClientEvents, with the `unsigned` data the spec defines:
age, transaction_id (only for the device that sent it), prev_content /
replaces_state for state events, and redacted_because for redacted events.

Events of an erased account (kith.store.erasure) are served redacted to
readers who first joined the room after the erasure (except the room's
encryption event, which keeps the room encrypted).

Bundled aggregations (client-server-api "Aggregations of child events") are
computed over the children the reader may see: not those of users they ignore
("Servers must additionally ensure they do not consider child events from
ignored users"), and, for a reader whose history visibility does not cover all
of an event's children (they left, or joined later), only over the stream
ranges they may read, so a thread's count, latest event and participation and
the referencing events are what /relations and /event would show them. The
common reader, who sees every child, costs no visibility work beyond reading
their membership timeline once per room.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence, Set as AbstractSet
from typing import Any

from kith.api.search_query import visible_windows
from kith.events.client_format import to_client_event, to_client_event_without_room_id
from kith.events.redaction import redact_client_event
from kith.events.room_versions import V11, RoomVersion
from kith.http.types import Requester
from kith.rooms.visibility import VisibilityFilter
from kith.store.aggregations import AggregationStore, Bundles, Scope
from kith.store.erasure import ErasureStore
from kith.store.events import EventStore, StoredEvent


class EventSerializer:
    def __init__(self, events: EventStore, aggregations: AggregationStore | None = None,
                 erasures: ErasureStore | None = None,
                 visibility: VisibilityFilter | None = None,
                 ignored_of: Callable[[str], Awaitable[frozenset[str]]] | None = None) -> None:
        self._events = events
        self._aggregations = aggregations
        self._erasures = erasures
        self._visibility = visibility
        self._ignored_of = ignored_of

    async def _version(self, room_id: str) -> RoomVersion:
        return await self._events.room_version(room_id) or V11

    async def serialize(self, events: Sequence[StoredEvent], requester: Requester | None,
                        with_room_id: bool = True, bundle: bool = True) -> list[dict[str, Any]]:
        if not events:
            return []
        bundles: Bundles | None = None
        if bundle and self._aggregations is not None:
            bundles = await self._bundles(self._aggregations, events, requester)
        related = [e.prev_state_id for e in events if e.prev_state_id]
        related += [e.redacted_by for e in events if e.redacted_by]
        others = await self._events.get_events([r for r in related if r])
        now = int(time.time() * 1000)
        versions: dict[str, RoomVersion] = {}
        hidden = await self._erased_senders(events, bundles, requester)
        out = []
        for event in events:
            version = versions.get(event.room_id)
            if version is None:
                version = versions[event.room_id] = await self._version(event.room_id)
            client = self._one(event, requester, with_room_id, version, others, now, hidden)
            if bundles is not None:
                relations = self._relations(event, bundles, requester, version, others, now,
                                            hidden)
                if relations:
                    client.setdefault("unsigned", {})["m.relations"] = relations
            out.append(client)
        return out

    async def _bundles(self, aggregations: AggregationStore, events: Sequence[StoredEvent],
                       requester: Requester | None) -> Bundles:
        """The aggregations of `events` over the children the requester may see."""
        # "State events do not currently receive bundled aggregations." A
        # redacted event keeps its threads and references: only m.replace is
        # not bundled with it (event_replacements.md), which the store sees to.
        parents = [e for e in events if e.state_key is None]
        user_id = requester.user_id if requester is not None else None
        ignored = (await self._ignored_of(user_id)
                   if user_id is not None and self._ignored_of is not None else frozenset())
        bundles = await aggregations.bundles([e.event_id for e in parents], user_id,
                                             Scope(None, ignored))
        if user_id is None or self._visibility is None or not bundles.spans:
            return bundles
        by_room: dict[str, list[str]] = {}
        for event in parents:
            if event.event_id in bundles.spans:
                by_room.setdefault(event.room_id, []).append(event.event_id)
        for room_id, ids in by_room.items():
            low = min(bundles.spans[i][0] for i in ids)
            high = max(bundles.spans[i][1] for i in ids)
            memberships, history = await self._visibility.timelines(room_id, user_id)
            windows = tuple((lo, hi) for _, lo, hi in
                            visible_windows(room_id, user_id, memberships, history))
            if any(lo <= low and high <= hi for lo, hi in windows):
                continue  # every child is visible: the aggregation stands
            # The reader left or joined part-way through: aggregate anew over
            # what they may see, in SQL, without loading the children.
            bundles.replace(ids, await aggregations.bundles(ids, user_id, Scope(windows, ignored)))
        return bundles

    async def _erased_senders(self, events: Sequence[StoredEvent], bundles: Bundles | None,
                              requester: Requester | None) -> set[tuple[str, str]]:
        """(room_id, sender) pairs whose events this reader gets redacted: the
        sender was erased and the reader first joined the room after that."""
        erased = self._erasures.erased() if self._erasures is not None else {}
        if not erased or requester is None:
            return set()
        pairs = {(e.room_id, e.sender) for e in events if e.sender in erased}
        if bundles is not None:
            edits = list(bundles.replacements.values())
            edits += [latest for _, latest in bundles.threads.values()]
            pairs |= {(e.room_id, e.sender) for e in edits if e.sender in erased}
        hidden: set[tuple[str, str]] = set()
        first_join: dict[str, int | None] = {}
        for room_id, sender in pairs:
            if sender == requester.user_id:
                continue
            if room_id not in first_join:
                history = await self._events.membership_history(room_id, requester.user_id)
                first_join[room_id] = next((pos for pos, m in history if m == "join"), None)
            joined = first_join[room_id]
            if joined is None or joined > erased[sender]:
                hidden.add((room_id, sender))
        return hidden

    def _relations(self, event: StoredEvent, bundles: Bundles, requester: Requester | None,
                   version: RoomVersion, others: dict[str, StoredEvent], now: int,
                   hidden: set[tuple[str, str]]) -> dict[str, Any]:
        """The bundled aggregation of one event (spec: event_replacements.md,
        threading.md, reference_relations.md)."""
        event_id = event.event_id
        relations: dict[str, Any] = {}
        edit = bundles.replacements.get(event_id)
        if edit is not None:
            relations["m.replace"] = self._one(edit, requester, True, version, others, now, hidden)
        thread = bundles.threads.get(event_id)
        if thread is not None:
            summary, latest = thread
            relations["m.thread"] = {
                "latest_event": self._one(latest, requester, True, version, others, now, hidden),
                "count": summary.count,
                # threading.md: the user sent the root or a reply in the thread.
                "current_user_participated": summary.participated or (
                    requester is not None and event.sender == requester.user_id),
            }
        refs = bundles.references.get(event_id)
        if refs:
            relations["m.reference"] = {"chunk": [{"event_id": r} for r in refs]}
        return relations

    async def serialize_one(self, event: StoredEvent, requester: Requester | None) -> dict[str, Any]:
        return (await self.serialize([event], requester))[0]

    def _one(self, event: StoredEvent, requester: Requester | None, with_room_id: bool,
             version: RoomVersion, others: dict[str, StoredEvent], now: int,
             hidden: AbstractSet[tuple[str, str]] = frozenset()) -> dict[str, Any]:
        unsigned: dict[str, Any] = {"age": max(0, now - int(event.pdu.get("origin_server_ts", now)))}
        if (requester is not None and event.txn_id is not None
                and event.sender == requester.user_id and event.txn_device == requester.device_id):
            unsigned["transaction_id"] = event.txn_id
        if event.prev_state_id:
            prev = others.get(event.prev_state_id)
            if prev is not None:
                unsigned["replaces_state"] = prev.event_id
                unsigned["prev_content"] = (
                    self._redacted_content(prev, version) if prev.redacted_by else prev.content)
                unsigned["prev_sender"] = prev.sender
        convert = to_client_event if with_room_id else to_client_event_without_room_id
        client = convert(event.pdu, event.event_id, unsigned, version)
        if event.redacted_by or ((event.room_id, event.sender) in hidden
                                 and not _keeps_encryption(event)):
            # An erased sender's event has no redaction event to point to.
            because = others.get(event.redacted_by) if event.redacted_by else None
            because_json = (to_client_event(because.pdu, because.event_id, None, version)
                            if because else None)
            client = redact_client_event(client, version, because_json)
            if not with_room_id:
                client.pop("room_id", None)
        return client

    def _redacted_content(self, event: StoredEvent, version: RoomVersion) -> dict[str, Any]:
        client = to_client_event(event.pdu, event.event_id, None, version)
        return dict(redact_client_event(client, version, None).get("content") or {})


def _keeps_encryption(event: StoredEvent) -> bool:
    """An erased sender's m.room.encryption event is served as it is: its
    redacted copy has no `algorithm`, so later joiners would see the room as
    unencrypted (kith.rooms.encryption: encryption is never switched off)."""
    return event.type == "m.room.encryption" and event.state_key == ""
