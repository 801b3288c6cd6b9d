"""The backend itself: atomic writes, one stream, restarts, the dialect.

kith.store.database's docstring states this contract; kith.store.dialect's
fragments must mean the same on every backend.
"""

from __future__ import annotations

from typing import Any

import pytest

from kith.e2ee.to_device_queue import QueueLimits
from kith.store.account_data import AccountDataStore
from kith.store.accounts import AccountStore
from kith.store.database import Cursor, Database
from kith.store.e2ee_to_device import Message, ToDeviceStore
from kith.store.receipts import ReceiptStore
from storekit import Backend, Rooms  # type: ignore[import-not-found]

ALICE = "@alice:store.test"


class Boom(Exception):
    pass


async def test_a_write_that_raises_keeps_nothing_and_reuses_its_positions(db: Database) -> None:
    data = AccountDataStore(db)
    before = db.current_stream_id

    def txn(cur: Cursor) -> None:
        data.put_txn(cur, ALICE, None, "m.first", {"n": 1})
        data.put_txn(cur, ALICE, None, "m.second", {"n": 2})
        raise Boom

    with pytest.raises(Boom):
        await db.write(txn)

    assert await data.get(ALICE, None, "m.first") is None
    assert db.current_stream_id == before
    # The next position is the one the failed write had taken: no hole in the stream.
    assert await data.put(ALICE, None, "m.third", {}) == before + 1


async def test_every_stream_draws_from_one_increasing_position(
        db: Database, rooms: Rooms) -> None:
    accounts = AccountStore(db)
    await accounts.create_user(ALICE, None)
    await accounts.upsert_device(ALICE, "PHONE", None)
    room = await rooms.create(ALICE)
    message = await rooms.say(room, ALICE, "hello")
    receipt = await ReceiptStore(db).put(room, "m.read", ALICE, None, message.event_id,
                                         message.stream_id, 1)
    assert receipt is not None
    positions = [
        message.stream_id,
        receipt,
        await AccountDataStore(db).put(ALICE, None, "m.direct", {}),
        (await rooms.say(room, ALICE, "again")).stream_id,
    ]
    await ToDeviceStore(db).send(ALICE, "PHONE", "t1", "m.test", [Message(ALICE, "PHONE", {})])
    positions.append(db.current_stream_id)
    assert positions == sorted(set(positions))
    assert db.current_stream_id == positions[-1]


async def test_what_a_write_committed_is_there_after_a_restart(backend: Backend) -> None:
    stream_id = await AccountDataStore(backend.db).put(ALICE, "!r:store.test", "m.tag",
                                                       {"tags": {"u.work": {}}})
    db = backend.reopen()
    assert await AccountDataStore(db).get(ALICE, "!r:store.test", "m.tag") == \
        {"tags": {"u.work": {}}}
    assert db.current_stream_id == stream_id


async def test_positions_keep_increasing_across_restarts(backend: Backend) -> None:
    rooms = Rooms(backend.db)
    room = await rooms.create(ALICE)
    first = (await rooms.say(room, ALICE, "before")).stream_id
    rooms = Rooms(backend.reopen())
    second = (await rooms.say(room, ALICE, "after")).stream_id
    assert second == first + 1
    assert [e.stream_id for e in await rooms.events.room_events(room, after=first - 1)] == \
        [first, second]


async def test_a_position_handed_out_and_deleted_is_not_reused_after_a_restart(
        backend: Backend) -> None:
    """To-device messages are deleted once delivered (or with their device); a
    restart must still resume after the highest position ever handed out, or a
    client's since token would point into the future."""
    accounts = AccountStore(backend.db)
    await accounts.create_user(ALICE, None)
    await accounts.upsert_device(ALICE, "PHONE", None)
    queue = ToDeviceStore(backend.db, QueueLimits())
    await queue.send(ALICE, "PHONE", "t1", "m.test", [Message(ALICE, "PHONE", {"n": 1})])
    handed_out = backend.db.current_stream_id
    await queue.delete_devices(ALICE, ["PHONE"])
    assert await queue.pending(ALICE, "PHONE") == 0

    db = backend.reopen()
    assert db.current_stream_id == handed_out
    assert await AccountDataStore(db).put(ALICE, None, "m.later", {}) == handed_out + 1


# -- the dialect's fragments ----------------------------------------------------------------

JSON_CASES = [
    (b'{"content": {"membership": "join"}}', "content.membership", "join"),
    (b'{"content": {}}', "content.membership", None),
    (b'{"type": "m.room.member"}', "content.membership", None),
    (b'{"redacts": "$e"}', "redacts", "$e"),
    ('{"content": {"name": "caf\\u00e9 \\u2615"}}'.encode(), "content.name", "café ☕"),
]


@pytest.mark.parametrize(("document", "path", "expected"), JSON_CASES)
async def test_json_text_reads_a_string_field_or_null(
        db: Database, document: bytes, path: str, expected: str | None) -> None:
    sql = f"SELECT {db.dialect.json_text('?', path)}"
    row = await db.read(lambda cur: cur.execute(sql, (document,)).fetchone())
    assert row[0] == expected


def test_json_text_refuses_a_path_that_is_not_plain_keys(db: Database) -> None:
    with pytest.raises(ValueError):
        db.dialect.json_text("json", "content.x') OR ('1")


SUBSTRING_CASES: list[tuple[str, str, int]] = [
    ("hello", "ll", 3),
    ("hello", "h", 1),
    ("hello", "x", 0),
    ("100%", "%", 4),
    ("abc", "%", 0),     # no LIKE wildcards
    ("a_c", "_", 2),
    ("abc", "_", 0),
]


@pytest.mark.parametrize(("haystack", "needle", "position"), SUBSTRING_CASES)
async def test_position_and_contains_match_plain_substrings(
        db: Database, haystack: str, needle: str, position: int) -> None:
    d = db.dialect
    # Parameters line up in the order the fragment's arguments were given.
    sql = f"SELECT {d.position('?', '?')}, CASE WHEN {d.contains('?', '?')} THEN 1 ELSE 0 END"
    params: list[Any] = [haystack, needle, haystack, needle]
    row = await db.read(lambda cur: cur.execute(sql, params).fetchone())
    assert (row[0], bool(row[1])) == (position, position > 0)
