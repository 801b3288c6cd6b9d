"""Account data per account-data.yaml and tags per tags.yaml."""

from __future__ import annotations

import httpx

from kith.app import App
from kith.store.account_data import AccountDataStore
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

AD = "account-data.yaml"


async def test_global_account_data_roundtrip_and_errors(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    path = f"/user/{alice.user_id}/account_data/org.example.config"
    missing = await alice.request("GET", path, expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
    validate_response(AD, "get", "/user/{userId}/account_data/{type}", 404, missing)
    put = await alice.request("PUT", path, {"theme": "dark"})
    validate_response(AD, "put", "/user/{userId}/account_data/{type}", 200, put)
    got = await alice.request("GET", path)
    assert got == {"theme": "dark"}
    await alice.request("PUT", path, {"theme": "light"})
    assert await alice.request("GET", path) == {"theme": "light"}
    denied = await bob.request("PUT", path, {"x": 1}, expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    assert (await bob.request("GET", path, expect=403))["errcode"] == "M_FORBIDDEN"
    response = await client.put("/_matrix/client/v3" + path, content=b"nope", headers=alice.auth)
    assert response.status_code == 400 and response.json()["errcode"] == "M_NOT_JSON"
    response = await client.put("/_matrix/client/v3" + path, json=[1], headers=alice.auth)
    assert response.status_code == 400 and response.json()["errcode"] == "M_BAD_JSON"


async def test_server_managed_types_are_refused(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    for etype in ("m.fully_read", "m.push_rules"):
        body = await alice.request("PUT", f"/user/{alice.user_id}/account_data/{etype}", {}, expect=405)
        assert body["errcode"] == "M_BAD_JSON"
        validate_response(AD, "put", "/user/{userId}/account_data/{type}", 405, body)
        body = await alice.request(
            "PUT", f"/user/{alice.user_id}/rooms/{room_id}/account_data/{etype}", {}, expect=405)
        assert body["errcode"] == "M_BAD_JSON"


async def test_room_account_data_is_separate_from_global(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    rpath = f"/user/{alice.user_id}/rooms/{room_id}/account_data/org.example.x"
    await alice.request("PUT", rpath, {"room": True})
    assert await alice.request("GET", rpath) == {"room": True}
    await alice.request("GET", f"/user/{alice.user_id}/account_data/org.example.x", expect=404)
    bad = await alice.request("GET", f"/user/{alice.user_id}/rooms/notaroom/account_data/x", expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"
    validate_response(AD, "get", "/user/{userId}/rooms/{roomId}/account_data/{type}", 400, bad)


async def test_tags_put_get_delete(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    base = f"/user/{alice.user_id}/rooms/{room_id}/tags"
    assert await alice.request("GET", base) == {"tags": {}}
    await alice.request("PUT", base + "/m.favourite", {"order": 0.25})
    await alice.request("PUT", base + "/u.work", {})
    tags = await alice.request("GET", base)
    validate_response("tags.yaml", "get", "/user/{userId}/rooms/{roomId}/tags", 200, tags)
    assert tags == {"tags": {"m.favourite": {"order": 0.25}, "u.work": {}}}
    room_data = await alice.request(
        "GET", f"/user/{alice.user_id}/rooms/{room_id}/account_data/m.tag")
    assert room_data == tags
    assert (await alice.request("PUT", base + "/u.x", {"order": "high"}, expect=400))["errcode"] == "M_BAD_JSON"
    await alice.request("DELETE", base + "/m.favourite")
    await alice.request("DELETE", base + "/never.set")
    assert await alice.request("GET", base) == {"tags": {"u.work": {}}}
    await bob.request("GET", base, expect=403)
    await bob.request("PUT", base + "/u.y", {}, expect=403)


async def test_changed_since_splits_global_and_room(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    store = AccountDataStore(app.db)
    before = app.db.current_stream_id
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/a.b", {"n": 1})
    await alice.request("PUT", f"/user/{alice.user_id}/rooms/{room_id}/tags/u.t", {})
    middle = app.db.current_stream_id
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/c.d", {"n": 2})
    upto = app.db.current_stream_id
    glob, rooms = await store.changed_since(alice.user_id, before, middle)
    assert glob == [{"type": "a.b", "content": {"n": 1}}]
    assert rooms == {room_id: [{"type": "m.tag", "content": {"tags": {"u.t": {}}}}]}
    glob, rooms = await store.changed_since(alice.user_id, middle, upto)
    assert glob == [{"type": "c.d", "content": {"n": 2}}] and rooms == {}
    glob, rooms = await store.changed_since(alice.user_id, None, upto)
    assert {e["type"] for e in glob} >= {"a.b", "c.d"} and room_id in rooms
    assert await store.changed_since("@nobody:localhost", None, upto) == ([], {})
