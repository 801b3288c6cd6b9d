"""Lazy-loading room members (client-server-api "Lazy-loading room members")
in /sync and /messages: only the member events of the senders of the events
returned, and, unless `include_redundant_members`, not the member events the
device already holds."""

from __future__ import annotations

import json
from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

LAZY = {"lazy_load_members": True}
REDUNDANT = {"lazy_load_members": True, "include_redundant_members": True}


def sync_filter(state: dict[str, Any], limit: int = 2) -> str:
    return json.dumps({"room": {"state": state, "timeline": {"limit": limit}}})


def members_in(section: dict[str, Any]) -> set[str]:
    return {e["state_key"] for e in section["state"]["events"] if e["type"] == "m.room.member"}


async def four_members(client: httpx.AsyncClient) -> tuple[list[User], str]:
    """alice (creator), bob (the reader), carol and dave in one public room."""
    users = [await register(client, n) for n in ("alice", "bob", "carol", "dave")]
    room_id = await users[0].create_room(preset="public_chat")
    for user in users[1:]:
        await user.join(room_id)
    return users, room_id


async def test_initial_sync_sends_members_of_timeline_senders_only(client: httpx.AsyncClient) -> None:
    (alice, bob, carol, dave), room_id = await four_members(client)
    await carol.send(room_id, "c1")
    await alice.send(room_id, "a1")
    lazy = await bob.sync(filter=sync_filter(LAZY))
    validate_response("sync.yaml", "get", "/sync", 200, lazy)
    assert members_in(lazy["rooms"]["join"][room_id]) == {alice.user_id, carol.user_id, bob.user_id}
    # Without lazy loading every member is there.
    full = await bob.sync(filter=sync_filter({}))
    assert members_in(full["rooms"]["join"][room_id]) == {
        alice.user_id, bob.user_id, carol.user_id, dave.user_id}


async def test_incremental_sync_skips_members_the_device_holds(client: httpx.AsyncClient) -> None:
    (alice, bob, carol, dave), room_id = await four_members(client)
    await alice.send(room_id, "a1")
    await carol.send(room_id, "c1")
    first = await bob.sync(filter=sync_filter(LAZY))
    assert members_in(first["rooms"]["join"][room_id]) == {alice.user_id, bob.user_id, carol.user_id}

    await carol.send(room_id, "c2")
    await dave.send(room_id, "d1")
    lazy = await bob.sync(first["next_batch"], filter=sync_filter(LAZY))
    validate_response("sync.yaml", "get", "/sync", 200, lazy)
    # Carol's member event was sent before and has not changed; dave's is new to bob.
    assert members_in(lazy["rooms"]["join"][room_id]) == {dave.user_id}
    # The same request again (as after a lost response): dave's member event
    # is sent again, since bob has not synced from that response's token.
    again = await bob.sync(first["next_batch"], filter=sync_filter(LAZY))
    assert members_in(again["rooms"]["join"][room_id]) == {dave.user_id}
    # include_redundant_members: every sender's member event (and the
    # reader's own), every time.
    redundant = await bob.sync(first["next_batch"], filter=sync_filter(REDUNDANT))
    assert members_in(redundant["rooms"]["join"][room_id]) == {
        carol.user_id, dave.user_id, bob.user_id}

    # Once bob synced from the token of a response that carried dave's event,
    # dave's unchanged member event is redundant too.
    await dave.send(room_id, "d2")
    after = await bob.sync(again["next_batch"], filter=sync_filter(LAZY))
    assert members_in(after["rooms"]["join"][room_id]) == set()
    # A changed member event is never redundant.
    await dave.request("PUT", f"/profile/{dave.user_id}/displayname", {"displayname": "D"})
    await dave.send(room_id, "d3")
    changed = await bob.sync(after["next_batch"], filter=sync_filter(LAZY))
    timeline_members = [e for e in changed["rooms"]["join"][room_id]["timeline"]["events"]
                        if e["type"] == "m.room.member"]
    assert [e["content"].get("displayname") for e in timeline_members] == ["D"]


async def test_another_device_gets_its_own_members(client: httpx.AsyncClient) -> None:
    (alice, bob, carol, dave), room_id = await four_members(client)
    await carol.send(room_id, "c1")
    first = await bob.sync(filter=sync_filter(LAZY))
    await bob.sync(first["next_batch"], filter=sync_filter(LAZY))
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bob"},
        "password": "correct horse"})
    phone = User(client, bob.user_id, login.json()["device_id"], login.json()["access_token"])
    await carol.send(room_id, "c2")
    body = await phone.sync(first["next_batch"], filter=sync_filter(LAZY))
    assert carol.user_id in members_in(body["rooms"]["join"][room_id])


async def messages(user: User, room_id: str, event_filter: dict[str, Any], limit: int = 2
                   ) -> dict[str, Any]:
    body: dict[str, Any] = await user.request(
        "GET", f"/rooms/{room_id}/messages",
        params={"dir": "b", "limit": limit, "filter": json.dumps(event_filter)})
    validate_response("message_pagination.yaml", "get", "/rooms/{roomId}/messages", 200, body)
    return body


def state_members(body: dict[str, Any]) -> set[str]:
    return {e["state_key"] for e in body.get("state", []) if e["type"] == "m.room.member"}


async def test_messages_lazy_members(client: httpx.AsyncClient) -> None:
    (alice, bob, carol, dave), room_id = await four_members(client)
    await dave.send(room_id, "d1")
    await carol.send(room_id, "c1")
    await alice.send(room_id, "a1")

    # Without lazy loading there is no `state`; with it, the chunk's senders only.
    assert "state" not in await messages(bob, room_id, {})
    page = await messages(bob, room_id, LAZY)
    assert [e["sender"] for e in page["chunk"]] == [alice.user_id, carol.user_id]
    assert state_members(page) == {alice.user_id, carol.user_id}

    # After a lazy /sync whose response bob provably received, the member
    # events it carried are redundant in /messages too.
    first = await bob.sync(filter=sync_filter(LAZY, limit=1))  # timeline: a1 only
    await bob.sync(first["next_batch"], filter=sync_filter(LAZY, limit=1))
    page = await messages(bob, room_id, LAZY, limit=3)
    assert state_members(page) == {carol.user_id, dave.user_id}
    page = await messages(bob, room_id, REDUNDANT, limit=3)
    assert state_members(page) == {alice.user_id, carol.user_id, dave.user_id}
