"""Presence state transitions (pure; spec: client-server-api modules/presence.md,
presence.yaml, sync.yaml `set_presence`, event-schemas m.presence).

A user's presence is one of online / unavailable / offline, with a status
message and the time of their last pro-active event ("sending a message to a
room or changing presence state to online"). Every function here takes the
current value and the time and returns the next value; the tracker
(kith.ephemeral.presence) does the storing, timing and telling.

Who set the state matters, so that the inputs do not undo each other:
  * PUT /presence sets it explicitly (`source` "put") and counts as activity.
  * /sync connects a client. `set_presence` omitted or "online" marks an
    offline user online, and undoes an "unavailable" that a sync itself set
    (a client reporting its own idleness and then its return). It leaves an
    explicit PUT state and the server's idle timeout alone: those end with
    activity or another PUT. "unavailable" marks the user idle; "offline"
    changes nothing ("the client is not marked as being online").
  * Activity (an event sent) makes the user online ("Any activity that bumps
    the last active time ... will cause the server to automatically set
    their presence to online"), except after an explicit PUT offline, which
    presence.md describes as "explicitly suppressing" presence.
  * Idle timeout: online with no activity for IDLE_TIMEOUT_MS -> unavailable.
  * Not connected (no /sync running and none for SYNC_TIMEOUT_MS) -> offline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

PresenceState = Literal["online", "unavailable", "offline"]
STATES: tuple[str, ...] = ("online", "unavailable", "offline")
Source = Literal["none", "put", "sync", "idle", "timeout", "activity"]

IDLE_TIMEOUT_MS = 5 * 60_000   # presence.md "Idle timeout": "e.g. 5 minutes"
SYNC_TIMEOUT_MS = 30_000       # a client between two long-polls is still connected
ACTIVE_WINDOW_MS = 60_000      # currently_active: active within the last minute


@dataclass(frozen=True, slots=True)
class Presence:
    state: PresenceState = "offline"
    status_msg: str | None = None
    last_active_ms: int = 0  # wall clock; 0: never active
    source: Source = "none"

    def published(self) -> tuple[str, str | None]:
        """What other users are told about: a change here is a presence update.
        last_active alone is not (presence.md: with currently_active the server
        "will not send further updates to the last active time")."""
        return self.state, self.status_msg


def on_put(p: Presence, state: PresenceState, status_msg: str | None, now: int) -> Presence:
    """PUT /presence/{userId}/status: "When setting the status, the activity
    time is updated to reflect that activity"."""
    return Presence(state, status_msg, now, "put")


def on_sync(p: Presence, set_presence: str | None, now: int) -> Presence:
    if set_presence == "offline":
        return p
    if set_presence == "unavailable":
        if p.state == "unavailable" or (p.state == "offline" and p.source == "put"):
            return p
        return replace(p, state="unavailable", source="sync")
    # Omitted or "online": the client is connected.
    if p.state == "online" or p.source in ("put", "idle"):
        return p
    return replace(p, state="online", last_active_ms=now, source="sync")


def on_activity(p: Presence, now: int) -> Presence:
    if p.state == "offline" and p.source == "put":
        return replace(p, last_active_ms=now)
    if p.state == "online":
        return replace(p, last_active_ms=now)
    return replace(p, state="online", last_active_ms=now, source="activity")


def on_tick(p: Presence, now: int, connected: bool, last_seen_ms: int,
            idle_ms: int = IDLE_TIMEOUT_MS, sync_timeout_ms: int = SYNC_TIMEOUT_MS) -> Presence:
    """The timeouts: offline when no client is connected, else idle."""
    if p.state != "offline" and not connected and now - last_seen_ms > sync_timeout_ms:
        return replace(p, state="offline", source="timeout")
    if p.state == "online" and now - p.last_active_ms > idle_ms:
        return replace(p, state="unavailable", source="idle")
    return p


def content(p: Presence, now: int) -> dict[str, Any]:
    """The m.presence content, also the GET /presence/{userId}/status body:
    last_active_ago is computed when the event is given out (presence.md:
    "The last active time must be up to date whenever the server gives a
    presence event to the client")."""
    body: dict[str, Any] = {"presence": p.state}
    if p.last_active_ms:
        body["last_active_ago"] = max(0, now - p.last_active_ms)
    if p.state == "online":
        body["currently_active"] = now - p.last_active_ms < ACTIVE_WINDOW_MS
    if p.status_msg is not None:
        body["status_msg"] = p.status_msg
    return body
