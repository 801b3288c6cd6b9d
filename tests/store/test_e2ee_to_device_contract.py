"""ToDeviceStore: per-device queues, delivered in order and kept until a later
sync acknowledges them (send_to_device.md, to_device.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from kith.e2ee.to_device_queue import QueueLimits
from kith.store.accounts import AccountStore
from kith.store.database import Database
from kith.store.e2ee_to_device import Message, ToDeviceStore
from storekit import Backend  # type: ignore[import-not-found]

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
CAROL = "@carol:store.test"


async def add_devices(db: Database) -> None:
    accounts = AccountStore(db)
    for user, devices in ((ALICE, ["A1"]), (BOB, ["PHONE", "LAPTOP"]), (CAROL, ["C1"])):
        await accounts.create_user(user, None)
        for device in devices:
            await accounts.upsert_device(user, device, None)


@pytest.fixture
async def queue(db: Database) -> ToDeviceStore:
    await add_devices(db)
    return ToDeviceStore(db)


def contents(events: list[dict[str, Any]]) -> list[Any]:
    return [(e["sender"], e["content"]["n"]) for e in events]


async def test_messages_are_handed_out_oldest_first_up_to_the_limit(
        queue: ToDeviceStore) -> None:
    for n in range(3):
        await queue.send(ALICE, "A1", f"a{n}", "m.test", [Message(BOB, "PHONE", {"n": n})])
        await queue.send(CAROL, "C1", f"c{n}", "m.test", [Message(BOB, "PHONE", {"n": 10 + n})])
    events, mark = await queue.deliver(BOB, "PHONE", None, 4)
    assert mark is not None
    assert contents(events) == [(ALICE, 0), (CAROL, 10), (ALICE, 1), (CAROL, 11)]
    assert all(e["type"] == "m.test" for e in events)
    assert await queue.deliver(BOB, "LAPTOP", None, 10) == ([], None)


async def test_a_message_stays_until_a_later_sync_acknowledges_its_mark(
        queue: ToDeviceStore) -> None:
    for n in range(3):
        await queue.send(ALICE, "A1", f"t{n}", "m.test", [Message(BOB, "PHONE", {"n": n})])
    first, mark = await queue.deliver(BOB, "PHONE", None, 2)
    retried, retry_mark = await queue.deliver(BOB, "PHONE", None, 2)   # the response was lost
    assert contents(retried) == contents(first) == [(ALICE, 0), (ALICE, 1)]
    assert mark is not None and retry_mark is not None and retry_mark > mark
    assert await queue.pending(BOB, "PHONE") == 3

    rest, _ = await queue.deliver(BOB, "PHONE", retry_mark, 2)
    assert contents(rest) == [(ALICE, 2)]
    assert await queue.pending(BOB, "PHONE") == 1


async def test_delivery_marks_keep_growing_across_a_restart(backend: Backend) -> None:
    await add_devices(backend.db)
    queue = ToDeviceStore(backend.db)
    await queue.send(ALICE, "A1", "t1", "m.test", [Message(BOB, "PHONE", {"n": 1})])
    _, before = await queue.deliver(BOB, "PHONE", None, 10)
    queue = ToDeviceStore(backend.reopen())
    events, after = await queue.deliver(BOB, "PHONE", None, 10)
    assert contents(events) == [(ALICE, 1)]          # not acknowledged: still there
    assert before is not None and after is not None and after > before


async def test_a_repeated_transaction_id_queues_nothing(queue: ToDeviceStore) -> None:
    message = [Message(BOB, "PHONE", {"n": 1})]
    assert await queue.send(ALICE, "A1", "t1", "m.test", message) == {BOB}
    assert await queue.send(ALICE, "A1", "t1", "m.test", message) is None
    # The transaction ID is scoped to the sending device and the event type.
    assert await queue.send(ALICE, "A1", "t1", "m.other", message) == {BOB}
    assert await queue.send(ALICE, "A2", "t1", "m.test", message) == {BOB}
    assert await queue.pending(BOB, "PHONE") == 3


async def test_a_wildcard_reaches_every_device_and_unknown_devices_are_skipped(
        queue: ToDeviceStore) -> None:
    reached = await queue.send(ALICE, "A1", "t1", "m.test", [
        Message(BOB, "*", {"n": 1}), Message(CAROL, "GONE", {"n": 2}),
        Message("@nobody:store.test", "*", {"n": 3})])
    assert reached == {BOB}
    assert [await queue.pending(BOB, d) for d in ("PHONE", "LAPTOP")] == [1, 1]
    assert await queue.pending(CAROL, "C1") == 0


async def test_a_full_queue_drops_the_oldest_messages_of_the_busiest_sender(
        db: Database) -> None:
    await add_devices(db)
    queue = ToDeviceStore(db, QueueLimits(total=4, per_sender=3))
    await queue.send(CAROL, "C1", "c", "m.test", [Message(BOB, "PHONE", {"n": 100})])
    for n in range(5):
        await queue.send(ALICE, "A1", f"a{n}", "m.test", [Message(BOB, "PHONE", {"n": n})])
    events, _ = await queue.deliver(BOB, "PHONE", None, 10)
    assert contents(events) == [(CAROL, 100), (ALICE, 2), (ALICE, 3), (ALICE, 4)]


async def test_deleting_a_device_drops_its_queue(queue: ToDeviceStore) -> None:
    await queue.send(ALICE, "A1", "t1", "m.test", [Message(BOB, "*", {"n": 1})])
    await queue.delete_devices(BOB, ["PHONE"])
    assert await queue.pending(BOB, "PHONE") == 0
    assert await queue.pending(BOB, "LAPTOP") == 1
