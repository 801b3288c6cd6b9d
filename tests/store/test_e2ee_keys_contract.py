"""KeyStore: device keys, one-time keys handed out exactly once, fallback keys
(keys.yaml /keys/upload, /keys/query, /keys/claim)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kith.e2ee.validation import OneTimeKey
from kith.errors import MatrixError
from kith.store.accounts import AccountStore
from kith.store.database import Database
from kith.store.e2ee_device_lists import DeviceListStore
from kith.store.e2ee_keys import KeyStore

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
ALG = "signed_curve25519"


def otk(n: int, value: str | None = None) -> OneTimeKey:
    return OneTimeKey(ALG, f"{ALG}:K{n:03d}", {"key": value or f"key{n}"})


def fallback(n: int) -> OneTimeKey:
    return OneTimeKey(ALG, f"{ALG}:F{n:03d}", {"key": f"fallback{n}", "fallback": True})


@pytest.fixture
async def keys(db: Database) -> KeyStore:
    accounts = AccountStore(db)
    for user in (ALICE, BOB):
        await accounts.create_user(user, None)
    await accounts.upsert_device(ALICE, "PHONE", "Alice's phone")
    await accounts.upsert_device(ALICE, "LAPTOP", None)
    return KeyStore(db)


def claimed_ids(result: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    return [key_id for devices in result.values() for found in devices.values()
            for key_id in found]


async def test_a_claimed_one_time_key_is_never_handed_out_again(keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", None, [otk(n) for n in range(3)], [])
    assert await keys.one_time_key_counts(ALICE, "PHONE") == {ALG: 3}
    handed_out = []
    for remaining in (2, 1, 0):
        result = await keys.claim([(ALICE, "PHONE", ALG)])
        handed_out += claimed_ids(result)
        assert await keys.one_time_key_counts(ALICE, "PHONE") == ({ALG: remaining}
                                                                   if remaining else {})
    assert sorted(handed_out) == [otk(n).key_id for n in range(3)]
    assert await keys.claim([(ALICE, "PHONE", ALG)]) == {}


async def test_concurrent_claims_never_share_a_key(keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", None, [otk(n) for n in range(5)], [])
    results = await asyncio.gather(*(keys.claim([(ALICE, "PHONE", ALG)]) for _ in range(8)))
    ids = [key_id for result in results for key_id in claimed_ids(result)]
    assert sorted(ids) == [otk(n).key_id for n in range(5)]


async def test_the_fallback_key_is_handed_out_when_no_one_time_key_is_left(
        keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", None, [otk(1)], [fallback(1)])
    assert await keys.unused_fallback_types(ALICE, "PHONE") == [ALG]
    assert claimed_ids(await keys.claim([(ALICE, "PHONE", ALG)])) == [otk(1).key_id]
    assert await keys.unused_fallback_types(ALICE, "PHONE") == [ALG]
    for _ in range(2):  # a fallback key is reused until replaced, but marked used
        result = await keys.claim([(ALICE, "PHONE", ALG)])
        assert result == {ALICE: {"PHONE": {fallback(1).key_id: fallback(1).value}}}
    assert await keys.unused_fallback_types(ALICE, "PHONE") == []
    await keys.upload(ALICE, "PHONE", None, [], [fallback(1)])     # the same again: still used
    assert await keys.unused_fallback_types(ALICE, "PHONE") == []
    await keys.upload(ALICE, "PHONE", None, [], [fallback(2)])     # a new one: unused
    assert await keys.unused_fallback_types(ALICE, "PHONE") == [ALG]
    assert claimed_ids(await keys.claim([(ALICE, "PHONE", ALG)])) == [fallback(2).key_id]


async def test_one_claim_covers_several_devices_and_skips_those_without_keys(
        keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", None, [otk(1)], [])
    await keys.upload(ALICE, "LAPTOP", None, [otk(2)], [])
    result = await keys.claim([(ALICE, "PHONE", ALG), (ALICE, "LAPTOP", ALG),
                               (BOB, "NONE", ALG), (ALICE, "PHONE", "curve25519")])
    assert result == {ALICE: {"PHONE": {otk(1).key_id: otk(1).value},
                              "LAPTOP": {otk(2).key_id: otk(2).value}}}


async def test_an_upload_is_all_or_nothing_and_a_changed_key_id_is_refused(
        keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", None, [otk(1)], [])
    await keys.upload(ALICE, "PHONE", None, [otk(1)], [])          # a retry: accepted
    with pytest.raises(MatrixError) as refused:
        await keys.upload(ALICE, "PHONE", {"keys": {}}, [otk(2), otk(1, "different")],
                          [fallback(1)])
    assert refused.value.errcode == "M_INVALID_PARAM"
    assert await keys.one_time_key_counts(ALICE, "PHONE") == {ALG: 1}
    assert await keys.unused_fallback_types(ALICE, "PHONE") == []
    assert await keys.device_keys(ALICE, "PHONE") is None


async def test_device_keys_change_only_when_different_and_record_a_device_list_change(
        db: Database, keys: KeyStore) -> None:
    lists = DeviceListStore(db)
    start = db.current_stream_id
    device = {"user_id": ALICE, "device_id": "PHONE", "keys": {"ed25519:PHONE": "abc"}}
    assert await keys.upload(ALICE, "PHONE", device, [], [])
    assert not await keys.upload(ALICE, "PHONE", dict(device), [], [])
    assert await keys.upload(ALICE, "PHONE", {**device, "algorithms": ["x"]}, [], [])
    changes = await lists.changes(start, db.current_stream_id, BOB)
    assert [c.user_id for c in changes] == [ALICE, ALICE]
    assert await keys.device_keys(ALICE, "PHONE") == {**device, "algorithms": ["x"]}


async def test_a_query_returns_keys_with_the_device_name(keys: KeyStore) -> None:
    phone = {"device_id": "PHONE", "keys": {"ed25519:PHONE": "p"}}
    laptop = {"device_id": "LAPTOP", "keys": {"ed25519:LAPTOP": "l"}}
    await keys.upload(ALICE, "PHONE", phone, [], [])
    await keys.upload(ALICE, "LAPTOP", laptop, [], [])
    assert await keys.query({ALICE: [], BOB: []}) == {
        ALICE: {"PHONE": {**phone, "unsigned": {"device_display_name": "Alice's phone"}},
                "LAPTOP": laptop},
        BOB: {}}
    assert await keys.query({ALICE: ["LAPTOP", "GONE"]}) == {ALICE: {"LAPTOP": laptop}}


async def test_deleting_a_device_removes_all_its_keys(keys: KeyStore) -> None:
    await keys.upload(ALICE, "PHONE", {"device_id": "PHONE"}, [otk(1)], [fallback(1)])
    await keys.upload(ALICE, "LAPTOP", {"device_id": "LAPTOP"}, [otk(2)], [])
    await keys.delete_devices(ALICE, ["PHONE"])
    assert await keys.device_keys(ALICE, "PHONE") is None
    assert await keys.one_time_key_counts(ALICE, "PHONE") == {}
    assert await keys.unused_fallback_types(ALICE, "PHONE") == []
    assert await keys.claim([(ALICE, "PHONE", ALG)]) == {}
    assert await keys.one_time_key_counts(ALICE, "LAPTOP") == {ALG: 1}
