"""Profiles per profile.yaml, presence per presence.yaml, user directory per users.yaml."""

from __future__ import annotations

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_profile_fields_roundtrip(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    base = f"/profile/{alice.user_id}"
    body = await alice.request("PUT", base + "/displayname", {"displayname": "Alice"})
    validate_response("profile.yaml", "put", "/profile/{userId}/{keyName}", 200, body)
    await alice.request("PUT", base + "/avatar_url", {"avatar_url": "mxc://localhost/abc"})
    await alice.request("PUT", base + "/m.tz", {"m.tz": "Europe/London"})
    await alice.request("PUT", base + "/org.example.pronouns", {"org.example.pronouns": ["she"]})
    profile = (await client.get("/_matrix/client/v3" + base)).json()
    validate_response("profile.yaml", "get", "/profile/{userId}", 200, profile)
    assert profile == {"displayname": "Alice", "avatar_url": "mxc://localhost/abc",
                       "m.tz": "Europe/London", "org.example.pronouns": ["she"]}
    field = await bob.request("GET", base + "/displayname")
    validate_response("profile.yaml", "get", "/profile/{userId}/{keyName}", 200, field)
    assert field == {"displayname": "Alice"}
    await alice.request("DELETE", base + "/m.tz")
    await alice.request("GET", base + "/m.tz", expect=404)
    await alice.request("DELETE", base + "/avatar_url")
    assert "avatar_url" not in await alice.request("GET", base)


async def test_profile_errors(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    base = f"/profile/{alice.user_id}"
    missing = await alice.request("GET", "/profile/@ghost:localhost", expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
    validate_response("profile.yaml", "get", "/profile/{userId}", 404, missing)
    await alice.request("GET", "/profile/@ghost:localhost/displayname", expect=404)
    denied = await bob.request("PUT", base + "/displayname", {"displayname": "Mallory"}, expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    await bob.request("DELETE", base + "/displayname", expect=403)
    assert (await alice.request("PUT", base + "/displayname", {"x": 1}, expect=400))["errcode"] == "M_MISSING_PARAM"
    assert (await alice.request("PUT", base + "/displayname", {"displayname": "a" * 257}, expect=400))["errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("PUT", base + "/displayname", {"displayname": 5}, expect=400))["errcode"] == "M_BAD_JSON"
    assert (await alice.request("PUT", base + "/avatar_url", {"avatar_url": "https://x/y"}, expect=400))["errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("PUT", base + "/Bad", {"Bad": 1}, expect=400))["errcode"] == "M_INVALID_PARAM"
    long_key = "a." + "b" * 300
    assert (await alice.request("PUT", f"{base}/{long_key}", {long_key: 1}, expect=400))["errcode"] == "M_KEY_TOO_LARGE"
    big = await alice.request("PUT", base + "/org.example.big", {"org.example.big": "x" * 70000}, expect=400)
    assert big["errcode"] == "M_PROFILE_TOO_LARGE"


async def test_displayname_change_updates_member_events(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_a = await alice.create_room(preset="public_chat")
    room_b = await bob.create_room(preset="public_chat")
    await alice.join(room_b)
    # Own join -> join member events are allowed by the membership auth rules.
    await alice.request("PUT", f"/profile/{alice.user_id}/displayname", {"displayname": "Queen Alice"})
    for room_id in (room_a, room_b):
        member = await alice.request("GET", f"/rooms/{room_id}/state/m.room.member/{alice.user_id}")
        assert member["displayname"] == "Queen Alice" and member["membership"] == "join"


async def test_presence_off(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    path = f"/presence/{alice.user_id}/status"
    body = await bob.request("GET", path)
    validate_response("presence.yaml", "get", "/presence/{userId}/status", 200, body)
    assert body == {"presence": "offline"}
    await alice.request("PUT", path, {"presence": "online", "status_msg": "hi"})
    assert (await bob.request("PUT", path, {"presence": "online"}, expect=403))["errcode"] == "M_FORBIDDEN"
    await alice.request("PUT", path, {"presence": "dancing"}, expect=400)
    await alice.request("PUT", path, {}, expect=400)
    assert (await alice.request("GET", "/presence/@ghost:localhost/status", expect=404))["errcode"] == "M_NOT_FOUND"


async def test_user_directory_visibility_and_limits(client: httpx.AsyncClient) -> None:
    alice, bob, carol, dave = [await register(client, n) for n in ("alice", "bob", "carol", "dave")]
    await carol.request("PUT", f"/profile/{carol.user_id}/displayname", {"displayname": "Carol Bobbins"})
    private = await alice.create_room(invite=[bob.user_id])
    await bob.join(private)
    public = await carol.create_room(preset="public_chat", visibility="public")
    assert public
    search = "/user_directory/search"
    found = await alice.request("POST", search, {"search_term": "BOB"})
    validate_response("users.yaml", "post", "/user_directory/search", 200, found)
    ids = [r["user_id"] for r in found["results"]]
    assert ids[0] == bob.user_id  # display-name prefix match ranks first
    assert set(ids) == {bob.user_id, carol.user_id} and found["limited"] is False
    assert found["results"][1]["display_name"] == "Carol Bobbins"
    # dave shares no room with bob and bob is in no public room.
    assert [r["user_id"] for r in (await dave.request("POST", search, {"search_term": "bob"}))["results"]] == [carol.user_id]
    limited = await alice.request("POST", search, {"search_term": "o", "limit": 1})
    assert len(limited["results"]) == 1 and limited["limited"] is True
    assert (await alice.request("POST", search, {}, expect=400))["errcode"] == "M_MISSING_PARAM"
