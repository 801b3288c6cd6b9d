"""BackupStore: server-side key backup versions and their keys, with the etag
and count clients compare (key_backup.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from kith.errors import MatrixError
from kith.store.database import Database
from kith.store.e2ee_backup import BackupStore

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
ALG = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM = "!r:store.test"


def key(index: int, verified: bool = False, forwarded: int = 0) -> dict[str, Any]:
    return {"first_message_index": index, "forwarded_count": forwarded,
            "is_verified": verified, "session_data": {"ciphertext": f"c{index}"}}


@pytest.fixture
def backup(db: Database) -> BackupStore:
    return BackupStore(db)


async def test_versions_count_up_per_user_and_are_never_reused(backup: BackupStore) -> None:
    assert await backup.create_version(ALICE, ALG, {"public_key": "a"}) == "1"
    assert await backup.create_version(ALICE, ALG, {"public_key": "b"}) == "2"
    assert await backup.create_version(BOB, ALG, {}) == "1"
    await backup.delete_version(ALICE, "2")
    assert (await backup.version_info(ALICE, None))["version"] == "1"
    assert await backup.create_version(ALICE, ALG, {}) == "3"
    with pytest.raises(MatrixError) as gone:
        await backup.version_info(ALICE, "2")
    assert gone.value.errcode == "M_NOT_FOUND"


async def test_version_info_describes_the_newest_live_version(backup: BackupStore) -> None:
    with pytest.raises(MatrixError):
        await backup.version_info(ALICE, None)
    await backup.create_version(ALICE, ALG, {"public_key": "a"})
    await backup.update_version(ALICE, "1", {"public_key": "b"})
    assert await backup.version_info(ALICE, None) == {
        "algorithm": ALG, "auth_data": {"public_key": "b"}, "count": 0, "etag": "0",
        "version": "1"}
    assert await backup.algorithm(ALICE, "1") == ALG


@pytest.mark.parametrize(("stored", "offered", "replaced"), [
    (key(5), key(3), True),                         # lower first_message_index
    (key(3), key(5), False),
    (key(3), key(3, verified=True), True),          # verified wins
    (key(1, verified=True), key(0), False),
    (key(3, forwarded=2), key(3, forwarded=1), True),
    (key(3), key(3), False),                        # a tie keeps the stored key
])
async def test_a_key_is_replaced_only_by_a_better_one_and_only_then_the_etag_moves(
        backup: BackupStore, stored: dict[str, Any], offered: dict[str, Any],
        replaced: bool) -> None:
    await backup.create_version(ALICE, ALG, {})
    etag, count = await backup.put_keys(ALICE, "1", {ROOM: {"s": stored}})
    assert count == 1
    new_etag, new_count = await backup.put_keys(ALICE, "1", {ROOM: {"s": offered}})
    assert new_count == 1
    assert (new_etag != etag) == replaced
    assert (await backup.get_keys(ALICE, "1"))[ROOM]["s"] == (offered if replaced else stored)


async def test_keys_go_only_to_the_current_version(backup: BackupStore) -> None:
    with pytest.raises(MatrixError) as none:
        await backup.put_keys(ALICE, "1", {ROOM: {"s": key(0)}})
    assert none.value.errcode == "M_NOT_FOUND"
    await backup.create_version(ALICE, ALG, {})
    await backup.create_version(ALICE, ALG, {})
    with pytest.raises(MatrixError) as old:
        await backup.put_keys(ALICE, "1", {ROOM: {"s": key(0)}})
    assert old.value.errcode == "M_WRONG_ROOM_KEYS_VERSION"
    assert await backup.get_keys(ALICE, "1") == {}


async def test_keys_are_read_and_deleted_by_room_and_session(backup: BackupStore) -> None:
    await backup.create_version(ALICE, ALG, {})
    other = "!other:store.test"
    etag, count = await backup.put_keys(ALICE, "1", {ROOM: {"a": key(1), "b": key(2)},
                                                     other: {"c": key(3)}})
    assert count == 3
    assert await backup.get_keys(ALICE, "1", ROOM, "b") == {ROOM: {"b": key(2)}}
    assert set((await backup.get_keys(ALICE, "1", ROOM))[ROOM]) == {"a", "b"}
    assert await backup.get_keys(ALICE, "1", "!none:store.test") == {}

    after_session = await backup.delete_keys(ALICE, "1", ROOM, "a")
    assert after_session[1] == 2 and after_session[0] != etag
    assert await backup.delete_keys(ALICE, "1", ROOM, "a") == after_session  # nothing left
    after_room = await backup.delete_keys(ALICE, "1", other)
    assert after_room[1] == 1
    assert (await backup.version_info(ALICE, "1"))["count"] == 1
    assert await backup.get_keys(ALICE, "1") == {ROOM: {"b": key(2)}}


async def test_deleting_a_user_drops_every_version(backup: BackupStore) -> None:
    await backup.create_version(ALICE, ALG, {})
    await backup.put_keys(ALICE, "1", {ROOM: {"s": key(0)}})
    await backup.delete_user(ALICE)
    with pytest.raises(MatrixError):
        await backup.version_info(ALICE, None)
    assert await backup.create_version(ALICE, ALG, {}) == "2"
    assert await backup.get_keys(ALICE, "2") == {}
