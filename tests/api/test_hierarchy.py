"""GET /rooms/{roomId}/hierarchy per space_hierarchy.yaml and modules/spaces.md."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

H = "/rooms/{roomId}/hierarchy"
V1 = "/_matrix/client/v1"


async def space(user: User, name: str, **extra: Any) -> str:
    return await user.create_room(name=name, creation_content={"type": "m.space"}, **extra)


async def add_child(user: User, parent: str, child: str, **content: Any) -> None:
    content.setdefault("via", ["localhost"])
    await user.request("PUT", f"/rooms/{parent}/state/m.space.child/{child}", content)


async def hierarchy(user: User, room: str, expect: int = 200, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await user.request("GET", f"{V1}/rooms/{room}/hierarchy",
                                              params=params, expect=expect)
    validate_response("space_hierarchy.yaml", "get", H, expect, body)
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [r["room_id"] for r in body["rooms"]]


async def test_depth_first_walk_in_the_spec_order(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    root = await space(alice, "Root", preset="public_chat")
    sub = await space(alice, "Sub", preset="public_chat")
    first = await alice.create_room(name="First", preset="public_chat")
    second = await alice.create_room(name="Second", preset="public_chat")
    inner = await alice.create_room(name="Inner", topic="deep", preset="public_chat")
    # spaces.md ordering: valid `order` first (by code point), then by timestamp.
    await add_child(alice, root, second)
    await add_child(alice, root, sub, order="b")
    await add_child(alice, root, first, order="a")
    await add_child(alice, sub, inner)
    body = await hierarchy(alice, root)
    assert ids(body) == [root, first, sub, inner, second]
    assert "next_batch" not in body
    top = body["rooms"][0]
    assert top["room_type"] == "m.space" and top["name"] == "Root"
    assert [c["state_key"] for c in top["children_state"]] == [first, sub, second]
    assert all(c["type"] == "m.space.child" and c["origin_server_ts"] > 0
               for c in top["children_state"])
    by_id = {r["room_id"]: r for r in body["rooms"]}
    # A room that is not a space lists no children.
    assert by_id[first]["children_state"] == []
    assert by_id[inner]["topic"] == "deep" and by_id[inner]["num_joined_members"] == 1
    assert by_id[inner]["join_rule"] == "public"


async def test_max_depth_suggested_only_and_removed_children(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    root = await space(alice, "Root")
    sub = await space(alice, "Sub")
    leaf = await alice.create_room(name="Leaf")
    suggested = await alice.create_room(name="Suggested")
    gone = await alice.create_room(name="Gone")
    await add_child(alice, root, sub)
    await add_child(alice, sub, leaf)
    await add_child(alice, root, suggested, suggested=True)
    # spaces.md: a child is removed by omitting `via`.
    await alice.request("PUT", f"/rooms/{root}/state/m.space.child/{gone}", {})
    assert ids(await hierarchy(alice, root, max_depth=0)) == [root]
    assert set(ids(await hierarchy(alice, root, max_depth=1))) == {root, sub, suggested}
    assert set(ids(await hierarchy(alice, root))) == {root, sub, leaf, suggested}
    assert ids(await hierarchy(alice, root, suggested_only="true")) == [root, suggested]


async def test_only_rooms_the_user_may_see(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    root = await space(alice, "Root", preset="public_chat")
    private = await alice.create_room(name="Private", preset="private_chat")
    public = await alice.create_room(name="Public", preset="public_chat")
    readable = await alice.create_room(name="Readable", preset="private_chat")
    await alice.request("PUT", f"/rooms/{readable}/state/m.room.history_visibility/",
                        {"history_visibility": "world_readable"})
    members_only = await alice.create_room(name="Members of root")
    await alice.request("PUT", f"/rooms/{members_only}/state/m.room.join_rules/", {
        "join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": root}]})
    invited = await alice.create_room(name="Invited", preset="private_chat")
    await alice.request("POST", f"/rooms/{invited}/invite", {"user_id": bob.user_id})
    for child in (private, public, readable, members_only, invited):
        await add_child(alice, root, child)
    # Before joining the space, the restricted room is out of reach.
    seen = set(ids(await hierarchy(bob, root)))
    assert seen == {root, public, readable, invited}
    await bob.join(root)
    body = await hierarchy(bob, root)
    assert set(ids(body)) == {root, public, readable, invited, members_only}
    restricted = next(r for r in body["rooms"] if r["room_id"] == members_only)
    assert restricted["allowed_room_ids"] == [root]
    # The root itself must be visible: a private space is 403 for outsiders.
    hidden_space = await space(alice, "Hidden", preset="private_chat")
    err = await hierarchy(bob, hidden_space, expect=403)
    assert err["errcode"] == "M_FORBIDDEN"
    assert (await hierarchy(bob, "!nowhere:localhost", expect=403))["errcode"] == "M_FORBIDDEN"


async def test_pagination_and_its_fixed_parameters(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    root = await space(alice, "Root")
    children = [await alice.create_room(name=f"Room {i}") for i in range(5)]
    for i, child in enumerate(children):
        await add_child(alice, root, child, order=f"{i:02}")
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        body = await hierarchy(alice, root, **params)
        assert len(body["rooms"]) <= 2
        walked += ids(body)
        pages += 1
        if "next_batch" not in body:
            break
        params = {"limit": 2, "from": body["next_batch"]}
    assert walked == [root, *children] and pages == 3
    first = await hierarchy(alice, root, limit=2, max_depth=3)
    err = await hierarchy(alice, root, expect=400, max_depth=2, **{"from": first["next_batch"]})
    assert err["errcode"] == "M_INVALID_PARAM"
    err = await hierarchy(alice, root, expect=400, **{"from": "nonsense"})
    assert err["errcode"] == "M_INVALID_PARAM"
    await alice.request("GET", f"{V1}/rooms/{root}/hierarchy", params={"limit": 0}, expect=400)


async def test_loops_are_broken(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    one, two = await space(alice, "One"), await space(alice, "Two")
    await add_child(alice, one, two)
    await add_child(alice, two, one)
    assert ids(await hierarchy(alice, one)) == [one, two]
    assert ids(await hierarchy(alice, two)) == [two, one]
