"""Server-side key backups (key_backup.yaml)."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

ALG = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!room:localhost"
AUTH = {"public_key": "abc"}


def key(first: int, forwarded: int, verified: bool, tag: str) -> dict[str, Any]:
    return {"first_message_index": first, "forwarded_count": forwarded, "is_verified": verified,
            "session_data": {"ciphertext": tag}}


async def test_backup_version_lifecycle(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    missing = await alice.request("GET", "/room_keys/version", expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
    created = await alice.request("POST", "/room_keys/version",
                                  {"algorithm": ALG, "auth_data": {"public_key": "abc"}})
    validate_response("key_backup.yaml", "post", "/room_keys/version", 200, created)
    version = created["version"]
    info = await alice.request("GET", "/room_keys/version")
    validate_response("key_backup.yaml", "get", "/room_keys/version", 200, info)
    assert info["version"] == version and info["count"] == 0 and info["auth_data"]["public_key"] == "abc"

    await alice.request("PUT", f"/room_keys/version/{version}",
                        {"algorithm": ALG, "auth_data": {"public_key": "def"}, "version": version})
    mismatch = await alice.request("PUT", f"/room_keys/version/{version}", {
        "algorithm": ALG, "auth_data": AUTH, "version": "999"}, expect=400)
    assert mismatch["errcode"] == "M_INVALID_PARAM"
    assert (await alice.request("GET", f"/room_keys/version/{version}"))["auth_data"] == \
        {"public_key": "def"}
    await alice.request("GET", "/room_keys/version/999", expect=404)
    await alice.request("DELETE", f"/room_keys/version/{version}")
    await alice.request("GET", f"/room_keys/version/{version}", expect=404)
    await alice.request("GET", "/room_keys/version", expect=404)


async def test_backup_keys_keep_the_better_copy(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    version = (await alice.request("POST", "/room_keys/version",
                                   {"algorithm": ALG, "auth_data": AUTH}))["version"]
    params = {"version": version}
    put = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s1", key(5, 1, False, "a"),
                              params=params)
    validate_response("key_backup.yaml", "put", "/room_keys/keys/{roomId}/{sessionId}", 200, put)
    assert put["count"] == 1
    # Worse: higher index. Not kept, etag unchanged.
    same = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s1", key(9, 0, False, "b"),
                               params=params)
    assert same == put
    # Better: lower forwarded_count at the same index; then verified beats all.
    await alice.request("PUT", f"/room_keys/keys/{ROOM}", {"sessions": {"s1": key(5, 0, False, "c")}},
                        params=params)
    assert (await alice.request("GET", f"/room_keys/keys/{ROOM}/s1", params=params))[
        "session_data"] == {"ciphertext": "c"}
    last = await alice.request("PUT", "/room_keys/keys", {"rooms": {ROOM: {"sessions": {
        "s1": key(50, 3, True, "d"), "s2": key(0, 0, False, "e")}}}}, params=params)
    assert last["count"] == 2 and last["etag"] != put["etag"]
    everything = await alice.request("GET", "/room_keys/keys", params=params)
    validate_response("key_backup.yaml", "get", "/room_keys/keys", 200, everything)
    assert everything["rooms"][ROOM]["sessions"]["s1"]["session_data"] == {"ciphertext": "d"}
    assert (await alice.request("GET", "/room_keys/keys/!other:x", params=params)) == {"sessions": {}}
    await alice.request("GET", f"/room_keys/keys/{ROOM}/nope", params=params, expect=404)
    # Another user's backup is invisible.
    await bob.request("GET", "/room_keys/keys", params=params, expect=404)

    # Deleting keys changes the etag (key_backup.yaml: it represents the stored
    # keys), both in the response and in the version's info.
    deleted = await alice.request("DELETE", f"/room_keys/keys/{ROOM}/s2", params=params)
    validate_response("key_backup.yaml", "delete", "/room_keys/keys/{roomId}/{sessionId}", 200,
                      deleted)
    assert deleted["count"] == 1 and deleted["etag"] != last["etag"]
    info = await alice.request("GET", "/room_keys/version")
    assert (info["count"], info["etag"]) == (1, deleted["etag"])
    emptied = await alice.request("DELETE", "/room_keys/keys", params=params)
    validate_response("key_backup.yaml", "delete", "/room_keys/keys", 200, emptied)
    assert emptied["count"] == 0 and emptied["etag"] not in (deleted["etag"], last["etag"])
    info = await alice.request("GET", "/room_keys/version")
    assert (info["count"], info["etag"]) == (0, emptied["etag"])
    # Deleting what is not there changes nothing.
    again = await alice.request("DELETE", f"/room_keys/keys/{ROOM}", params=params)
    assert again == emptied


async def test_writing_to_an_old_version_is_403(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    old = (await alice.request("POST", "/room_keys/version", {"algorithm": ALG, "auth_data": AUTH}))["version"]
    new = (await alice.request("POST", "/room_keys/version", {"algorithm": ALG, "auth_data": AUTH}))["version"]
    resp = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s1", key(0, 0, False, "x"),
                               params={"version": old}, expect=403)
    assert resp["errcode"] == "M_WRONG_ROOM_KEYS_VERSION" and resp["current_version"] == new
    bad = await alice.request("PUT", f"/room_keys/keys/{ROOM}/s1", {"first_message_index": "0"},
                              params={"version": new}, expect=400)
    assert bad["errcode"] == "M_BAD_JSON"
    assert (await alice.request("GET", "/room_keys/version"))["count"] == 0
