"""ReceiptStore: per-user markers that only move forwards, read back per room
as m.receipt events, private ones only for their owner."""

from __future__ import annotations

import pytest

from kith.store.database import Database
from kith.store.receipts import ReceiptStore

ALICE = "@alice:store.test"
BOB = "@bob:store.test"


@pytest.fixture
def receipts(db: Database) -> ReceiptStore:
    return ReceiptStore(db)


async def test_a_receipt_only_moves_forwards(receipts: ReceiptStore) -> None:
    room = "!r:store.test"
    first = await receipts.put(room, "m.read", ALICE, None, "$e5", 5, 1000)
    assert first is not None
    assert await receipts.put(room, "m.read", ALICE, None, "$e3", 3, 2000) is None
    assert await receipts.put(room, "m.read", ALICE, None, "$e5", 5, 3000) is None
    later = await receipts.put(room, "m.read", ALICE, None, "$e9", 9, 4000)
    assert later is not None and later > first
    assert await receipts.last_read_position(room, ALICE) == 9
    content = (await receipts.for_rooms([room], None, later, ALICE))[room]["content"]
    assert content == {"$e9": {"m.read": {ALICE: {"ts": 4000}}}}


async def test_receipts_changed_after_since_are_returned_per_room(receipts: ReceiptStore) -> None:
    one, two = "!one:store.test", "!two:store.test"
    a = await receipts.put(one, "m.read", ALICE, None, "$a", 1, 10)
    b = await receipts.put(two, "m.read", BOB, None, "$b", 2, 20)
    c = await receipts.put(one, "m.read", BOB, "$thread", "$c", 3, 30)
    assert a is not None and b is not None and c is not None

    everything = await receipts.for_rooms([one, two], None, c, ALICE)
    assert set(everything) == {one, two}
    assert everything[one] == {"type": "m.receipt", "content": {
        "$a": {"m.read": {ALICE: {"ts": 10}}},
        "$c": {"m.read": {BOB: {"ts": 30, "thread_id": "$thread"}}}}}
    assert set(await receipts.for_rooms([one, two], a, c, ALICE)) == {one, two}
    assert set(await receipts.for_rooms([one, two], b, c, ALICE)) == {one}
    assert await receipts.for_rooms([one, two], c, c, ALICE) == {}
    assert set(await receipts.for_rooms([one, two], None, a, ALICE)) == {one}  # up to `upto`


async def test_private_receipts_are_seen_only_by_their_owner(receipts: ReceiptStore) -> None:
    room = "!r:store.test"
    upto = await receipts.put(room, "m.read.private", ALICE, None, "$e", 4, 10)
    assert upto is not None
    assert await receipts.for_rooms([room], None, upto, BOB) == {}
    assert (await receipts.for_rooms([room], None, upto, ALICE))[room]["content"] == \
        {"$e": {"m.read.private": {ALICE: {"ts": 10}}}}
    assert await receipts.last_read_position(room, ALICE) == 4


async def test_read_positions_are_kept_per_thread(receipts: ReceiptStore) -> None:
    room = "!r:store.test"
    await receipts.put(room, "m.read", ALICE, None, "$u", 10, 1)
    await receipts.put(room, "m.read", ALICE, "main", "$m", 12, 1)
    await receipts.put(room, "m.read.private", ALICE, "$t", "$x", 20, 1)
    await receipts.put(room, "m.fully_read", ALICE, None, "$f", 30, 1)  # not a read receipt
    assert await receipts.read_positions(room, ALICE) == {"": 10, "main": 12, "$t": 20}
    assert await receipts.thread_read_positions(room, ALICE) == {"main": 12, "$t": 20}
    # A receipt in another thread covers only that thread.
    assert await receipts.last_read_position(room, ALICE) == 12
    assert await receipts.read_positions(room, BOB) == {}


async def test_receipts_of_many_rooms_read_alike(receipts: ReceiptStore) -> None:
    """An incremental read over many rooms gives what asking per room gives."""
    room_ids = [f"!r{i}:store.test" for i in range(60)]
    since = None
    for i, room in enumerate(room_ids):
        position = await receipts.put(room, "m.read", ALICE, None, f"$e{i}", i + 1, i)
        if i == 29:
            since = position
    assert since is not None
    upto = await receipts.put(room_ids[0], "m.read", BOB, None, "$late", 99, 1)
    assert upto is not None
    together = await receipts.for_rooms(room_ids, since, upto, ALICE)
    one_by_one = {}
    for room in room_ids:
        one_by_one.update(await receipts.for_rooms([room], since, upto, ALICE))
    assert together == one_by_one
    assert set(together) == {room_ids[0], *room_ids[30:]}
