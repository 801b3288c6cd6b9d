"""/keys/upload, /keys/query, /keys/claim (keys.yaml) and device deletion."""

from __future__ import annotations

import asyncio
import copy

import httpx

from e2ee_helpers import (  # type: ignore[import-not-found]
    curve_key, device_keys, device_signing_key, one_time_keys, sign_json, upload_device,
)
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_upload_and_query_device_keys(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = device_signing_key(alice)
    body = {"device_keys": device_keys(alice, key), "one_time_keys": one_time_keys(alice, key, 3),
            "fallback_keys": one_time_keys(alice, key, 1, start=100, fallback=True)}
    result = await alice.request("POST", "/keys/upload", body)
    validate_response("keys.yaml", "post", "/keys/upload", 200, result)
    assert result["one_time_key_counts"]["signed_curve25519"] == 3
    # The same request again (a retry) is accepted and changes nothing.
    assert (await alice.request("POST", "/keys/upload", body))["one_time_key_counts"] == \
        result["one_time_key_counts"]

    await alice.request("PUT", f"/devices/{alice.device_id}", {"display_name": "Laptop"})
    query = await bob.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    validate_response("keys.yaml", "post", "/keys/query", 200, query)
    got = query["device_keys"][alice.user_id][alice.device_id]
    assert got["keys"] == body["device_keys"]["keys"]
    assert got["signatures"] == body["device_keys"]["signatures"]
    assert got["unsigned"] == {"device_display_name": "Laptop"}
    assert query["failures"] == {}
    only = await bob.request("POST", "/keys/query",
                             {"device_keys": {alice.user_id: ["NOPE"]}})
    assert only["device_keys"][alice.user_id] == {}


async def test_bad_device_keys_are_rejected_and_change_nothing(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = device_signing_key(alice)
    good = device_keys(alice, key)

    tampered = copy.deepcopy(good)
    tampered["algorithms"] = ["m.olm.v1.curve25519-aes-sha2"]
    resp = await alice.request("POST", "/keys/upload", {"device_keys": tampered}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"

    # Someone else's device.
    resp = await bob.request("POST", "/keys/upload", {"device_keys": good}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"

    malformed = dict(good, keys="not an object")
    resp = await alice.request("POST", "/keys/upload", {"device_keys": malformed}, expect=400)
    assert resp["errcode"] == "M_BAD_JSON"

    unsigned = {k: v for k, v in good.items() if k != "signatures"}
    resp = await alice.request("POST", "/keys/upload", {"device_keys": unsigned}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"

    # A good device key with a badly signed one-time key: nothing is stored.
    otks = one_time_keys(alice, device_signing_key(alice), 1)
    resp = await alice.request("POST", "/keys/upload",
                               {"device_keys": good, "one_time_keys": otks}, expect=400)
    query = await bob.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert query["device_keys"][alice.user_id] == {}


async def test_reuploading_a_one_time_key_with_other_content_is_400(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    key = await upload_device(alice)
    await alice.request("POST", "/keys/upload", {"one_time_keys": one_time_keys(alice, key, 2)})
    # Same key ID, another (properly signed, well-formed) key.
    clash = {"signed_curve25519:AAAA0000": sign_json({"key": curve_key("other")},
                                                     alice.user_id, key)}
    resp = await alice.request("POST", "/keys/upload", {"one_time_keys": clash}, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"
    sync = await alice.sync()
    assert sync["device_one_time_keys_count"]["signed_curve25519"] == 2


async def test_claim_hands_out_each_key_once_then_the_fallback(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await upload_device(alice)
    await alice.request("POST", "/keys/upload", {
        "one_time_keys": one_time_keys(alice, key, 2),
        "fallback_keys": one_time_keys(alice, key, 1, start=900, fallback=True)})
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    seen = []
    for _ in range(4):
        result = await bob.request("POST", "/keys/claim", want)
        validate_response("keys.yaml", "post", "/keys/claim", 200, result)
        (key_id, value), = result["one_time_keys"][alice.user_id][alice.device_id].items()
        seen.append(key_id)
    assert seen[:2] == ["signed_curve25519:AAAA0000", "signed_curve25519:AAAA0001"]
    assert seen[2] == seen[3] == "signed_curve25519:AAAA0900"
    assert value["fallback"] is True
    sync = await alice.sync()
    assert sync["device_one_time_keys_count"]["signed_curve25519"] == 0
    assert sync["device_unused_fallback_key_types"] == []


async def test_concurrent_claims_never_share_a_key(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    claimers = [await register(client, f"c{i}") for i in range(5)]
    key = await upload_device(alice)
    await alice.request("POST", "/keys/upload", {
        "one_time_keys": one_time_keys(alice, key, 20),
        "fallback_keys": one_time_keys(alice, key, 1, start=900, fallback=True)})
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    results = await asyncio.gather(
        *(claimers[i % 5].request("POST", "/keys/claim", want) for i in range(50)))
    ids = [next(iter(r["one_time_keys"][alice.user_id][alice.device_id])) for r in results]
    one_time = [i for i in ids if i != "signed_curve25519:AAAA0900"]
    assert len(one_time) == 20 and len(set(one_time)) == 20
    assert ids.count("signed_curve25519:AAAA0900") == 30


async def test_deleting_a_device_removes_its_keys(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await upload_device(alice)
    await alice.request("POST", "/keys/upload", {"one_time_keys": one_time_keys(alice, key, 2)})
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    before = await bob.sync()
    await alice.request("POST", "/logout")
    after = await bob.sync(before["next_batch"])
    assert alice.user_id in after["device_lists"]["changed"]
    query = await bob.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert query["device_keys"][alice.user_id] == {}
    want = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    assert (await bob.request("POST", "/keys/claim", want))["one_time_keys"] == {}


async def test_renaming_a_device_is_a_device_list_change(client: httpx.AsyncClient) -> None:
    """The name is part of what /keys/query returns (unsigned.device_display_name),
    so others are told to query again (end_to_end_encryption.md device_lists)."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await upload_device(alice)
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    since = (await bob.sync())["next_batch"]
    poll = asyncio.create_task(bob.sync(since, timeout=10000))
    await asyncio.sleep(0.1)
    await alice.request("PUT", f"/devices/{alice.device_id}", {"display_name": "Laptop"})
    woke = await asyncio.wait_for(poll, 5)
    assert woke["device_lists"]["changed"] == [alice.user_id]
    query = await bob.request("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    assert query["device_keys"][alice.user_id][alice.device_id]["unsigned"] == \
        {"device_display_name": "Laptop"}

    # No name given (device_management.yaml: unchanged) or the same name: no change.
    await alice.request("PUT", f"/devices/{alice.device_id}", {})
    await alice.request("PUT", f"/devices/{alice.device_id}", {"display_name": "Laptop"})
    quiet = await bob.sync(woke["next_batch"])
    assert quiet["device_lists"]["changed"] == []
    assert (await alice.request("GET", f"/devices/{alice.device_id}"))["display_name"] == "Laptop"
    missing = await alice.request("PUT", "/devices/NOPE", {"display_name": "x"}, expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"
