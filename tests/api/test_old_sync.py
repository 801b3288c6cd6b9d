"""The pre-/sync API, deprecated but still part of every advertised version:
old_sync.yaml, room_initial_sync.yaml and peeking_events.yaml."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def events(user: User, api_file: str = "old_sync.yaml", **params: Any) -> dict[str, Any]:
    params.setdefault("timeout", 0)
    body: dict[str, Any] = await user.request("GET", "/events", params=params)
    validate_response(api_file, "get", "/events", 200, body)
    return body


def ids(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in chunk]


async def test_initial_sync_then_the_event_stream(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat", name="Old times")
    hello = await alice.send(room, "hello")
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/org.example.a", {"a": 1})
    initial = await alice.request("GET", "/initialSync", params={"limit": 1})
    validate_response("old_sync.yaml", "get", "/initialSync", 200, initial)
    [info] = initial["rooms"]
    assert info["room_id"] == room and info["membership"] == "join"
    assert ids(info["messages"]["chunk"]) == [hello] and "start" in info["messages"]
    assert {"m.room.create", "m.room.name"} <= {e["type"] for e in info["state"]}
    assert info["visibility"] == "private"
    assert {"type": "org.example.a", "content": {"a": 1}} in initial["account_data"]
    # Nothing new: an empty chunk after the timeout.
    quiet = await events(alice, **{"from": initial["end"]})
    assert quiet["chunk"] == [] and quiet["start"] == initial["end"]
    second = await alice.send(room, "second")
    later = await events(alice, **{"from": initial["end"]})
    assert ids(later["chunk"]) == [second]
    # A long poll returns as soon as something arrives.
    waiting = asyncio.create_task(alice.request("GET", "/events", params={
        "from": later["end"], "timeout": 10_000}))
    await asyncio.sleep(0.05)
    await bob.join(room)
    woken = await asyncio.wait_for(waiting, 5)
    assert [e["type"] for e in woken["chunk"]] == ["m.room.member"]
    one = await bob.request("GET", f"/events/{second}")
    validate_response("old_sync.yaml", "get", "/events/{eventId}", 200, one)
    assert one["event_id"] == second and one["content"]["body"] == "second"


async def test_invites_and_archived_rooms(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    invited = await alice.create_room(preset="private_chat")
    await alice.request("POST", f"/rooms/{invited}/invite", {"user_id": bob.user_id})
    left = await alice.create_room(preset="public_chat")
    await bob.join(left)
    await bob.request("POST", f"/rooms/{left}/leave", {})
    await alice.send(left, "after bob left")
    current = await bob.request("GET", "/initialSync")
    validate_response("old_sync.yaml", "get", "/initialSync", 200, current)
    assert [(r["room_id"], r["membership"]) for r in current["rooms"]] == [(invited, "invite")]
    assert current["rooms"][0]["invite"]["content"]["membership"] == "invite"
    archived = await bob.request("GET", "/initialSync", params={"archived": "true"})
    rooms = {r["room_id"]: r for r in archived["rooms"]}
    assert rooms[left]["membership"] == "leave"
    # Left rooms show what preceded the leave, not what came after.
    assert "after bob left" not in [e.get("content", {}).get("body")
                                    for e in rooms[left]["messages"]["chunk"]]
    assert rooms[left]["messages"]["chunk"][-1]["content"]["membership"] == "leave"


async def test_peeking_into_world_readable_rooms(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    hidden = await alice.send(room, "before it was readable")
    await alice.request("PUT", f"/rooms/{room}/state/m.room.history_visibility/",
                        {"history_visibility": "world_readable"})
    shown = await alice.send(room, "readable now")
    info = await bob.request("GET", f"/rooms/{room}/initialSync")
    validate_response("room_initial_sync.yaml", "get", "/rooms/{roomId}/initialSync", 200, info)
    assert "membership" not in info
    chunk = ids(info["messages"]["chunk"])
    assert shown in chunk and hidden not in chunk
    start = info["messages"]["end"]
    peeked = await events(bob, "peeking_events.yaml", room_id=room, **{"from": start})
    assert peeked["chunk"] == []
    waiting = asyncio.create_task(bob.request("GET", "/events", params={
        "room_id": room, "from": start, "timeout": 10_000}))
    await asyncio.sleep(0.05)
    news = await alice.send(room, "news for peekers")
    assert ids((await asyncio.wait_for(waiting, 5))["chunk"]) == [news]
    # Not readable, not a member: 403, and no single events either.
    private = await alice.create_room(preset="private_chat")
    secret = await alice.send(private, "secret")
    err = await bob.request("GET", f"/rooms/{private}/initialSync", expect=403)
    validate_response("room_initial_sync.yaml", "get", "/rooms/{roomId}/initialSync", 403, err)
    assert (await bob.request("GET", f"/events/{secret}", expect=404))["errcode"] == "M_NOT_FOUND"
    assert (await events(bob, room_id=private))["chunk"] == []
