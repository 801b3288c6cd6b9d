"""Bad input to the end-to-end encryption endpoints gets the right error and
changes nothing: after every refused request, what other devices can see
(/keys/query, /keys/claim, the backup's count) is exactly what it was."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from e2ee_helpers import (  # type: ignore[import-not-found]
    cross_key, cross_signing_key, curve_key, device_keys, device_signing_key, one_time_keys, public,
    sign_json, upload_device,
)
from matrix import User, register  # type: ignore[import-not-found]

CLAIM = "signed_curve25519"


async def _otk_count(user: User) -> int:
    sync = await user.sync()
    return int(sync["device_one_time_keys_count"].get(CLAIM, 0))


async def _claimable(claimer: User, owner: User) -> dict[str, Any]:
    want = {"one_time_keys": {owner.user_id: {owner.device_id: CLAIM}}}
    result = await claimer.request("POST", "/keys/claim", want)
    return dict(result["one_time_keys"].get(owner.user_id, {}).get(owner.device_id, {}))


def _signed(user: User, key: Any, value: dict[str, Any]) -> dict[str, Any]:
    return dict(sign_json(value, user.user_id, key))


# Each case: a one_time_keys / fallback_keys body built from (user, device key),
# the errcode it must get.
BAD_KEYS: list[tuple[str, Any, str]] = [
    ("signed key as a bare string",
     lambda u, k: {"one_time_keys": {f"{CLAIM}:A1": curve_key("a")}}, "M_BAD_JSON"),
    ("curve25519 key that is not a key",
     lambda u, k: {"one_time_keys": {"curve25519:A1": "notakey"}}, "M_INVALID_PARAM"),
    ("signed key whose key is not base64 of 32 bytes",
     lambda u, k: {"one_time_keys": {f"{CLAIM}:A1": _signed(u, k, {"key": "notakey"})}},
     "M_INVALID_PARAM"),
    ("signed key without a signature",
     lambda u, k: {"one_time_keys": {f"{CLAIM}:A1": {"key": curve_key("a")}}}, "M_INVALID_PARAM"),
    ("signed key signed by another key",
     lambda u, k: {"one_time_keys": {f"{CLAIM}:A1": _signed(
         u, device_signing_key(u), {"key": curve_key("a")})}}, "M_INVALID_PARAM"),
    ("key value of the wrong type",
     lambda u, k: {"one_time_keys": {f"{CLAIM}:A1": 7}}, "M_BAD_JSON"),
    ("key ID without an algorithm",
     lambda u, k: {"one_time_keys": {"A1": curve_key("a")}}, "M_INVALID_PARAM"),
    ("fallback key without fallback: true",
     lambda u, k: {"fallback_keys": {f"{CLAIM}:F1": _signed(u, k, {"key": curve_key("f")})}},
     "M_INVALID_PARAM"),
    ("fallback key as a bare string",
     lambda u, k: {"fallback_keys": {"curve25519:F1": curve_key("f")}}, "M_INVALID_PARAM"),
    ("one_time_keys not an object",
     lambda u, k: {"one_time_keys": [curve_key("a")]}, "M_BAD_JSON"),
]


@pytest.mark.parametrize(("make", "errcode"), [(m, e) for _, m, e in BAD_KEYS],
                         ids=[name for name, _, _ in BAD_KEYS])
async def test_bad_one_time_and_fallback_keys_are_refused(
        client: httpx.AsyncClient, make: Any, errcode: str) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await upload_device(alice)
    resp = await alice.request("POST", "/keys/upload", make(alice, key), expect=400)
    assert resp["errcode"] == errcode
    assert await _otk_count(alice) == 0
    sync = await alice.sync()
    assert sync.get("device_unused_fallback_key_types", []) == []
    assert await _claimable(bob, alice) == {}


async def test_one_time_keys_before_device_keys_are_refused(client: httpx.AsyncClient) -> None:
    # Nothing could check their signatures, and a claimer would start an Olm
    # session with whatever was stored.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = device_signing_key(alice)
    resp = await alice.request("POST", "/keys/upload",
                               {"one_time_keys": one_time_keys(alice, key, 2)}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"
    assert await _claimable(bob, alice) == {}
    # A good batch in the same request as the device keys is fine.
    await alice.request("POST", "/keys/upload", {"device_keys": device_keys(alice, key),
                                                 "one_time_keys": one_time_keys(alice, key, 2)})
    assert await _otk_count(alice) == 2


async def test_one_bad_key_refuses_the_whole_upload(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await upload_device(alice)
    batch = one_time_keys(alice, key, 3)
    batch[f"{CLAIM}:BAD"] = {"key": curve_key("bad")}  # unsigned
    await alice.request("POST", "/keys/upload", {"one_time_keys": batch}, expect=400)
    assert await _otk_count(alice) == 0
    assert await _claimable(bob, alice) == {}


@pytest.mark.parametrize(("path", "body", "errcode"), [
    ("/keys/claim", {"one_time_keys": []}, "M_BAD_JSON"),
    ("/keys/claim", {"one_time_keys": {"@x:localhost": {"DEV": 5}}}, "M_BAD_JSON"),
    ("/keys/claim", {"one_time_keys": {"@x:localhost": []}}, "M_BAD_JSON"),
    ("/keys/claim", {"one_time_keys": {"@x:localhost": {}}, "timeout": "soon"}, "M_BAD_JSON"),
    ("/keys/query", {"device_keys": []}, "M_BAD_JSON"),
    ("/keys/query", {"device_keys": {"@x:localhost": "DEV"}}, "M_BAD_JSON"),
    ("/keys/query", {"device_keys": {"@x:localhost": [5]}}, "M_BAD_JSON"),
    ("/keys/signatures/upload", {"@x:localhost": []}, "M_BAD_JSON"),
    ("/keys/signatures/upload", {"@x:localhost": {"DEV": "signed"}}, "M_BAD_JSON"),
    ("/keys/signatures/upload", [], "M_BAD_JSON"),
])
async def test_malformed_key_requests(client: httpx.AsyncClient, path: str, body: Any,
                                      errcode: str) -> None:
    alice = await register(client, "alice")
    resp = await alice.request("POST", path, body, expect=400)
    assert resp["errcode"] == errcode


async def _cross_sign(user: User) -> dict[str, Any]:
    master, ssk, usk = cross_key(), cross_key(), cross_key()
    body = {"master_key": cross_signing_key(user, "master", master),
            "self_signing_key": cross_signing_key(user, "self_signing", ssk, master),
            "user_signing_key": cross_signing_key(user, "user_signing", usk, master)}
    await user.request("POST", "/keys/device_signing/upload", body)
    return {"master": master, "ssk": ssk, "usk": usk, "body": body}


async def test_forged_and_misdirected_signatures_are_not_stored(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    a_keys, b_keys = await _cross_sign(alice), await _cross_sign(bob)
    await upload_device(bob)
    before = await alice.request("POST", "/keys/query",
                                 {"device_keys": {alice.user_id: [], bob.user_id: []}})

    # A signature of bob's master key by a key that is not alice's user-signing key.
    bob_master = b_keys["body"]["master_key"]
    forged = sign_json(copy.deepcopy(bob_master), alice.user_id, cross_key())
    result = await alice.request("POST", "/keys/signatures/upload",
                                 {bob.user_id: {public(b_keys["master"]): forged}})
    assert result["failures"][bob.user_id][public(b_keys["master"])]["errcode"] == \
        "M_INVALID_SIGNATURE"

    # Alice may sign bob's master key (with her user-signing key), never one of
    # bob's devices: devices are signed only by their owner's self-signing key.
    stored = before["device_keys"][bob.user_id][bob.device_id]
    device = {k: v for k, v in stored.items() if k != "unsigned"}
    by_alice = sign_json(copy.deepcopy(device), alice.user_id, a_keys["usk"])
    result = await alice.request("POST", "/keys/signatures/upload",
                                 {bob.user_id: {bob.device_id: by_alice}})
    assert bob.device_id in result["failures"][bob.user_id]

    # Tampered content under a valid self-signing signature of alice's own key.
    master = a_keys["body"]["master_key"]
    tampered = sign_json(copy.deepcopy(master), alice.user_id, a_keys["ssk"])
    tampered["usage"] = ["master", "self_signing"]
    result = await alice.request("POST", "/keys/signatures/upload",
                                 {alice.user_id: {public(a_keys["master"]): tampered}})
    assert alice.user_id in result["failures"]

    after = await alice.request("POST", "/keys/query",
                                {"device_keys": {alice.user_id: [], bob.user_id: []}})
    assert after == before


async def test_backup_with_unknown_algorithm_is_refused(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    resp = await alice.request("POST", "/room_keys/version",
                               {"algorithm": "m.rot13", "auth_data": {}}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"
    for body in ({"auth_data": {}}, {"algorithm": 5, "auth_data": {}}, {"algorithm": "x"}):
        resp = await alice.request("POST", "/room_keys/version", body, expect=400)
        assert resp["errcode"] == "M_BAD_JSON"
    await alice.request("GET", "/room_keys/version", expect=404)
