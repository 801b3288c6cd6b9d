"""Who /sync's device_lists and /keys/changes name (end_to_end_encryption.md
"Tracking the device list for a user"; sync.yaml device_lists): `changed` lists
users the client shares a room with whose devices changed or who newly share
one; `left` lists users it shared a room with at `since` and shares none with
now. Nobody else: naming a stranger would reveal the membership of rooms the
client is not in."""

from __future__ import annotations

import httpx
import pytest

from e2ee_helpers import upload_device  # type: ignore[import-not-found]
from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def device_lists(user: User, since: str) -> tuple[dict[str, list[str]], str]:
    """device_lists of /sync from `since`, checked against /keys/changes over the
    same range; and the next since token."""
    body = await user.sync(since)
    changes = await user.request("GET", "/keys/changes",
                                 params={"from": since, "to": body["next_batch"]})
    validate_response("keys.yaml", "get", "/keys/changes", 200, changes)
    lists = body["device_lists"]
    assert changes == {"changed": lists["changed"], "left": lists["left"]}
    return lists, body["next_batch"]


async def public_room(owner: User, *members: User) -> str:
    room = await owner.create_room(preset="public_chat")
    for member in members:
        await member.join(room)
    return room


async def leave(user: User, room: str) -> None:
    await user.request("POST", f"/rooms/{room}/leave", {})


@pytest.mark.parametrize("how", ["leave", "ban"])
async def test_strangers_in_a_room_we_left_long_ago_are_not_named(
        client: httpx.AsyncClient, how: str) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room = await public_room(bob, alice)
    if how == "leave":
        await leave(alice, room)
    else:
        await bob.request("POST", f"/rooms/{room}/ban", {"user_id": alice.user_id})
    since = (await alice.sync())["next_batch"]

    await carol.join(room)  # alice never shared a room with carol
    await upload_device(carol)
    lists, since = await device_lists(alice, since)
    assert lists == {"changed": [], "left": []}
    await leave(carol, room)
    lists, since = await device_lists(alice, since)
    assert lists == {"changed": [], "left": []}


async def test_someone_who_joined_after_we_left_is_not_in_left(client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room = await public_room(alice, bob)
    since = (await alice.sync())["next_batch"]
    await leave(alice, room)
    await carol.join(room)
    lists, _ = await device_lists(alice, since)
    assert lists == {"changed": [], "left": [bob.user_id]}


async def test_someone_who_came_and_went_since_our_last_sync_is_not_in_left(
        client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room = await public_room(alice, bob)
    since = (await alice.sync())["next_batch"]
    await carol.join(room)
    await leave(carol, room)
    await leave(bob, room)
    lists, _ = await device_lists(alice, since)
    assert lists == {"changed": [], "left": [bob.user_id]}


async def test_someone_still_sharing_another_room_is_not_in_left(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    first, second = await public_room(alice, bob), await public_room(alice, bob)
    since = (await alice.sync())["next_batch"]
    await leave(bob, first)
    lists, since = await device_lists(alice, since)
    assert lists["left"] == []
    await leave(bob, second)
    lists, _ = await device_lists(alice, since)
    assert lists == {"changed": [], "left": [bob.user_id]}


async def test_a_sharer_changing_rooms_we_are_not_in_is_not_changed(
        client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await public_room(alice, bob)
    elsewhere = await public_room(bob)
    since = (await alice.sync())["next_batch"]
    await leave(bob, elsewhere)
    await bob.join(elsewhere)
    lists, since = await device_lists(alice, since)
    assert lists == {"changed": [], "left": []}
    # A room alice left: bob's comings and goings there are not hers either.
    gone = await public_room(alice, bob)
    await leave(alice, gone)
    since = (await alice.sync(since))["next_batch"]
    await leave(bob, gone)
    await bob.join(gone)
    lists, _ = await device_lists(alice, since)
    assert lists == {"changed": [], "left": []}


async def test_joining_together_and_leaving_again_within_one_sync(client: httpx.AsyncClient) -> None:
    """A user who newly shares a room is changed; one shared only between two
    syncs was never in view and is in neither list."""
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room = await public_room(alice)
    since = (await alice.sync())["next_batch"]
    await bob.join(room)
    await carol.join(room)
    await leave(carol, room)
    lists, _ = await device_lists(alice, since)
    assert lists == {"changed": [bob.user_id], "left": []}
