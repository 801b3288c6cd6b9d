"""The end-to-end encryption parts of /sync and /keys/changes: device lists,
one-time key counts, and to-device messages (send_to_device.md)."""

from __future__ import annotations

import asyncio
import time

import httpx

from e2ee_helpers import one_time_keys, upload_device  # type: ignore[import-not-found]
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_device_list_changes_for_room_sharers(client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room = await alice.create_room(invite=[bob.user_id])
    start = await alice.sync()
    await bob.join(room)
    joined = await alice.sync(start["next_batch"])
    validate_response("sync.yaml", "get", "/sync", 200, joined)
    assert bob.user_id in joined["device_lists"]["changed"]

    await upload_device(bob)
    await upload_device(carol)  # shares no room with alice
    changed = await alice.sync(joined["next_batch"])
    assert changed["device_lists"]["changed"] == [bob.user_id]

    keys_changes = await alice.request("GET", "/keys/changes", params={
        "from": start["next_batch"], "to": changed["next_batch"]})
    validate_response("keys.yaml", "get", "/keys/changes", 200, keys_changes)
    assert keys_changes["changed"] == [bob.user_id]

    await bob.request("POST", f"/rooms/{room}/leave", {})
    left = await alice.sync(changed["next_batch"])
    assert left["device_lists"]["left"] == [bob.user_id]
    assert bob.user_id not in left["device_lists"]["changed"]


async def test_own_other_device_changes_are_reported(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    await alice.create_room()
    first = await alice.sync()
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse"})
    other = type(alice)(client, alice.user_id, login.json()["device_id"], login.json()["access_token"])
    await upload_device(other)
    second = await alice.sync(first["next_batch"])
    assert alice.user_id in second["device_lists"]["changed"]


async def test_long_poll_wakes_on_key_change_but_not_on_counts(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(invite=[bob.user_id])
    await bob.join(room)
    since = (await alice.sync())["next_batch"]
    # A count change alone (alice's own one-time keys) must not end the poll.
    key = await upload_device(alice)
    since = (await alice.sync(since))["next_batch"]
    t0 = time.monotonic()
    await alice.request("POST", "/keys/upload", {"one_time_keys": one_time_keys(alice, key, 1)})
    quiet = await alice.sync(since, timeout=300)
    assert time.monotonic() - t0 >= 0.25
    assert quiet["device_one_time_keys_count"]["signed_curve25519"] == 1

    poll = asyncio.create_task(alice.sync(since, timeout=10000))
    await asyncio.sleep(0.1)
    await upload_device(bob)
    woke = await asyncio.wait_for(poll, 5)
    assert bob.user_id in woke["device_lists"]["changed"]


async def test_to_device_delivery_acknowledgement_and_txn(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    first = await bob.sync()
    path = "/sendToDevice/m.room_key_request/txn1"
    body = {"messages": {bob.user_id: {bob.device_id: {"n": 1}}}}
    assert await alice.request("PUT", path, body) == {}
    await alice.request("PUT", path, body)  # same txnId: not sent twice
    await alice.request("PUT", "/sendToDevice/m.custom/txn2",
                        {"messages": {bob.user_id: {"*": {"n": 2}}}})
    got = await bob.sync(first["next_batch"])
    validate_response("sync.yaml", "get", "/sync", 200, got)
    assert got["to_device"]["events"] == [
        {"sender": alice.user_id, "type": "m.room_key_request", "content": {"n": 1}},
        {"sender": alice.user_id, "type": "m.custom", "content": {"n": 2}}]
    # Repeating the same since token (a lost response) delivers them again.
    again = await bob.sync(first["next_batch"])
    assert len(again["to_device"]["events"]) == 2
    # Syncing from the delivery position acknowledges and removes them.
    after = await bob.sync(again["next_batch"])
    assert after["to_device"]["events"] == []


async def test_to_device_per_sync_limit_keeps_the_rest(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    since = (await bob.sync())["next_batch"]
    for i in range(130):
        await alice.request("PUT", f"/sendToDevice/m.x/t{i}",
                            {"messages": {bob.user_id: {bob.device_id: {"i": i}}}})
    received = []
    for _ in range(3):
        body = await bob.sync(since)
        received += [e["content"]["i"] for e in body["to_device"]["events"]]
        since = body["next_batch"]
    assert received == list(range(130))


async def test_a_retried_sync_never_loses_the_second_page(client: httpx.AsyncClient) -> None:
    # More than one response's worth waits and nothing else happens: every
    # page needs a token of its own, or retrying the request that fetched the
    # second page would count as having received it (send_to_device.md: only
    # the next_batch of the response that carried a message acknowledges it).
    alice, bob = await register(client, "alice"), await register(client, "bob")
    start = (await bob.sync())["next_batch"]
    for i in range(150):
        await alice.request("PUT", f"/sendToDevice/m.x/t{i}",
                            {"messages": {bob.user_id: {bob.device_id: {"i": i}}}})
    first = await bob.sync(start)
    assert [e["content"]["i"] for e in first["to_device"]["events"]] == list(range(100))
    second = await bob.sync(first["next_batch"])
    assert [e["content"]["i"] for e in second["to_device"]["events"]] == list(range(100, 150))
    assert second["next_batch"] != first["next_batch"]
    # The response to the second request was lost: the client asks again.
    retried = await bob.sync(first["next_batch"])
    assert [e["content"]["i"] for e in retried["to_device"]["events"]] == list(range(100, 150))
    done = await bob.sync(retried["next_batch"])
    assert done["to_device"]["events"] == []
    # A token without a to-device mark still works, and acknowledges nothing new.
    quiet = await bob.sync(done["next_batch"], timeout=0)
    assert quiet["to_device"]["events"] == []


async def test_to_device_wakes_long_poll(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    since = (await bob.sync())["next_batch"]
    poll = asyncio.create_task(bob.sync(since, timeout=10000))
    await asyncio.sleep(0.1)
    await alice.request("PUT", "/sendToDevice/m.x/t", {"messages": {bob.user_id: {"*": {}}}})
    woke = await asyncio.wait_for(poll, 5)
    assert len(woke["to_device"]["events"]) == 1


async def test_to_device_bad_body_is_rejected(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    resp = await alice.request("PUT", "/sendToDevice/m.x/t", {"messages": {"@a:b": "x"}}, expect=400)
    assert resp["errcode"] == "M_BAD_JSON"


async def test_an_oversized_to_device_message_is_refused_whole(client: httpx.AsyncClient) -> None:
    # Content up to the size of a room event is fine; beyond it the whole
    # request is refused and nothing of it is queued.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    since = (await bob.sync())["next_batch"]
    big = {"blob": "x" * 70_000}
    resp = await alice.request("PUT", "/sendToDevice/m.x/big", {"messages": {bob.user_id: {
        bob.device_id: big, "*": {"small": True}}}}, expect=413)
    assert resp["errcode"] == "M_TOO_LARGE"
    await alice.request("PUT", "/sendToDevice/m.x/fits", {"messages": {bob.user_id: {
        bob.device_id: {"blob": "x" * 60_000}}}})
    got = await bob.sync(since)
    assert [len(e["content"]["blob"]) for e in got["to_device"]["events"]] == [60_000]


async def test_deleted_device_loses_its_queue(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await alice.request("PUT", "/sendToDevice/m.x/t", {"messages": {bob.user_id: {"*": {}}}})
    await bob.request("POST", "/logout")
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bob"},
        "password": "correct horse", "device_id": bob.device_id})
    again = type(bob)(client, bob.user_id, bob.device_id, login.json()["access_token"])
    assert (await again.sync())["to_device"]["events"] == []
