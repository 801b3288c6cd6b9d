"""Room aliases and directory visibility per directory.yaml and list_public_rooms.yaml."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


def alias_path(alias: str) -> str:
    return "/directory/room/" + quote(alias, safe="")


async def test_alias_create_resolve_list_delete(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    body = await alice.request("PUT", alias_path("#garden:localhost"), {"room_id": room_id})
    validate_response("directory.yaml", "put", "/directory/room/{roomAlias}", 200, body)
    # GET needs no access token (directory.yaml has no security on it).
    response = await client.get("/_matrix/client/v3" + alias_path("#garden:localhost"))
    assert response.status_code == 200
    resolved = response.json()
    validate_response("directory.yaml", "get", "/directory/room/{roomAlias}", 200, resolved)
    assert resolved == {"room_id": room_id, "servers": ["localhost"]}
    listed = await alice.request("GET", f"/rooms/{room_id}/aliases")
    validate_response("directory.yaml", "get", "/rooms/{roomId}/aliases", 200, listed)
    assert listed == {"aliases": ["#garden:localhost"]}
    await alice.request("DELETE", alias_path("#garden:localhost"))
    missing = await alice.request("GET", alias_path("#garden:localhost"), expect=404)
    validate_response("directory.yaml", "get", "/directory/room/{roomAlias}", 404, missing)
    assert missing["errcode"] == "M_NOT_FOUND"
    gone = await alice.request("DELETE", alias_path("#garden:localhost"), expect=404)
    assert gone["errcode"] == "M_NOT_FOUND"


async def test_alias_taken_invalid_and_foreign(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    await alice.request("PUT", alias_path("#taken:localhost"), {"room_id": room_id})
    taken = await alice.request("PUT", alias_path("#taken:localhost"), {"room_id": room_id},
                                expect=409)
    validate_response("directory.yaml", "put", "/directory/room/{roomAlias}", 409, taken)
    assert taken["errcode"] == "M_UNKNOWN"
    for bad in ("#other:example.org", "nohash:localhost", "#:localhost", "#a b:localhost"):
        error = await alice.request("PUT", alias_path(bad), {"room_id": room_id}, expect=400)
        assert error["errcode"] == "M_INVALID_PARAM", bad
    invalid = await alice.request("GET", alias_path("no-hash"), expect=400)
    assert invalid["errcode"] == "M_INVALID_PARAM"
    missing_room = await alice.request("PUT", alias_path("#x:localhost"), {}, expect=400)
    assert missing_room["errcode"] == "M_MISSING_PARAM"
    unknown_room = await alice.request("PUT", alias_path("#x:localhost"),
                                       {"room_id": "!nope:localhost"}, expect=404)
    assert unknown_room["errcode"] == "M_NOT_FOUND"


async def test_alias_needs_membership_and_delete_needs_power(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    outsider = await bob.request("PUT", alias_path("#bobs:localhost"), {"room_id": room_id},
                                 expect=403)
    assert outsider["errcode"] == "M_FORBIDDEN"
    await bob.join(room_id)
    await bob.request("PUT", alias_path("#bobs:localhost"), {"room_id": room_id})
    await alice.request("PUT", alias_path("#alices:localhost"), {"room_id": room_id})
    # Bob neither created #alices nor may send m.room.canonical_alias.
    denied = await bob.request("DELETE", alias_path("#alices:localhost"), expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    # The room creator may delete any alias of the room; Bob his own.
    await alice.request("DELETE", alias_path("#bobs:localhost"))
    await alice.request("PUT", alias_path("#bobs2:localhost"), {"room_id": room_id})
    await alice.request("DELETE", alias_path("#bobs2:localhost"))
    listed = await alice.request("GET", f"/rooms/{room_id}/aliases")
    assert listed == {"aliases": ["#alices:localhost"]}


async def test_deleting_canonical_alias_updates_the_event(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room(room_alias_name="main")
    await alice.request("PUT", alias_path("#alt:localhost"), {"room_id": room_id})
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.canonical_alias/",
                        {"alias": "#main:localhost", "alt_aliases": ["#alt:localhost"]})
    await alice.request("DELETE", alias_path("#alt:localhost"))
    content = await alice.request("GET", f"/rooms/{room_id}/state/m.room.canonical_alias/")
    assert content == {"alias": "#main:localhost", "alt_aliases": []}


async def test_local_aliases_forbidden_for_outsiders(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    denied = await bob.request("GET", f"/rooms/{room_id}/aliases", expect=403)
    validate_response("directory.yaml", "get", "/rooms/{roomId}/aliases", 403, denied)
    assert denied["errcode"] == "M_FORBIDDEN"
    await bob.request("GET", "/rooms/!unknown:localhost/aliases", expect=403)
    # world_readable rooms: anyone may list.
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "world_readable"})
    assert await bob.request("GET", f"/rooms/{room_id}/aliases") == {"aliases": []}


async def test_directory_visibility(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    response = await client.get(f"/_matrix/client/v3/directory/list/room/{room_id}")
    assert response.status_code == 200
    validate_response("list_public_rooms.yaml", "get", "/directory/list/room/{roomId}", 200,
                      response.json())
    assert response.json() == {"visibility": "private"}
    await bob.join(room_id)
    denied = await bob.request("PUT", f"/directory/list/room/{room_id}", {"visibility": "public"},
                               expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    body = await alice.request("PUT", f"/directory/list/room/{room_id}", {"visibility": "public"})
    validate_response("list_public_rooms.yaml", "put", "/directory/list/room/{roomId}", 200, body)
    assert (await bob.request("GET", f"/directory/list/room/{room_id}")) == {"visibility": "public"}
    # A moderator with the canonical alias level may change it too.
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.power_levels/", {
        "users": {bob.user_id: 50}, "events": {"m.room.canonical_alias": 50}})
    await bob.request("PUT", f"/directory/list/room/{room_id}", {"visibility": "private"})
    assert (await bob.request("GET", f"/directory/list/room/{room_id}")) == {"visibility": "private"}
    bad = await alice.request("PUT", f"/directory/list/room/{room_id}", {"visibility": "hidden"},
                              expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"
    for method in ("GET", "PUT"):
        missing = await alice.request(method, "/directory/list/room/!nope:localhost",
                                      {"visibility": "public"}, expect=404)
        validate_response("list_public_rooms.yaml", method.lower(), "/directory/list/room/{roomId}",
                          404, missing)
        assert missing["errcode"] == "M_NOT_FOUND"


async def test_alias_put_needs_token(client: httpx.AsyncClient) -> None:
    response = await client.put("/_matrix/client/v3" + alias_path("#x:localhost"),
                                json={"room_id": "!r:localhost"})
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_MISSING_TOKEN"
