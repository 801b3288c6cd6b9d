"""AccountStore: users, devices, access tokens (looked up by their hash) and
registration tokens."""

from __future__ import annotations

import pytest

from kith.http.asgi import hash_token
from kith.store.accounts import AccountStore, TokenOwner, UserExists, now_ms
from kith.store.database import Database
from storekit import Backend  # type: ignore[import-not-found]

ALICE = "@alice:store.test"
BOB = "@bob:store.test"


@pytest.fixture
def accounts(db: Database) -> AccountStore:
    return AccountStore(db)


async def test_a_user_is_created_once(accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, "hash", is_admin=True, displayname="Alice")
    with pytest.raises(UserExists):
        await accounts.create_user(ALICE, None)
    user = await accounts.get_user(ALICE)
    assert user is not None
    assert (user.password_hash, user.is_admin, user.deactivated, user.displayname) == \
        ("hash", True, False, "Alice")
    assert await accounts.user_id_taken(ALICE) and not await accounts.user_id_taken(BOB)
    assert await accounts.get_user(BOB) is None
    assert await accounts.count_users() == 1


async def test_a_device_keeps_its_name_unless_given_a_new_one(accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, None)
    await accounts.upsert_device(ALICE, "PHONE", "Phone")
    await accounts.upsert_device(ALICE, "PHONE", None)          # a new login on the device
    await accounts.upsert_device(ALICE, "LAPTOP", None)
    assert [(d.device_id, d.display_name) for d in await accounts.get_devices(ALICE)] == \
        [("LAPTOP", None), ("PHONE", "Phone")]
    assert await accounts.set_device_name(ALICE, "LAPTOP", "Laptop")
    assert not await accounts.set_device_name(ALICE, "TABLET", "Tablet")
    device = await accounts.get_device(ALICE, "LAPTOP")
    assert device is not None and device.display_name == "Laptop"
    await accounts.touch_device(ALICE, "LAPTOP", "192.0.2.1")
    device = await accounts.get_device(ALICE, "LAPTOP")
    assert device is not None and device.last_seen_ip == "192.0.2.1"
    assert await accounts.get_device(BOB, "LAPTOP") is None


async def test_devices_are_listed_in_code_point_order_of_their_ids(
        accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, None)
    for device in ("b", "B", "a", "Ä", "_", "1"):
        await accounts.upsert_device(ALICE, device, None)
    assert [d.device_id for d in await accounts.get_devices(ALICE)] == \
        ["1", "B", "_", "a", "b", "Ä"]


async def test_a_token_is_found_by_its_hash_until_its_device_goes(accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, None, is_admin=True)
    await accounts.upsert_device(ALICE, "PHONE", None)
    await accounts.add_access_token(hash_token("secret"), ALICE, "PHONE")
    assert await accounts.lookup_token(hash_token("secret")) == TokenOwner(ALICE, "PHONE", True)
    assert await accounts.lookup_token(hash_token("other")) is None
    await accounts.delete_devices(ALICE, ["PHONE"])
    assert await accounts.lookup_token(hash_token("secret")) is None  # the cache forgot it too
    assert await accounts.get_devices(ALICE) == []


async def test_logging_out_everywhere_else_keeps_one_device(accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, None)
    for device in ("A", "B", "C"):
        await accounts.upsert_device(ALICE, device, None)
        await accounts.add_access_token(hash_token(device), ALICE, device)
        assert await accounts.lookup_token(hash_token(device)) is not None
    assert sorted(await accounts.delete_tokens_except_device(ALICE, "B")) == ["A", "C"]
    assert [await accounts.lookup_token(hash_token(d)) is not None for d in "ABC"] == \
        [False, True, False]
    assert [d.device_id for d in await accounts.get_devices(ALICE)] == ["B"]


async def test_a_deactivated_user_keeps_the_id_but_loses_access(accounts: AccountStore) -> None:
    await accounts.create_user(ALICE, "hash", displayname="Alice")
    await accounts.upsert_device(ALICE, "PHONE", None)
    await accounts.add_access_token(hash_token("secret"), ALICE, "PHONE")
    assert await accounts.lookup_token(hash_token("secret")) is not None
    await accounts.deactivate(ALICE)
    user = await accounts.get_user(ALICE)
    assert user is not None and user.deactivated
    assert (user.password_hash, user.displayname) == (None, None)
    assert await accounts.lookup_token(hash_token("secret")) is None
    assert await accounts.get_devices(ALICE) == []
    with pytest.raises(UserExists):
        await accounts.create_user(ALICE, None)


@pytest.mark.parametrize(("uses_allowed", "expires_in_ms", "successful_uses"), [
    (None, None, 5),       # unlimited
    (2, None, 2),
    (0, None, 0),
    (None, -1, 0),         # already expired
    (3, 60_000, 3),
])
async def test_a_registration_token_is_used_at_most_as_often_as_allowed(
        accounts: AccountStore, uses_allowed: int | None, expires_in_ms: int | None,
        successful_uses: int) -> None:
    expiry = now_ms() + expires_in_ms if expires_in_ms is not None else None
    await accounts.create_registration_token("tok", uses_allowed, expiry)
    results = [await accounts.use_registration_token("tok") for _ in range(5)]
    assert results == [True] * successful_uses + [False] * (5 - successful_uses)
    assert await accounts.registration_token_valid("tok") == (successful_uses == 5)
    assert not await accounts.use_registration_token("unknown")


async def test_accounts_and_tokens_survive_a_restart(backend: Backend) -> None:
    accounts = AccountStore(backend.db)
    await accounts.create_user(ALICE, "hash")
    await accounts.upsert_device(ALICE, "PHONE", "Phone")
    await accounts.add_access_token(hash_token("secret"), ALICE, "PHONE")
    accounts = AccountStore(backend.reopen())
    assert await accounts.lookup_token(hash_token("secret")) == TokenOwner(ALICE, "PHONE", False)
    assert [d.display_name for d in await accounts.get_devices(ALICE)] == ["Phone"]
