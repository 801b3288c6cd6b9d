"""A device ID's keys belong to one identity (end_to_end_encryption.md "Device
keys"): when the identity keys change, or a new login takes the device ID, or
the device is gone, nothing signed by or for the old identity is handed out."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from signedjson.key import get_verify_key
from signedjson.sign import verify_signed_json
from signedjson.types import SigningKey

from e2ee_helpers import (  # type: ignore[import-not-found]
    ALGORITHMS, cross_key, cross_signing_key, curve_key, device_keys, device_signing_key,
    one_time_keys, public, sign_json,
)
from kith.app import App
from matrix import User, register  # type: ignore[import-not-found]

CURVE = "signed_curve25519"


async def keyed_device(user: User) -> SigningKey:
    """Device keys, three one-time keys and a fallback key."""
    key = device_signing_key(user)
    await user.request("POST", "/keys/upload", {
        "device_keys": device_keys(user, key), "one_time_keys": one_time_keys(user, key, 3),
        "fallback_keys": one_time_keys(user, key, 1, start=900, fallback=True)})
    return key


async def cross_sign(user: User, key: SigningKey) -> str:
    """Cross-signing keys; the self-signing key signs the device and the device
    signs the master key. Returns the self-signing key's ID."""
    master, ssk = cross_key(), cross_key()
    body = {"master_key": cross_signing_key(user, "master", master),
            "self_signing_key": cross_signing_key(user, "self_signing", ssk, master)}
    await user.request("POST", "/keys/device_signing/upload", body)
    device = (await user.request("POST", "/keys/query", {"device_keys": {user.user_id: []}})
              )["device_keys"][user.user_id][user.device_id]
    device.pop("unsigned", None)
    result = await user.request("POST", "/keys/signatures/upload", {user.user_id: {
        user.device_id: sign_json(device, user.user_id, ssk),
        public(master): sign_json(copy.deepcopy(body["master_key"]), user.user_id, key)}})
    assert result["failures"] == {}
    return f"ed25519:{public(ssk)}"


async def signatures(viewer: User, user: User) -> tuple[dict[str, str], dict[str, str]]:
    """(signatures by user on the device, signatures by user on the master key)."""
    query = await viewer.request("POST", "/keys/query", {"device_keys": {user.user_id: []}})
    device = query["device_keys"][user.user_id].get(user.device_id, {})
    master = query["master_keys"][user.user_id]
    return (device.get("signatures", {}).get(user.user_id, {}),
            master.get("signatures", {}).get(user.user_id, {}))


async def claim(claimer: User, user: User) -> dict[str, Any]:
    want = {"one_time_keys": {user.user_id: {user.device_id: CURVE}}}
    result = await claimer.request("POST", "/keys/claim", want)
    return dict(result["one_time_keys"].get(user.user_id, {}).get(user.device_id, {}))


async def test_new_identity_keys_drop_what_the_old_ones_signed(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    old = await keyed_device(alice)
    ssk_id = await cross_sign(alice, old)
    on_device, on_master = await signatures(bob, alice)
    assert ssk_id in on_device and f"ed25519:{alice.device_id}" in on_master
    since = (await bob.sync())["next_batch"]

    new = device_signing_key(alice)
    counts = await alice.request("POST", "/keys/upload", {"device_keys": device_keys(alice, new)})
    assert counts["one_time_key_counts"][CURVE] == 0
    sync = await alice.sync()
    assert sync["device_one_time_keys_count"].get(CURVE, 0) == 0
    assert sync["device_unused_fallback_key_types"] == []
    assert await claim(bob, alice) == {}  # neither a one-time nor the fallback key
    on_device, on_master = await signatures(bob, alice)
    assert list(on_device) == [f"ed25519:{alice.device_id}"]  # its own, by the new key
    assert f"ed25519:{alice.device_id}" not in on_master
    assert alice.user_id in (await bob.sync(since))["device_lists"]["changed"]

    # Keys signed by the new identity key are handed out and verify.
    await alice.request("POST", "/keys/upload", {"one_time_keys": one_time_keys(alice, new, 1)})
    (key_id, otk), = (await claim(bob, alice)).items()
    verify_signed_json(otk, alice.user_id, get_verify_key(new))


async def test_new_identity_keys_keep_keys_uploaded_with_them(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await keyed_device(alice)
    new = device_signing_key(alice)
    counts = await alice.request("POST", "/keys/upload", {
        "device_keys": device_keys(alice, new), "one_time_keys": one_time_keys(alice, new, 2)})
    assert counts["one_time_key_counts"][CURVE] == 2
    for _ in range(2):
        (_, otk), = (await claim(bob, alice)).items()
        verify_signed_json(otk, alice.user_id, get_verify_key(new))
    assert await claim(bob, alice) == {}


async def test_a_new_curve25519_key_alone_is_a_new_identity(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await keyed_device(alice)
    changed = copy.deepcopy(device_keys(alice, key))
    changed.pop("signatures")
    changed["keys"][f"curve25519:{alice.device_id}"] = curve_key("another olm account")
    await alice.request("POST", "/keys/upload", {"device_keys": sign_json(changed, alice.user_id, key)})
    assert await claim(bob, alice) == {}


async def test_same_identity_keys_keep_one_time_keys(client: httpx.AsyncClient) -> None:
    """Other changes to the device keys (here its algorithms) are no new identity."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await keyed_device(alice)
    ssk_id = await cross_sign(alice, key)
    more = {k: v for k, v in device_keys(alice, key).items() if k != "signatures"}
    more["algorithms"] = [*ALGORITHMS, "m.megolm.v2.aes-sha2"]
    counts = await alice.request("POST", "/keys/upload",
                                 {"device_keys": sign_json(more, alice.user_id, key)})
    assert counts["one_time_key_counts"][CURVE] == 3
    assert ssk_id in (await signatures(bob, alice))[0]
    assert list(await claim(bob, alice)) == [f"{CURVE}:AAAA0000"]


async def test_logging_in_again_with_the_device_id_starts_afresh(client: httpx.AsyncClient) -> None:
    """client-server-api "Relationship between access tokens and devices": the
    old tokens go, and so does what was held for the device's old holder."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    key = await keyed_device(alice)
    ssk_id = await cross_sign(alice, key)
    await bob.request("PUT", "/sendToDevice/m.test/t1",
                      {"messages": {alice.user_id: {alice.device_id: {"n": 1}}}})
    queued = (await alice.sync())["to_device"]["events"]  # delivered, not yet acknowledged
    assert [e["content"] for e in queued] == [{"n": 1}]

    response = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse", "device_id": alice.device_id})
    assert response.status_code == 200, response.text
    again = User(client, alice.user_id, response.json()["device_id"], response.json()["access_token"])
    assert again.device_id == alice.device_id
    assert (await alice.request("GET", "/account/whoami", expect=401))["errcode"] == "M_UNKNOWN_TOKEN"

    assert await claim(bob, again) == {}
    sync = await again.sync()
    assert sync["to_device"]["events"] == []
    assert sync["device_one_time_keys_count"].get(CURVE, 0) == 0
    assert sync["device_unused_fallback_key_types"] == []
    # Uploading the same keys again makes it the same device, but the
    # signatures on it were for its former holder.
    await again.request("POST", "/keys/upload", {"device_keys": device_keys(again, key)})
    assert ssk_id not in (await signatures(bob, again))[0]


async def test_a_device_without_its_row_has_no_keys_to_claim(client: httpx.AsyncClient,
                                                            app: App) -> None:
    """Deletion removes the device, then its keys: in between, its keys are
    not handed out."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await keyed_device(alice)
    await app.accounts.store.delete_devices(alice.user_id, [alice.device_id])  # the row only
    left = app.db.read_sync(lambda cur: cur.execute(
        "SELECT COUNT(*) FROM e2ee_one_time_keys WHERE user_id = ?", (alice.user_id,)).fetchone())
    assert left[0] == 3
    assert await claim(bob, alice) == {}
    left = app.db.read_sync(lambda cur: cur.execute(
        "SELECT COUNT(*) FROM e2ee_one_time_keys WHERE user_id = ?", (alice.user_id,)).fetchone())
    assert left[0] == 3  # nothing was used up either
