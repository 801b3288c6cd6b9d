"""/sync per sync.yaml and client-server-api "Syncing"."""

from __future__ import annotations

import asyncio
import time

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_initial_sync_shows_joined_room_with_state_and_timeline(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room(name="Garden", topic="Plants")
    body = await alice.sync()
    validate_response("sync.yaml", "get", "/sync", 200, body)
    joined = body["rooms"]["join"][room_id]
    types = {e["type"] for e in joined["timeline"]["events"]} | {e["type"] for e in joined["state"]["events"]}
    assert {"m.room.create", "m.room.member", "m.room.power_levels", "m.room.name", "m.room.topic"} <= types
    assert joined["summary"]["m.joined_member_count"] == 1


async def test_invite_then_join_appears_in_incremental_sync(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(name="Chat", invite=[bob.user_id])
    first = await bob.sync()
    invite_state = first["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert any(e["type"] == "m.room.name" and e["content"]["name"] == "Chat" for e in invite_state)
    await alice.send(room_id, "before bob joined")
    await bob.join(room_id)
    second = await bob.sync(first["next_batch"])
    validate_response("sync.yaml", "get", "/sync", 200, second)
    assert room_id in second["rooms"]["join"]
    assert room_id not in second["rooms"]["invite"]
    # A newly joined room comes as in an initial sync: its full state before
    # a timeline of recent history (the room's default history visibility,
    # "shared", lets bob see what was said before he joined).
    joined = second["rooms"]["join"][room_id]
    timeline = joined["timeline"]["events"]
    assert [e["type"] for e in timeline][-1] == "m.room.member"
    assert "before bob joined" in [e["content"].get("body") for e in timeline]
    known = {e["type"] for e in joined["state"]["events"] + timeline}
    assert {"m.room.create", "m.room.name", "m.room.power_levels"} <= known
    limited = await bob.sync(first["next_batch"], filter='{"room":{"timeline":{"limit":2}}}')
    short = limited["rooms"]["join"][room_id]
    assert short["timeline"]["limited"] is True
    assert "m.room.name" in {e["type"] for e in short["state"]["events"]}


async def test_long_poll_wakes_when_a_message_arrives(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]

    async def send_later() -> None:
        await asyncio.sleep(0.2)
        await alice.send(room_id, "wake up")

    started = time.monotonic()
    task = asyncio.create_task(send_later())
    body = await bob.sync(token, timeout=20000)
    await task
    assert time.monotonic() - started < 10
    events = body["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["content"]["body"] for e in events] == ["wake up"]


async def test_empty_long_poll_times_out_with_same_position(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    token = (await alice.sync())["next_batch"]
    body = await alice.sync(token, timeout=100)
    assert body["next_batch"] == token
    assert body["rooms"]["join"] == {}


async def test_limited_timeline_has_prev_batch_that_paginates(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    for i in range(15):
        await alice.send(room_id, f"m{i}")
    body = await bob.sync(token, filter='{"room":{"timeline":{"limit":5}}}')
    timeline = body["rooms"]["join"][room_id]["timeline"]
    assert timeline["limited"] is True
    assert [e["content"]["body"] for e in timeline["events"]] == [f"m{i}" for i in range(10, 15)]
    older = await bob.request("GET", f"/rooms/{room_id}/messages",
                              params={"dir": "b", "from": timeline["prev_batch"], "limit": 10})
    assert [e["content"]["body"] for e in older["chunk"]] == [f"m{i}" for i in range(9, -1, -1)]


async def test_leave_section_and_no_events_after_leaving(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    await alice.send(room_id, "after bob left")
    body = await bob.sync(token)
    left = body["rooms"]["leave"][room_id]
    bodies = [e.get("content", {}).get("body") for e in left["timeline"]["events"]]
    assert "after bob left" not in bodies
    assert left["timeline"]["events"][-1]["content"]["membership"] == "leave"
    # The former member cannot page past the moment they left either.
    page = await bob.request("GET", f"/rooms/{room_id}/messages", params={"dir": "b", "limit": 50})
    assert "after bob left" not in [e["content"].get("body") for e in page["chunk"]]


async def test_transaction_id_only_for_sending_device(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    token = (await alice.sync())["next_batch"]
    await alice.request("PUT", f"/rooms/{room_id}/send/m.room.message/abc", {"msgtype": "m.text", "body": "x"})
    again = await alice.request("PUT", f"/rooms/{room_id}/send/m.room.message/abc", {"msgtype": "m.text", "body": "x"})
    body = await alice.sync(token)
    events = body["rooms"]["join"][room_id]["timeline"]["events"]
    assert len(events) == 1 and events[0]["event_id"] == again["event_id"]
    assert events[0]["unsigned"]["transaction_id"] == "abc"


async def test_bad_since_token(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    response = await client.get("/_matrix/client/v3/sync", params={"since": "garbage"}, headers=alice.auth)
    assert response.status_code == 400
