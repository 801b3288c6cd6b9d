"""The `state` of joined rooms in incremental /sync (sync.yaml `full_state`,
client-server-api "Syncing"): only what changed, unless the room is new to
the user or the client asks for everything."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


def state_types(body: dict[str, Any], room_id: str) -> set[str]:
    return {e["type"] for e in body["rooms"]["join"][room_id]["state"]["events"]}


async def test_full_state_on_incremental_sync_returns_all_state(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room(name="Garden", topic="Plants")
    quiet_room = await alice.create_room(name="Quiet")
    token = (await alice.sync())["next_batch"]
    await alice.send(room_id, "new")

    delta = await alice.sync(token)
    assert state_types(delta, room_id) == set()
    assert quiet_room not in delta["rooms"]["join"]

    full = await alice.sync(token, full_state="true", timeout=30_000)  # returns at once
    validate_response("sync.yaml", "get", "/sync", 200, full)
    assert {"m.room.create", "m.room.name", "m.room.topic", "m.room.member",
            "m.room.power_levels"} <= state_types(full, room_id)
    # Every joined room is there with its state; the timeline is still only
    # what is new since `since`.
    assert "m.room.name" in state_types(full, quiet_room)
    assert full["rooms"]["join"][quiet_room]["timeline"]["events"] == []
    assert [e["content"]["body"] for e in full["rooms"]["join"][room_id]["timeline"]["events"]] == ["new"]


async def test_profile_change_is_not_a_new_join(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    rooms = [await alice.create_room(name=f"Room {i}", invite=[bob.user_id]) for i in range(3)]
    for room_id in rooms:
        await bob.join(room_id)
    token = (await bob.sync())["next_batch"]

    await bob.request("PUT", f"/profile/{bob.user_id}/displayname", {"displayname": "Robert"})
    body = await bob.sync(token)
    validate_response("sync.yaml", "get", "/sync", 200, body)
    for room_id in rooms:
        room = body["rooms"]["join"][room_id]
        # The new member event arrives in the timeline; no full state is resent.
        members = [e for e in room["timeline"]["events"] if e["type"] == "m.room.member"]
        assert [e["content"].get("displayname") for e in members] == ["Robert"]
        assert members[0]["content"]["membership"] == "join"
        assert state_types(body, room_id) == set()


async def test_leave_and_rejoin_between_syncs_is_a_new_join(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(name="Door", preset="public_chat")
    await bob.join(room_id)
    token = (await bob.sync())["next_batch"]
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    await bob.join(room_id)
    body = await bob.sync(token)
    room = body["rooms"]["join"][room_id]
    # As in an initial sync: recent history, and the state before it.
    known = {e["type"] for e in room["state"]["events"] + room["timeline"]["events"]}
    assert {"m.room.create", "m.room.name"} <= known
    # The client holds part of that history already: it must start the room's
    # timeline afresh, not append, so the timeline is limited.
    assert room["timeline"]["limited"] is True


async def test_a_room_joined_for_the_first_time_starts_a_fresh_timeline(
        client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    token = (await bob.sync())["next_batch"]
    await alice.send(room_id, "before bob")
    await bob.join(room_id)
    room = (await bob.sync(token))["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    # Later syncs are incremental again.
    token = (await bob.sync(token))["next_batch"]
    await alice.send(room_id, "after bob")
    later = (await bob.sync(token))["rooms"]["join"][room_id]
    assert later["timeline"]["limited"] is False
    assert [e["content"]["body"] for e in later["timeline"]["events"]] == ["after bob"]
