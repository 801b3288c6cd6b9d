"""Who the user directory finds (users.yaml POST /user_directory/search): at a
minimum users sharing a room with the searcher, and users joined to rooms with a
`public` join rule or `world_readable` history visibility."""

from __future__ import annotations

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def found(searcher: User, term: str) -> set[str]:
    body = await searcher.request("POST", "/user_directory/search", {"search_term": term})
    validate_response("users.yaml", "post", "/user_directory/search", 200, body)
    return {r["user_id"] for r in body["results"]}


@pytest.mark.parametrize(("create", "listed"), [
    # join rule public, not published in the room directory
    ({"preset": "public_chat"}, True),
    # invite only, history world readable
    ({"initial_state": [{"type": "m.room.history_visibility",
                         "content": {"history_visibility": "world_readable"}}]}, True),
    # published in the room directory, but the join rule is invite
    ({"visibility": "public", "initial_state": [
        {"type": "m.room.join_rules", "content": {"join_rule": "invite"}}]}, False),
    # invite only, shared history
    ({"preset": "private_chat"}, False),
    # knock: not public
    ({"initial_state": [{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}]}, False),
])
async def test_members_of_open_rooms_are_listed_to_strangers(
        client: httpx.AsyncClient, create: dict[str, object], listed: bool) -> None:
    owner, stranger = await register(client, "zara"), await register(client, "sam")
    await owner.create_room(**create)
    assert (owner.user_id in await found(stranger, "zara")) is listed


async def test_the_current_join_rule_counts(client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client, "zara"), await register(client, "sam")
    room_id = await owner.create_room(preset="private_chat")
    assert await found(stranger, "zara") == set()
    await owner.request("PUT", f"/rooms/{room_id}/state/m.room.join_rules/",
                        {"join_rule": "public"})
    assert await found(stranger, "zara") == {owner.user_id}
    await owner.request("PUT", f"/rooms/{room_id}/state/m.room.join_rules/",
                        {"join_rule": "invite"})
    assert await found(stranger, "zara") == set()


async def test_sharing_a_private_room_is_enough(client: httpx.AsyncClient) -> None:
    owner, friend, stranger = [await register(client, n) for n in ("zara", "fred", "sam")]
    room_id = await owner.create_room(preset="private_chat", invite=[friend.user_id])
    assert await found(friend, "zara") == set()  # invited is not sharing yet
    await friend.join(room_id)
    assert await found(friend, "zara") == {owner.user_id}
    assert await found(stranger, "zara") == set()
    await friend.request("POST", f"/rooms/{room_id}/leave", {})
    assert await found(friend, "zara") == set()
