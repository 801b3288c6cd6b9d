"""GET /rooms/{roomId}/timestamp_to_event per room_event_by_timestamp.yaml."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

T = "/rooms/{roomId}/timestamp_to_event"


async def closest(user: User, room: str, ts: int, direction: str, expect: int = 200
                  ) -> dict[str, Any]:
    body: dict[str, Any] = await user.request(
        "GET", f"/_matrix/client/v1/rooms/{room}/timestamp_to_event",
        params={"ts": ts, "dir": direction}, expect=expect)
    validate_response("room_event_by_timestamp.yaml", "get", T, expect, body)
    return body


async def sent_at(user: User, room: str, event_id: str) -> int:
    event = await user.request("GET", f"/rooms/{room}/event/{event_id}")
    return int(event["origin_server_ts"])


async def test_forwards_and_backwards_from_a_timestamp(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room(preset="public_chat")
    first = await alice.send(room, "first")
    await asyncio.sleep(0.01)
    second = await alice.send(room, "second")
    t1, t2 = await sent_at(alice, room, first), await sent_at(alice, room, second)
    assert t1 < t2
    assert await closest(alice, room, t1, "f") == {"event_id": first, "origin_server_ts": t1}
    assert (await closest(alice, room, t1 + 1, "f"))["event_id"] == second
    assert (await closest(alice, room, t2 - 1, "b"))["event_id"] == first
    assert (await closest(alice, room, t2 + 60_000, "b"))["event_id"] == second
    missing = await closest(alice, room, t2 + 60_000, "f", expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
    # Before the room existed there is nothing backwards.
    assert (await closest(alice, room, 0, "b", expect=404))["errcode"] == "M_NOT_FOUND"


async def test_only_events_the_user_may_see(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await alice.request("PUT", f"/rooms/{room}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    before = await alice.send(room, "before bob")
    t_before = await sent_at(alice, room, before)
    await asyncio.sleep(0.01)
    await bob.join(room)
    await alice.send(room, "after bob joined")
    # Bob may not see what was sent before he joined: forwards the nearest
    # event he can see is his own join; backwards, the room's setup (sent
    # under the default "shared" visibility), never "before bob".
    forwards = await closest(bob, room, t_before, "f")
    assert forwards["event_id"] != before and forwards["origin_server_ts"] >= t_before
    backwards = await closest(bob, room, t_before, "b")
    assert backwards["event_id"] != before and backwards["origin_server_ts"] <= t_before
    assert (await closest(alice, room, t_before, "f"))["event_id"] == before
    await bob.request("POST", f"/rooms/{room}/leave", {})
    await asyncio.sleep(0.01)
    left_behind = await alice.send(room, "after bob left")
    t_left = await sent_at(alice, room, left_behind)
    assert (await closest(alice, room, t_left + 60_000, "b"))["event_id"] == left_behind
    assert (await closest(bob, room, t_left + 60_000, "b"))["event_id"] != left_behind
    assert (await closest(bob, room, t_left, "f", expect=404))["errcode"] == "M_NOT_FOUND"
    # Someone who never joined a non-world-readable room finds nothing.
    carol = await register(client, "carol")
    assert (await closest(carol, room, t_before, "f", expect=404))["errcode"] == "M_NOT_FOUND"


async def test_parameters_are_checked(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    url = f"/_matrix/client/v1/rooms/{room}/timestamp_to_event"
    assert (await alice.request("GET", url, params={"ts": 1}, expect=400))["errcode"] == \
        "M_MISSING_PARAM"
    assert (await alice.request("GET", url, params={"dir": "f"}, expect=400))["errcode"] == \
        "M_MISSING_PARAM"
    assert (await alice.request("GET", url, params={"ts": 1, "dir": "x"}, expect=400))[
        "errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("GET", url, params={"ts": "soon", "dir": "f"}, expect=400))[
        "errcode"] == "M_INVALID_PARAM"
    for bad in ("1" * 40, "1_000", " 5", "\u0663"):
        assert (await alice.request("GET", url, params={"ts": bad, "dir": "f"}, expect=400))[
            "errcode"] == "M_INVALID_PARAM"
    # The largest timestamp that fits is a valid question: nothing is after it.
    await alice.request("GET", url, params={"ts": 2**63 - 1, "dir": "f"}, expect=404)
    newest = await alice.request("GET", url, params={"ts": "9" * 19, "dir": "b"})
    assert newest["event_id"].startswith("$")
