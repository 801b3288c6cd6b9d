"""What /room_keys refuses (key_backup.yaml): each refused request leaves the
backup exactly as it was, its key count, etag and keys unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]

ALG = "m.megolm_backup.v1.curve25519-aes-sha2"
AUTH = {"public_key": "cHVibGljIGtleQ"}
ROOM = "!room:localhost"
LEVELS = ["/room_keys/keys", f"/room_keys/keys/{ROOM}", f"/room_keys/keys/{ROOM}/s1"]


def key(first: int = 0, forwarded: int = 0) -> dict[str, Any]:
    return {"first_message_index": first, "forwarded_count": forwarded, "is_verified": False,
            "session_data": {"ciphertext": "c"}}


def body_for(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """The PUT body for one session at the level of path."""
    if path == LEVELS[2]:
        return data
    if path == LEVELS[1]:
        return {"sessions": {"s1": data}}
    return {"rooms": {ROOM: {"sessions": {"s1": data}}}}


async def new_version(user: User) -> str:
    created = await user.request("POST", "/room_keys/version", {"algorithm": ALG, "auth_data": AUTH})
    return str(created["version"])


async def snapshot(user: User, version: str) -> tuple[Any, ...]:
    info = await user.request("GET", f"/room_keys/version/{version}")
    keys = await user.request("GET", "/room_keys/keys", params={"version": version})
    return info["count"], info["etag"], info["auth_data"], keys


async def test_unknown_version_is_404_and_an_older_one_is_403(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    for path in LEVELS:  # no backup at all: nothing to name as current_version
        resp = await alice.request("PUT", path, body_for(path, key()), params={"version": "1"},
                                   expect=404)
        assert resp["errcode"] == "M_NOT_FOUND"
    old = await new_version(alice)
    await alice.request("PUT", LEVELS[2], key(), params={"version": old})
    current = await new_version(alice)
    await alice.request("PUT", LEVELS[2], key(3), params={"version": current})
    gone = await new_version(alice)
    await alice.request("DELETE", f"/room_keys/version/{gone}")
    before = {v: await snapshot(alice, v) for v in (old, current)}

    for path in LEVELS:
        # key_backup.yaml: "The backup was not found" for a version that is not
        # there: malformed, never created, not in this spelling, or deleted.
        for version in ("abc", "999", f"0{current}", "", gone):
            resp = await alice.request("PUT", path, body_for(path, key()),
                                       params={"version": version}, expect=404)
            assert resp["errcode"] == "M_NOT_FOUND", (path, version)
            for method in ("GET", "DELETE"):
                resp = await alice.request(method, path, params={"version": version}, expect=404)
                assert resp["errcode"] == "M_NOT_FOUND", (method, path, version)
        # A version that exists but is not the current one: 403, naming the current.
        resp = await alice.request("PUT", path, body_for(path, key()), params={"version": old},
                                   expect=403)
        assert resp["errcode"] == "M_WRONG_ROOM_KEYS_VERSION"
        assert resp["current_version"] == current
    assert {v: await snapshot(alice, v) for v in (old, current)} == before


async def test_deleting_a_deleted_version_succeeds(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    version = await new_version(alice)
    for version_path in ("999", "abc", f"0{version}"):
        resp = await alice.request("DELETE", f"/room_keys/version/{version_path}", expect=404)
        assert resp["errcode"] == "M_NOT_FOUND"
    assert (await alice.request("GET", "/room_keys/version"))["version"] == version
    # key_backup.yaml: "If the backup was previously deleted, the call should
    # succeed rather than returning an error."
    assert await alice.request("DELETE", f"/room_keys/version/{version}") == {}
    assert await alice.request("DELETE", f"/room_keys/version/{version}") == {}
    await alice.request("GET", "/room_keys/version", expect=404)
    # Another user's version is not theirs to delete.
    bob = await register(client, "bob")
    mine = await new_version(alice)
    await bob.request("DELETE", f"/room_keys/version/{mine}", expect=404)
    assert (await alice.request("GET", "/room_keys/version"))["version"] == mine


@pytest.mark.parametrize("field", ["first_message_index", "forwarded_count"])
async def test_negative_counts_are_refused(client: httpx.AsyncClient, field: str) -> None:
    alice = await register(client, "alice")
    version = await new_version(alice)
    await alice.request("PUT", LEVELS[2], key(5, 5), params={"version": version})
    before = await snapshot(alice, version)
    bad = dict(key(), **{field: -1})
    for path in LEVELS:
        resp = await alice.request("PUT", path, body_for(path, bad), params={"version": version},
                                   expect=400)
        assert resp["errcode"] == "M_BAD_JSON", path
    # One bad session refuses the whole request; the good one beside it is not stored.
    both = {"rooms": {ROOM: {"sessions": {"s1": bad, "s2": key()}}}}
    await alice.request("PUT", LEVELS[0], both, params={"version": version}, expect=400)
    assert await snapshot(alice, version) == before


async def test_empty_room_and_session_ids_are_refused(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    version = await new_version(alice)
    await alice.request("PUT", LEVELS[2], key(), params={"version": version})
    before = await snapshot(alice, version)
    params = {"version": version}
    for body in ({"rooms": {"": {"sessions": {"s1": key()}}}},
                 {"rooms": {ROOM: {"sessions": {"": key()}}}}):
        resp = await alice.request("PUT", LEVELS[0], body, params=params, expect=400)
        assert resp["errcode"] == "M_BAD_JSON"
    resp = await alice.request("PUT", LEVELS[1], {"sessions": {"": key()}}, params=params,
                               expect=400)
    assert resp["errcode"] == "M_BAD_JSON"
    # An empty path segment names no room or session.
    for path, body in ((f"/room_keys/keys/{ROOM}/", key()), ("/room_keys/keys//s1", key()),
                       ("/room_keys/keys/", {"sessions": {"s1": key()}})):
        for method in ("PUT", "GET", "DELETE"):
            resp = await alice.request(method, path, body if method == "PUT" else None,
                                       params=params, expect=400)
            assert resp["errcode"] == "M_INVALID_PARAM", (method, path)
    assert await snapshot(alice, version) == before


@pytest.mark.parametrize("auth_data", [{}, {"public_key": 5}, {"public_key": ""},
                                       {"public_key": "abc", "signatures": "x"}])
async def test_megolm_backup_auth_data_needs_a_public_key(client: httpx.AsyncClient,
                                                         auth_data: dict[str, Any]) -> None:
    """end_to_end_encryption.md: for m.megolm_backup.v1.curve25519-aes-sha2 the
    auth_data is an AuthData, whose public_key is required."""
    alice = await register(client, "alice")
    resp = await alice.request("POST", "/room_keys/version",
                               {"algorithm": ALG, "auth_data": auth_data}, expect=400)
    assert resp["errcode"] == "M_BAD_JSON"
    await alice.request("GET", "/room_keys/version", expect=404)

    version = await new_version(alice)
    before = await snapshot(alice, version)
    resp = await alice.request("PUT", f"/room_keys/version/{version}",
                               {"algorithm": ALG, "auth_data": auth_data}, expect=400)
    assert resp["errcode"] == "M_BAD_JSON"
    assert await snapshot(alice, version) == before
    assert (await alice.request("GET", "/room_keys/version"))["version"] == version
