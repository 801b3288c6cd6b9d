"""The published room directory per list_public_rooms.yaml."""

from __future__ import annotations

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_get_without_token_lists_only_published_rooms(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    published = await alice.create_room(
        visibility="public", name="Garden", topic="Plants", room_alias_name="garden",
        initial_state=[{"type": "m.room.avatar", "content": {"url": "mxc://localhost/abc"}},
                       {"type": "m.room.history_visibility",
                        "content": {"history_visibility": "world_readable"}}])
    await alice.create_room(name="Secret")
    await alice.create_room(preset="public_chat", name="Unlisted")
    await bob.join(published)
    response = await client.get("/_matrix/client/v3/publicRooms")
    assert response.status_code == 200
    body = response.json()
    validate_response("list_public_rooms.yaml", "get", "/publicRooms", 200, body)
    assert body["total_room_count_estimate"] == 1
    assert body["chunk"] == [{
        "room_id": published, "name": "Garden", "topic": "Plants",
        "canonical_alias": "#garden:localhost", "num_joined_members": 2,
        "world_readable": True, "guest_can_join": False, "join_rule": "public",
        "avatar_url": "mxc://localhost/abc",
    }]
    assert "next_batch" not in body and "prev_batch" not in body


async def test_entries_follow_current_state(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room(visibility="public", name="Old")
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.name/", {"name": "New"})
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.guest_access/",
                        {"guest_access": "can_join"})
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.topic/", {
        "topic": "fallback", "m.topic": [{"mimetype": "text/html", "body": "<b>x</b>"},
                                         {"body": "plain"}]})
    [entry] = (await alice.request("GET", "/publicRooms"))["chunk"]
    assert entry["name"] == "New" and entry["guest_can_join"] is True
    assert entry["topic"] == "plain"
    await alice.request("PUT", f"/directory/list/room/{room_id}", {"visibility": "private"})
    assert (await alice.request("GET", "/publicRooms"))["chunk"] == []


async def test_pagination_tokens_walk_forward_and_back(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    rooms = {await alice.create_room(visibility="public", name=f"Room {i}") for i in range(5)}
    first = await alice.request("GET", "/publicRooms", params={"limit": 2})
    validate_response("list_public_rooms.yaml", "get", "/publicRooms", 200, first)
    assert len(first["chunk"]) == 2 and "prev_batch" not in first
    second = await alice.request("GET", "/publicRooms", params={"limit": 2,
                                                                "since": first["next_batch"]})
    third = await alice.request("GET", "/publicRooms", params={"limit": 2,
                                                               "since": second["next_batch"]})
    assert len(third["chunk"]) == 1 and "next_batch" not in third
    seen = [e["room_id"] for page in (first, second, third) for e in page["chunk"]]
    assert set(seen) == rooms and len(seen) == 5
    back = await alice.request("GET", "/publicRooms", params={"limit": 2,
                                                              "since": second["prev_batch"]})
    assert back["chunk"] == first["chunk"]
    bad = await alice.request("GET", "/publicRooms", params={"since": "garbage"}, expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"


async def test_ordered_by_joined_members(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    small = await alice.create_room(visibility="public", name="Small")
    big = await alice.create_room(visibility="public", name="Big")
    await bob.join(big)
    chunk = (await alice.request("GET", "/publicRooms"))["chunk"]
    assert [e["room_id"] for e in chunk] == [big, small]


async def test_post_filters_search_term_and_room_types(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    garden = await alice.create_room(visibility="public", name="Garden", topic="Plants")
    space = await alice.create_room(visibility="public", name="Space station",
                                    creation_content={"type": "m.space"})
    aliased = await alice.create_room(visibility="public", room_alias_name="herbs")

    async def search(body: dict[str, object]) -> list[str]:
        result = await alice.request("POST", "/publicRooms", body)
        validate_response("list_public_rooms.yaml", "post", "/publicRooms", 200, result)
        return sorted(e["room_id"] for e in result["chunk"])

    assert await search({"filter": {"generic_search_term": "plants"}}) == [garden]
    assert await search({"filter": {"generic_search_term": "HERBS"}}) == [aliased]
    assert await search({"filter": {"room_types": ["m.space"]}}) == [space]
    assert await search({"filter": {"room_types": [None]}}) == sorted([garden, aliased])
    assert await search({}) == sorted([garden, space, aliased])
    limited = await alice.request("POST", "/publicRooms", {"limit": 1})
    assert len(limited["chunk"]) == 1 and limited["total_room_count_estimate"] == 3
    following = await alice.request("POST", "/publicRooms",
                                    {"limit": 5, "since": limited["next_batch"]})
    assert len(following["chunk"]) == 2
    [space_entry] = (await alice.request("POST", "/publicRooms",
                                         {"filter": {"room_types": ["m.space"]}}))["chunk"]
    assert space_entry["room_type"] == "m.space"


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    response = await client.post("/_matrix/client/v3/publicRooms", json={})
    assert response.status_code == 401  # POST requires an access token
    wrong = await alice.request("POST", "/publicRooms", {"limit": "ten"}, expect=400)
    assert wrong["errcode"] == "M_BAD_JSON"
    wrong = await alice.request("POST", "/publicRooms", {"filter": {"room_types": [1]}},
                                expect=400)
    assert wrong["errcode"] == "M_INVALID_PARAM"
    other = await alice.request("GET", "/publicRooms", params={"server": "example.org"},
                                expect=400)
    assert other["errcode"] == "M_INVALID_PARAM"
    assert "chunk" in await alice.request("GET", "/publicRooms", params={"server": "localhost"})
