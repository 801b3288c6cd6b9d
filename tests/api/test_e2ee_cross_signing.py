"""Cross-signing: /keys/device_signing/upload and /keys/signatures/upload
(cross_signing.yaml), and how /keys/query shows the keys."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from e2ee_helpers import cross_key, cross_signing_key, device_keys, device_signing_key, public, sign_json  # type: ignore[import-not-found]
from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

PASSWORD_AUTH = {"type": "m.login.password", "password": "correct horse"}


async def _setup(user: User) -> dict[str, Any]:
    master, ssk, usk = cross_key(), cross_key(), cross_key()
    body = {"master_key": cross_signing_key(user, "master", master),
            "self_signing_key": cross_signing_key(user, "self_signing", ssk, master),
            "user_signing_key": cross_signing_key(user, "user_signing", usk, master)}
    result = await user.request("POST", "/keys/device_signing/upload", body)
    validate_response("cross_signing.yaml", "post", "/keys/device_signing/upload", 200, result)
    return {"master": master, "ssk": ssk, "usk": usk, "body": body}


async def test_first_upload_needs_no_uia_and_query_shows_keys(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    keys = await _setup(alice)
    # Retrying the identical upload stays free of UIA.
    await alice.request("POST", "/keys/device_signing/upload", keys["body"])

    mine = await alice.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    validate_response("keys.yaml", "post", "/keys/query", 200, mine)
    assert mine["master_keys"][alice.user_id]["keys"] == keys["body"]["master_key"]["keys"]
    assert alice.user_id in mine["self_signing_keys"]
    assert alice.user_id in mine["user_signing_keys"]
    theirs = await bob.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert alice.user_id in theirs["master_keys"] and alice.user_id in theirs["self_signing_keys"]
    assert theirs["user_signing_keys"] == {}


async def test_replacing_keys_needs_password(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    await _setup(alice)
    master = cross_key()
    body: dict[str, Any] = {"master_key": cross_signing_key(alice, "master", master)}
    challenge = await alice.request("POST", "/keys/device_signing/upload", body, expect=401)
    assert challenge["flows"] == [{"stages": ["m.login.password"]}]
    body["auth"] = dict(PASSWORD_AUTH, session=challenge["session"], password="wrong")
    await alice.request("POST", "/keys/device_signing/upload", body, expect=401)
    body["auth"] = dict(PASSWORD_AUTH, session=challenge["session"])
    await alice.request("POST", "/keys/device_signing/upload", body)
    query = await alice.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert query["master_keys"][alice.user_id]["keys"] == body["master_key"]["keys"]


async def test_bad_cross_signing_uploads(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    master, ssk = cross_key(), cross_key()
    # Self-signing key not signed by the master key.
    body = {"master_key": cross_signing_key(alice, "master", master),
            "self_signing_key": cross_signing_key(alice, "self_signing", ssk, cross_key())}
    resp = await alice.request("POST", "/keys/device_signing/upload", body, expect=400)
    assert resp["errcode"] == "M_INVALID_SIGNATURE"
    # No master key anywhere.
    resp = await alice.request("POST", "/keys/device_signing/upload", {
        "self_signing_key": cross_signing_key(alice, "self_signing", ssk, master)}, expect=400)
    assert resp["errcode"] == "M_MISSING_PARAM"
    # A "public key" that is not 32 bytes of unpadded base64.
    resp = await alice.request("POST", "/keys/device_signing/upload", {"master_key": {
        "user_id": alice.user_id, "usage": ["master"], "keys": {"ed25519:x": "x"}}}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"
    query = await alice.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert query["master_keys"] == {}


async def test_signature_uploads(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    a_keys, b_keys = await _setup(alice), await _setup(bob)
    dkey = device_signing_key(alice)
    await alice.request("POST", "/keys/upload", {"device_keys": device_keys(alice, dkey)})
    since = (await bob.sync())["next_batch"]

    stored = (await alice.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}}))
    device = stored["device_keys"][alice.user_id][alice.device_id]
    device.pop("unsigned", None)
    signed_device = sign_json(device, alice.user_id, a_keys["ssk"])
    bob_master = b_keys["body"]["master_key"]
    # sign_json signs in place: give each signature its own copy.
    signed_bob = sign_json(copy.deepcopy(bob_master), alice.user_id, a_keys["usk"])
    forged = sign_json(copy.deepcopy(bob_master), alice.user_id, cross_key())
    result = await alice.request("POST", "/keys/signatures/upload", {
        alice.user_id: {alice.device_id: signed_device, "UNKNOWN": signed_device},
        bob.user_id: {public(b_keys["master"]): signed_bob}})
    validate_response("cross_signing.yaml", "post", "/keys/signatures/upload", 200, result)
    assert list(result["failures"]) == [alice.user_id]
    assert list(result["failures"][alice.user_id]) == ["UNKNOWN"]

    bad = await alice.request("POST", "/keys/signatures/upload", {
        bob.user_id: {public(b_keys["master"]): forged}})
    assert bad["failures"][bob.user_id][public(b_keys["master"])]["errcode"] == "M_INVALID_SIGNATURE"

    ssk_id = f"ed25519:{public(a_keys['ssk'])}"
    seen_by_bob = await bob.request("POST", "/keys/query", {
        "device_keys": {alice.user_id: [], bob.user_id: []}})
    assert ssk_id in seen_by_bob["device_keys"][alice.user_id][alice.device_id]["signatures"][alice.user_id]
    # Alice's signature of bob's master key is for alice only.
    usk_id = f"ed25519:{public(a_keys['usk'])}"
    assert alice.user_id not in seen_by_bob["master_keys"][bob.user_id].get("signatures", {})
    seen_by_alice = await alice.request("POST", "/keys/query", {"device_keys": {bob.user_id: []}})
    assert usk_id in seen_by_alice["master_keys"][bob.user_id]["signatures"][alice.user_id]
    assert alice.user_id in (await bob.sync(since))["device_lists"]["changed"]


async def test_device_signs_own_master_key(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    keys = await _setup(alice)
    dkey = device_signing_key(alice)
    await alice.request("POST", "/keys/upload", {"device_keys": device_keys(alice, dkey)})
    master = copy.deepcopy(keys["body"]["master_key"])
    signed = sign_json(master, alice.user_id, dkey)
    result = await alice.request("POST", "/keys/signatures/upload",
                                 {alice.user_id: {public(keys["master"]): signed}})
    assert result["failures"] == {}
    query = await alice.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    sigs = query["master_keys"][alice.user_id]["signatures"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in sigs
    # A changed object (not the stored key) is refused per key.
    tampered = dict(copy.deepcopy(signed), usage=["master", "other"])
    bad = await alice.request("POST", "/keys/signatures/upload",
                              {alice.user_id: {public(keys["master"]): tampered}})
    assert bad["failures"][alice.user_id][public(keys["master"])]["errcode"] == "M_INVALID_PARAM"
