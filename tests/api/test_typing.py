"""Typing notifications per typing.yaml and the in-memory TypingTracker."""

from __future__ import annotations

import asyncio

import httpx

from kith.ephemeral.typing import MAX_TIMEOUT_MS, TypingTracker
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_tracker_serial_changed_rooms_and_lazy_expiry() -> None:
    woken: list[str] = []

    async def wake(room_id: str) -> None:
        woken.append(room_id)

    clock = Clock()
    tracker = TypingTracker(wake, clock)
    start = tracker.serial
    await tracker.set("!a:x", "@u:x", True, 10_000)
    await tracker.set("!b:x", "@v:x", True, 5_000)
    assert woken == ["!a:x", "!b:x"]
    assert tracker.changed_rooms(start) == {"!a:x", "!b:x"}
    mid = tracker.serial
    await tracker.set("!a:x", "@u:x", True, 10_000)  # still typing: no change
    assert tracker.serial == mid and tracker.changed_rooms(mid) == set()
    assert tracker.event_for("!a:x") == {"type": "m.typing", "content": {"user_ids": ["@u:x"]}}
    clock.now += 6
    assert tracker.changed_rooms(mid) == {"!b:x"}
    assert tracker.event_for("!b:x")["content"]["user_ids"] == []
    await tracker.set("!a:x", "@u:x", False)
    assert tracker.event_for("!a:x")["content"]["user_ids"] == []
    # A token from a clock that went back (serial ahead of ours): rooms with typers now.
    await tracker.set("!c:x", "@w:x", True, 1_000)
    assert tracker.changed_rooms(tracker.serial + 100) == {"!c:x"}
    # Timeouts are capped.
    await tracker.set("!d:x", "@w:x", True, 10 * MAX_TIMEOUT_MS)
    clock.now += MAX_TIMEOUT_MS / 1000 + 1
    assert tracker.event_for("!d:x")["content"]["user_ids"] == []
    tracker.close()


async def test_timer_wakes_room_when_typing_expires() -> None:
    woken: list[str] = []

    async def wake(room_id: str) -> None:
        woken.append(room_id)

    tracker = TypingTracker(wake)
    await tracker.set("!a:x", "@u:x", True, 30)
    assert woken == ["!a:x"]
    await asyncio.sleep(0.15)
    assert woken == ["!a:x", "!a:x"]
    assert tracker.event_for("!a:x")["content"]["user_ids"] == []
    tracker.close()


async def test_typing_endpoint(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    path = f"/rooms/{room_id}/typing/{alice.user_id}"
    body = await alice.request("PUT", path, {"typing": True, "timeout": 30000})
    validate_response("typing.yaml", "put", "/rooms/{roomId}/typing/{userId}", 200, body)
    await alice.request("PUT", path, {"typing": False})
    assert (await bob.request("PUT", path, {"typing": True}, expect=403))["errcode"] == "M_FORBIDDEN"
    own = f"/rooms/{room_id}/typing/{bob.user_id}"
    assert (await bob.request("PUT", own, {"typing": True}, expect=403))["errcode"] == "M_FORBIDDEN"
    assert (await alice.request("PUT", path, {}, expect=400))["errcode"] == "M_MISSING_PARAM"
    assert (await alice.request("PUT", path, {"typing": "yes"}, expect=400))["errcode"] == "M_BAD_JSON"
    assert (await alice.request("PUT", path, {"typing": True, "timeout": "x"}, expect=400))["errcode"] == "M_BAD_JSON"


async def test_a_token_from_before_a_restart_sees_every_change_since() -> None:
    async def wake(room_id: str) -> None:
        pass

    before = TypingTracker(wake, Clock())
    for i in range(50):  # a busy run before the restart
        await before.set("!busy:x", "@u:x", i % 2 == 0, 10_000)
    old_token_serial = before.serial
    after = TypingTracker(wake, Clock())  # the restarted server
    await after.set("!r1:x", "@alice:x", True, 10_000)
    for i in range(10):
        await after.set("!r3:x", "@bob:x", i % 2 == 0, 10_000)
    assert after.serial > old_token_serial
    assert after.changed_rooms(old_token_serial) == {"!r1:x", "!r3:x"}
