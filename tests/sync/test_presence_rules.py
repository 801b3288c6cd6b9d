"""Presence transitions and the tracker (modules/presence.md, presence.yaml,
sync.yaml `set_presence`), without a server: the rules as a table, the
tracker on a real SQLite file with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from kith.ephemeral.presence import PresenceTracker
from kith.ephemeral.presence_rules import (
    ACTIVE_WINDOW_MS, IDLE_TIMEOUT_MS, SYNC_TIMEOUT_MS, Presence, content, on_activity, on_put,
    on_sync, on_tick)
from kith.store import presence as presence_store
from kith.store.database import Database

NOW = 10_000_000
OFFLINE = Presence()
ONLINE = Presence("online", None, NOW - 1000, "sync")
IDLE = Presence("unavailable", None, NOW - IDLE_TIMEOUT_MS - 1, "idle")
SYNC_IDLE = Presence("unavailable", None, NOW - 1000, "sync")
PUT_AWAY = Presence("unavailable", "lunch", NOW - 1000, "put")
PUT_OFFLINE = Presence("offline", None, NOW - 1000, "put")


@pytest.mark.parametrize("before, set_presence, state", [
    # Omitted or "online": a connecting client marks an offline user online...
    (OFFLINE, None, "online"),
    (OFFLINE, "online", "online"),
    # ...and undoes its own "unavailable", but not the idle timeout or a PUT.
    (SYNC_IDLE, None, "online"),
    (IDLE, "online", "unavailable"),
    (PUT_AWAY, None, "unavailable"),
    (PUT_OFFLINE, None, "offline"),
    # "unavailable": the client says the user is idle.
    (ONLINE, "unavailable", "unavailable"),
    (OFFLINE, "unavailable", "unavailable"),
    (PUT_OFFLINE, "unavailable", "offline"),
    # "offline": the client is not marked online; nothing changes.
    (OFFLINE, "offline", "offline"),
    (ONLINE, "offline", "online"),
])
def test_set_presence_on_sync(before: Presence, set_presence: str | None, state: str) -> None:
    assert on_sync(before, set_presence, NOW).state == state


def test_coming_online_by_sync_is_activity() -> None:
    assert on_sync(OFFLINE, None, NOW).last_active_ms == NOW
    assert on_sync(ONLINE, None, NOW).last_active_ms == ONLINE.last_active_ms


@pytest.mark.parametrize("before, state", [
    (OFFLINE, "online"), (IDLE, "online"), (PUT_AWAY, "online"), (ONLINE, "online"),
    (PUT_OFFLINE, "offline"),  # explicitly suppressing presence
])
def test_activity_brings_users_online(before: Presence, state: str) -> None:
    after = on_activity(before, NOW)
    assert (after.state, after.last_active_ms) == (state, NOW)


def test_put_sets_state_message_and_activity() -> None:
    after = on_put(ONLINE, "unavailable", "in a meeting", NOW)
    assert (after.state, after.status_msg, after.last_active_ms) == ("unavailable", "in a meeting", NOW)
    assert on_put(after, "online", None, NOW).status_msg is None


def test_timeouts() -> None:
    # Connected and idle for longer than the idle timeout: unavailable.
    assert on_tick(Presence("online", None, NOW - IDLE_TIMEOUT_MS - 1), NOW, True, NOW).state == "unavailable"
    assert on_tick(Presence("online", None, NOW - IDLE_TIMEOUT_MS + 1), NOW, True, NOW).state == "online"
    # No client connected for longer than the sync timeout: offline, whatever the state.
    for before in (ONLINE, PUT_AWAY):
        assert on_tick(before, NOW, False, NOW - SYNC_TIMEOUT_MS - 1).state == "offline"
        assert on_tick(before, NOW, False, NOW - SYNC_TIMEOUT_MS + 1).state == before.state


def test_content_follows_the_event_schema() -> None:
    assert content(OFFLINE, NOW) == {"presence": "offline"}
    body = content(Presence("online", "here", NOW - 500), NOW)
    assert body == {"presence": "online", "last_active_ago": 500, "currently_active": True,
                    "status_msg": "here"}
    later = content(Presence("online", None, NOW - ACTIVE_WINDOW_MS), NOW)
    assert later["currently_active"] is False
    assert "currently_active" not in content(PUT_AWAY, NOW)


class Rooms:
    """Two users sharing one room, one user alone."""

    rooms = {"@a:hs": ["!shared:hs"], "@b:hs": ["!shared:hs"], "@c:hs": ["!alone:hs"]}

    async def rooms_for_user(self, user_id: str, memberships: Iterable[str]
                             ) -> list[tuple[str, str, int]]:
        return [(r, "join", 1) for r in self.rooms.get(user_id, [])]

    async def members(self, room_id: str, memberships: Iterable[str] = ("join",)) -> list[str]:
        return [u for u, rooms in self.rooms.items() if room_id in rooms]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "presence.db")
    database.create_schema(presence_store.SCHEMA, presence_store.STREAM_TABLES)
    return database


async def test_tracker_publishes_changes_and_applies_timeouts(db: Database) -> None:
    clock, woken = Clock(), []
    store = presence_store.PresenceStore(db)
    tracker = PresenceTracker(store, Rooms(), lambda users: woken.append(set(users)), clock)

    await tracker.sync_started("@a:hs", None)
    assert (await tracker.current("@a:hs")).state == "online"
    assert woken == [{"@a:hs", "@b:hs"}]  # everyone sharing a room, and nobody else
    start = db.current_stream_id
    assert await store.changed_since(0, start, 10) == ["@a:hs"]

    # Sending events only moves last_active: nobody is told.
    clock.now += 1000
    await tracker.activity("@a:hs")
    assert len(woken) == 1 and db.current_stream_id == start

    # Still connected but idle: unavailable after the idle timeout.
    clock.now += IDLE_TIMEOUT_MS + 1
    await tracker.tick()
    assert (await tracker.current("@a:hs")).state == "unavailable"
    assert len(woken) == 2 and await store.changed_since(start, db.current_stream_id, 10) == ["@a:hs"]

    # The client goes away: offline once the sync timeout passed.
    tracker.sync_ended("@a:hs", None)
    clock.now += SYNC_TIMEOUT_MS // 2
    await tracker.tick()
    assert (await tracker.current("@a:hs")).state == "unavailable"
    clock.now += SYNC_TIMEOUT_MS
    await tracker.tick()
    assert (await tracker.current("@a:hs")).state == "offline"
    assert await tracker.live_users() == []


async def test_tracker_keeps_the_last_state_across_restarts(db: Database) -> None:
    clock = Clock()
    store = presence_store.PresenceStore(db)
    first = PresenceTracker(store, Rooms(), lambda users: None, clock)
    await first.set_status("@b:hs", "unavailable", "gone fishing")
    again = PresenceTracker(store, Rooms(), lambda users: None, clock)
    assert await again.live_users() == ["@b:hs"]
    assert (await again.content_of("@b:hs"))["status_msg"] == "gone fishing"
    # Nobody reconnected: offline after the sync timeout, the message kept.
    clock.now += SYNC_TIMEOUT_MS + 1
    await again.tick()
    assert await again.content_of("@b:hs") == {
        "presence": "offline", "last_active_ago": SYNC_TIMEOUT_MS + 1, "status_msg": "gone fishing"}
