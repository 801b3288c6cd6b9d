"""AccountDataStore: global and per-room account data on the stream."""

from __future__ import annotations

from typing import Any

import pytest

from kith.store.account_data import AccountDataStore
from kith.store.database import Database

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
ROOM = "!r:store.test"


@pytest.fixture
def data(db: Database) -> AccountDataStore:
    return AccountDataStore(db)


async def test_account_data_is_kept_per_user_room_and_type(data: AccountDataStore) -> None:
    await data.put(ALICE, None, "m.direct", {"@bob:store.test": ["!dm:store.test"]})
    await data.put(ALICE, ROOM, "m.tag", {"tags": {"u.x": {}}})
    await data.put(BOB, None, "m.direct", {})
    cases: list[tuple[str, str | None, str, Any]] = [
        (ALICE, None, "m.direct", {"@bob:store.test": ["!dm:store.test"]}),
        (ALICE, ROOM, "m.tag", {"tags": {"u.x": {}}}),
        (ALICE, ROOM, "m.direct", None),
        (ALICE, None, "m.tag", None),
        (BOB, None, "m.direct", {}),
    ]
    for user, room, etype, expected in cases:
        assert await data.get(user, room, etype) == expected


async def test_changes_since_a_position_come_once_in_order(data: AccountDataStore) -> None:
    first = await data.put(ALICE, None, "m.a", {"v": 1})
    await data.put(ALICE, ROOM, "m.tag", {"tags": {}})
    await data.put(BOB, None, "m.a", {"v": "bob"})
    last = await data.put(ALICE, None, "m.a", {"v": 2})   # overwrites: moves to the end

    global_events, room_events = await data.changed_since(ALICE, None, last)
    assert global_events == [{"type": "m.a", "content": {"v": 2}}]
    assert room_events == {ROOM: [{"type": "m.tag", "content": {"tags": {}}}]}
    assert await data.changed_since(ALICE, first, first) == ([], {})
    assert await data.changed_since(ALICE, last - 1, last) == \
        ([{"type": "m.a", "content": {"v": 2}}], {})


async def test_an_update_sees_the_current_content_and_may_change_nothing(
        db: Database, data: AccountDataStore) -> None:
    seen: list[Any] = []

    def add_tag(current: dict[str, Any] | None) -> dict[str, Any] | None:
        seen.append(current)
        return {"tags": {**(current or {}).get("tags", {}), "u.new": {}}}

    first = await data.update(ALICE, ROOM, "m.tag", add_tag)
    second = await data.update(ALICE, ROOM, "m.tag", add_tag)
    assert first is not None and second is not None and second > first
    assert seen == [None, {"tags": {"u.new": {}}}]
    position = db.current_stream_id
    assert await data.update(ALICE, ROOM, "m.tag", lambda current: None) is None
    assert db.current_stream_id == position


async def test_a_write_tells_the_listeners(data: AccountDataStore) -> None:
    heard: list[tuple[str, str | None, str]] = []
    data.on_write.append(lambda user, room, etype: heard.append((user, room, etype)))
    await data.put(ALICE, ROOM, "m.tag", {})
    assert heard == [(ALICE, ROOM, "m.tag")]
