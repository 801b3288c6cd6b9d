"""Membership endpoints: inviting at creation (create_room.yaml), knocking
(knocking.yaml, client-server-api "Knocking on rooms"), restricted rooms
(client-server-api "Restricted rooms") and the member list (rooms.yaml
GET /rooms/{roomId}/members with at, membership and not_membership)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def joined_rooms(user: User) -> list[str]:
    return list((await user.request("GET", "/joined_rooms"))["joined_rooms"])


async def member_ids(user: User, room_id: str, expect: int = 200, **params: str) -> Any:
    body = await user.request("GET", f"/rooms/{room_id}/members", params=params, expect=expect)
    if expect != 200:
        return body
    validate_response("rooms.yaml", "get", "/rooms/{roomId}/members", 200, body)
    return {e["state_key"]: e["content"]["membership"] for e in body["chunk"]}


# -- createRoom invite ------------------------------------------------------------------

async def test_create_room_refuses_to_invite_an_unknown_local_user(
        client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    error = await alice.request("POST", "/createRoom",
                                {"invite": [bob.user_id, "@nobody:localhost"]}, expect=400)
    validate_response("create_room.yaml", "post", "/createRoom", 400, error)
    assert error["errcode"] == "M_NOT_FOUND" and "@nobody:localhost" in error["error"]
    assert await joined_rooms(alice) == []  # nothing was created
    assert (await bob.sync())["rooms"]["invite"] == {}
    # The same answer as POST /invite gives for that user (errcode M_NOT_FOUND).
    room_id = await alice.create_room(invite=[bob.user_id])
    refused = await alice.request("POST", f"/rooms/{room_id}/invite",
                                  {"user_id": "@nobody:localhost"}, expect=404)
    assert refused["errcode"] == "M_NOT_FOUND"
    assert room_id in (await bob.sync())["rooms"]["invite"]


# -- knocking ---------------------------------------------------------------------------

async def test_knock_then_invite_then_join(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}],
        name="Knock knock")
    await bob.request("POST", f"/rooms/{room_id}/join", {}, expect=403)  # knock, not public
    knocked = await bob.request("POST", f"/knock/{quote(room_id)}", {"reason": "let me in"})
    validate_response("knocking.yaml", "post", "/knock/{roomIdOrAlias}", 200, knocked)
    assert knocked == {"room_id": room_id}
    # The knocker's sync has the room under `knock` with its stripped state.
    section = (await bob.sync())["rooms"]["knock"][room_id]
    stripped = {(e["type"], e["state_key"]): e for e in section["knock_state"]["events"]}
    assert stripped[("m.room.name", "")]["content"]["name"] == "Knock knock"
    assert stripped[("m.room.member", bob.user_id)]["content"]["membership"] == "knock"
    # Members of the room see the knock and its reason.
    timeline = (await alice.sync())["rooms"]["join"][room_id]["timeline"]["events"]
    knock = next(e for e in timeline if e["type"] == "m.room.member"
                 and e["state_key"] == bob.user_id)
    assert knock["content"]["membership"] == "knock"
    assert knock["content"]["reason"] == "let me in"
    # Accepting a knock is inviting the knocker; then they join.
    await alice.request("POST", f"/rooms/{room_id}/invite", {"user_id": bob.user_id})
    assert room_id in (await bob.sync())["rooms"]["invite"]
    await bob.request("POST", f"/rooms/{room_id}/join", {})
    assert room_id in await joined_rooms(bob)
    synced = await bob.sync()
    assert room_id in synced["rooms"]["join"] and room_id not in synced["rooms"]["knock"]


async def test_a_knock_can_be_refused_and_withdrawn(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}])
    await bob.request("POST", f"/knock/{quote(room_id)}", {})
    # Refusing: the room kicks the knocker (leave).
    await alice.request("POST", f"/rooms/{room_id}/kick", {"user_id": bob.user_id})
    assert (await member_ids(alice, room_id))[bob.user_id] == "leave"
    # Withdrawing: the knocker leaves.
    await bob.request("POST", f"/knock/{quote(room_id)}", {})
    assert (await member_ids(alice, room_id))[bob.user_id] == "knock"
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    assert (await member_ids(alice, room_id))[bob.user_id] == "leave"


@pytest.mark.parametrize("join_rule", ["invite", "public"])
async def test_knocking_where_the_join_rule_is_not_knock_is_forbidden(
        client: httpx.AsyncClient, join_rule: str) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": join_rule}}])
    error = await bob.request("POST", f"/knock/{quote(room_id)}", {}, expect=403)
    validate_response("knocking.yaml", "post", "/knock/{roomIdOrAlias}", 403, error)
    assert error["errcode"] == "M_FORBIDDEN"
    assert bob.user_id not in await member_ids(alice, room_id)


async def test_knock_by_alias_and_unknown_alias(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(
        room_alias_name="door",
        initial_state=[{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}])
    knocked = await bob.request("POST", f"/knock/{quote('#door:localhost')}", {})
    assert knocked == {"room_id": room_id}
    missing = await bob.request("POST", f"/knock/{quote('#nowhere:localhost')}", {}, expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"


# -- restricted rooms -------------------------------------------------------------------

async def test_restricted_room_admits_members_of_the_allowed_room(
        client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    space = await alice.create_room(preset="public_chat")
    await bob.join(space)
    room_id = await alice.create_room(initial_state=[{"type": "m.room.join_rules", "content": {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": space}]}}])
    joined = await bob.request("POST", f"/rooms/{room_id}/join", {})
    validate_response("joining.yaml", "post", "/rooms/{roomId}/join", 200, joined)
    state = await bob.request("GET", f"/rooms/{room_id}/state/m.room.member/{bob.user_id}")
    assert state["membership"] == "join"
    # Spec "Restricted rooms": the join names a user of this server who could invite.
    assert state["join_authorised_via_users_server"] == alice.user_id
    denied = await carol.request("POST", f"/join/{quote(room_id)}", {}, expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    assert carol.user_id not in await member_ids(alice, room_id)
    # Leaving the allowed room takes the right away; an invite still works.
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    await bob.request("POST", f"/rooms/{space}/leave", {})
    await bob.request("POST", f"/rooms/{room_id}/join", {}, expect=403)
    await alice.request("POST", f"/rooms/{room_id}/invite", {"user_id": carol.user_id})
    await carol.request("POST", f"/rooms/{room_id}/join", {})
    assert (await member_ids(alice, room_id))[carol.user_id] == "join"


# -- /members ---------------------------------------------------------------------------

async def test_members_filters_by_membership_and_not_membership(
        client: httpx.AsyncClient) -> None:
    alice, bob, carol, dave = [await register(client, n) for n in ("alice", "bob", "carol", "dave")]
    room_id = await alice.create_room(invite=[bob.user_id, carol.user_id, dave.user_id])
    await bob.join(room_id)
    await alice.request("POST", f"/rooms/{room_id}/ban", {"user_id": dave.user_id})
    everyone = {alice.user_id: "join", bob.user_id: "join", carol.user_id: "invite",
                dave.user_id: "ban"}
    assert await member_ids(bob, room_id) == everyone
    assert await member_ids(bob, room_id, membership="join") == {
        alice.user_id: "join", bob.user_id: "join"}
    assert await member_ids(bob, room_id, membership="invite") == {carol.user_id: "invite"}
    assert await member_ids(bob, room_id, not_membership="join") == {
        carol.user_id: "invite", dave.user_id: "ban"}
    assert await member_ids(bob, room_id, membership="ban", not_membership="join") == {
        dave.user_id: "ban"}
    assert await member_ids(bob, room_id, membership="leave") == {}


async def test_members_at_a_point_in_the_past(client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    before_carol = (await alice.sync())["next_batch"]
    await carol.join(room_id)
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    now = {alice.user_id: "join", bob.user_id: "leave", carol.user_id: "join"}
    assert await member_ids(alice, room_id) == now
    then = {alice.user_id: "join", bob.user_id: "join"}
    assert await member_ids(alice, room_id, at=before_carol) == then
    # A /messages token works too (rooms.yaml: `at` is a pagination token).
    messages = await alice.request("GET", f"/rooms/{room_id}/messages",
                                   params={"dir": "b", "limit": 2})
    assert await member_ids(alice, room_id, at=messages["start"]) == now
    assert await member_ids(alice, room_id, at=before_carol, membership="join") == then
    # Bob left: he sees the list as it was when he left, and earlier points.
    assert await member_ids(bob, room_id) == {
        alice.user_id: "join", bob.user_id: "leave", carol.user_id: "join"}
    assert await member_ids(bob, room_id, at=before_carol) == then


async def test_members_at_needs_history_visibility(client: httpx.AsyncClient) -> None:
    """A user joined now still may not read members at a point they could not see."""
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room_id = await alice.create_room(preset="public_chat")
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    await carol.join(room_id)
    before_bob = (await alice.sync())["next_batch"]
    await bob.join(room_id)
    error = await member_ids(bob, room_id, at=before_bob, expect=403)
    assert error["errcode"] == "M_FORBIDDEN"
    assert await member_ids(alice, room_id, at=before_bob) == {
        alice.user_id: "join", carol.user_id: "join"}
    after_bob = (await bob.sync())["next_batch"]
    assert (await member_ids(bob, room_id, at=after_bob))[bob.user_id] == "join"
    # Under "shared", joining later is enough to see the earlier list.
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "shared"})
    dave = await register(client, "dave")
    before_dave = (await alice.sync())["next_batch"]
    await dave.join(room_id)
    assert dave.user_id not in await member_ids(dave, room_id, at=before_dave)
