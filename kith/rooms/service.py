"""The I/O side of rooms: load state -> pure build and auth check -> persist -> notify.

Every room event a local user causes goes through `RoomService.send`: the store
runs the maker inside one write transaction, so auth is checked against exactly
the state the event is appended to, and a multi-event operation (createRoom) is
all or nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kith.canonical_json import CanonicalJSONError
from kith.errors import MatrixError, bad_json, forbidden, not_found, too_large
from kith.events.builder import build_pdu
from kith.events.errors import EventTooLarge, EventValidationError
from kith.events.room_versions import RoomVersion
from kith.rooms.auth_events import auth_event_keys
from kith.rooms.auth_redaction import redaction_target
from kith.rooms.auth_rules import check_auth
from kith.rooms.encryption import check_encryption_kept
from kith.rooms.errors import AuthError
from kith.rooms.membership import membership_of
from kith.rooms.power_levels import action_level, user_level
from kith.signing import SigningKey
from kith.store.events import (
    DuplicateTxn, EventStore, Maker, NewEvent, Persisted, RoomSnapshot, Txn,
)
from kith.sync.notifier import Notifier

log = logging.getLogger(__name__)

PersistHook = Callable[[list[Persisted]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Intent:
    """One event a user wants in a room, before it is built."""

    sender: str
    type: str
    content: Mapping[str, Any]
    state_key: str | None = None
    txn: Txn | None = None
    redacts: str | None = None


def annotation_of(content: Mapping[str, Any]) -> tuple[str, str] | None:
    """(annotated event ID, key) when the content is an m.annotation relation."""
    relation = content.get("m.relates_to")
    if not isinstance(relation, Mapping) or relation.get("rel_type") != "m.annotation":
        return None
    target, key = relation.get("event_id"), relation.get("key")
    if isinstance(target, str) and isinstance(key, str):
        return target, key
    return None


def new_room_id(server_name: str) -> str:
    return f"!{secrets.token_urlsafe(18)}:{server_name}"


class RoomService:
    def __init__(self, server_name: str, signing_key: SigningKey, events: EventStore,
                 notifier: Notifier) -> None:
        self.server_name = server_name
        self._key = signing_key
        self.events = events
        self._notifier = notifier
        # Called after each commit (push actions, device lists, ...).
        self.after_persist: list[PersistHook] = []

    # -- building ------------------------------------------------------------------

    def maker(self, intent: Intent, version: RoomVersion | None = None) -> Maker:
        def make(snapshot: RoomSnapshot | None) -> NewEvent:
            if snapshot is None:
                assert version is not None and intent.type == "m.room.create"
                room_id = None if version.room_id_from_create else new_room_id(self.server_name)
                event_id, pdu = self._build(intent, version, room_id, [], [], 1)
                try:
                    check_auth(pdu, {}, version)
                except AuthError as err:
                    raise forbidden(err.reason) from None
                return NewEvent(event_id, pdu, intent.txn)
            room_version = snapshot.version
            if intent.type == "m.room.create":
                raise forbidden("A room has exactly one m.room.create event")
            keys = auth_event_keys(intent.type, intent.state_key, intent.sender,
                                   intent.content, room_version)
            auth_ids = [snapshot.state_ids[k] for k in keys if k in snapshot.state_ids]
            prev = [snapshot.latest_event_id] if snapshot.latest_event_id else []
            event_id, pdu = self._build(intent, room_version, snapshot.room_id, prev, auth_ids,
                                        snapshot.depth + 1)
            try:
                check_auth(pdu, snapshot.state, room_version,
                           create_event_id=snapshot.create_event_id)
            except AuthError as err:
                raise forbidden(err.reason) from None
            target = redaction_target(pdu, room_version) if intent.type == "m.room.redaction" else None
            check_encryption_kept(intent.type, intent.state_key, intent.content, target,
                                  snapshot.state, snapshot.state_ids)
            return NewEvent(event_id, pdu, intent.txn, target)

        return make

    def _build(self, intent: Intent, version: RoomVersion, room_id: str | None,
               prev: list[str], auth: list[str], depth: int) -> tuple[str, dict[str, Any]]:
        try:
            return build_pdu(
                version=version, room_id=room_id, sender=intent.sender, event_type=intent.type,
                content=intent.content, state_key=intent.state_key, prev_events=prev,
                auth_events=auth, depth=depth, origin_server_ts=int(time.time() * 1000),
                server_name=self.server_name, signing_key=self._key, redacts=intent.redacts,
            )
        except EventTooLarge as err:
            raise too_large(f"Event is too large: {err}") from None
        except (EventValidationError, CanonicalJSONError) as err:
            raise bad_json(str(err)) from None
        except ValueError as err:
            raise bad_json(str(err)) from None

    # -- persisting ------------------------------------------------------------------

    async def persist(self, room_id: str | None, makers: list[Maker]) -> list[Persisted]:
        try:
            results = await self.events.persist(room_id, makers)
        except KeyError:
            raise not_found("Unknown room") from None
        await self._after(results)
        return results

    async def _after(self, results: list[Persisted]) -> None:
        if not results:
            return
        room_id = results[-1].room_id
        snapshot = await self.events.snapshot(room_id)
        users: set[str] = set()
        if snapshot is not None:
            users.update(snapshot.members("join"), snapshot.members("invite"),
                         snapshot.members("knock"))
        for persisted in results:
            users.update(user for user, _ in persisted.member_changes)
        self._notifier.wake(users)
        for hook in self.after_persist:
            try:
                await hook(results)
            except Exception:
                log.exception("after-persist hook failed")

    async def send(self, intent: Intent, room_id: str) -> Persisted:
        """Send one event. A retransmission (client-server-api "Transaction
        identifiers": same device, path and txnId) returns the original event."""
        if intent.txn is not None:
            existing = await self.events.txn_event(intent.txn)
            if existing is not None:
                return await self._original(existing)
        annotation = annotation_of(intent.content)
        if annotation is not None and annotation[1] in await self.events.annotation_keys(
                room_id, annotation[0], intent.sender, intent.type):
            # event_annotations.md: a second annotation of the same event with
            # the same type and key (the first not redacted) is refused.
            raise MatrixError(400, "M_DUPLICATE_ANNOTATION",
                              "You already annotated this event with that key")
        try:
            return (await self.persist(room_id, [self.maker(intent)]))[0]
        except DuplicateTxn as dup:
            return await self._original(dup.event_id)

    async def _original(self, event_id: str) -> Persisted:
        event = await self.events.get_event(event_id)
        assert event is not None
        return Persisted(event.event_id, event.stream_id, event.room_id, event.pdu)

    # -- membership ------------------------------------------------------------------

    async def snapshot_or_404(self, room_id: str) -> RoomSnapshot:
        snapshot = await self.events.snapshot(room_id)
        if snapshot is None:
            raise not_found("Unknown room")
        return snapshot

    async def set_membership(self, actor: str, room_id: str, target: str, membership: str,
                             reason: str | None = None, extra: Mapping[str, Any] | None = None,
                             profile: Mapping[str, Any] | None = None) -> Persisted:
        """Send an m.room.member event; the auth rules decide whether it is allowed."""
        content: dict[str, Any] = {"membership": membership}
        if profile:
            content.update({k: v for k, v in profile.items() if v is not None})
        if extra:
            content.update(extra)
        if reason:
            content["reason"] = reason
        return await self.send(Intent(actor, "m.room.member", content, target), room_id)

    async def redact(self, requester: str, room_id: str, event_id: str, reason: str | None,
                     txn: Txn | None) -> Persisted:
        snapshot = await self.snapshot_or_404(room_id)
        original = await self.events.get_event(event_id)
        if original is not None and original.room_id == room_id and original.sender != requester:
            # Spec (client-server "Redactions"): others' events need the redact level.
            level = user_level(requester, snapshot.state, snapshot.version)
            if level < action_level("redact", snapshot.state):
                raise forbidden("You need a higher power level to redact others' events")
        content: dict[str, Any] = {"reason": reason} if reason else {}
        return await self.send(
            Intent(requester, "m.room.redaction", content, txn=txn, redacts=event_id), room_id)

    async def leave_all(self, user_id: str) -> None:
        """Leave (or reject) every room: used when an account is deactivated
        (spec account_deactivation.yaml: the server should make the user leave)."""
        for room_id, _, _ in await self.events.rooms_for_user(user_id, ["join", "invite", "knock"]):
            try:
                await self.set_membership(user_id, room_id, user_id, "leave")
            except MatrixError:
                log.warning("could not remove %s from %s", user_id, room_id)

    def membership_in(self, snapshot: RoomSnapshot, user_id: str) -> str:
        return membership_of(user_id, snapshot.state)


def require_joined(snapshot: RoomSnapshot, user_id: str) -> None:
    if membership_of(user_id, snapshot.state) != "join":
        raise MatrixError(403, "M_FORBIDDEN", "You are not joined to this room")
