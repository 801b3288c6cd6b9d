"""EventStore: persisting as RoomService does, snapshots, timelines, transaction
IDs, redaction marks and state at a position."""

from __future__ import annotations

import pytest

from kith.errors import MatrixError
from kith.rooms.service import Intent
from kith.store.event_rows import NewEvent, RoomSnapshot, redact_path, send_path
from kith.store.events import EventStore, Txn
from storekit import Backend, Rooms  # type: ignore[import-not-found]

ALICE = "@alice:store.test"
BOB = "@bob:store.test"


async def test_a_new_room_has_its_creation_state_in_its_snapshot(rooms: Rooms) -> None:
    room = await rooms.create(ALICE, {"preset": "public_chat", "name": "Lobby"})
    snapshot = await rooms.events.snapshot(room)
    assert snapshot is not None
    assert {("m.room.create", ""), ("m.room.member", ALICE), ("m.room.power_levels", ""),
            ("m.room.join_rules", ""), ("m.room.name", "")} <= set(snapshot.state_ids)
    assert snapshot.state[("m.room.name", "")]["content"] == {"name": "Lobby"}
    assert snapshot.create_event_id == snapshot.state_ids[("m.room.create", "")]
    assert (await rooms.events.room_version(room)) is snapshot.version
    assert await rooms.events.snapshot("!unknown:store.test") is None


async def test_persisting_is_all_or_nothing(backend: Backend, rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    before = await rooms.events.snapshot(room)
    assert before is not None
    latest, position = before.latest_event_id, backend.db.current_stream_id

    def refused(snapshot: RoomSnapshot | None) -> NewEvent:
        raise MatrixError(403, "M_FORBIDDEN", "no")

    good = rooms.service.maker(Intent(ALICE, "m.room.topic", {"topic": "kept?"}, ""))
    with pytest.raises(MatrixError):
        await rooms.events.persist(room, [good, refused])

    assert backend.db.current_stream_id == position
    assert await rooms.events.room_events(room, after=position) == []
    after = await rooms.events.snapshot(room)
    assert after is not None and after.latest_event_id == latest
    assert ("m.room.topic", "") not in after.state_ids


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
async def test_events_come_back_in_stream_order_both_ways(rooms: Rooms, limit: int) -> None:
    room = await rooms.create(ALICE)
    start = (await rooms.events.room_events(room, backwards=True, limit=1))[0].stream_id
    sent = [(await rooms.say(room, ALICE, f"m{i}")).event_id for i in range(7)]
    end = (await rooms.events.room_events(room, backwards=True, limit=1))[0].stream_id

    forwards: list[str] = []
    after = start
    while page := await rooms.events.room_events(room, after=after, limit=limit):
        assert len(page) <= limit
        forwards += [e.event_id for e in page]
        after = page[-1].stream_id
    assert forwards == sent

    backwards: list[str] = []
    upto = end
    while page := await rooms.events.room_events(room, after=start, upto=upto,
                                                 backwards=True, limit=limit):
        backwards += [e.event_id for e in page]
        upto = page[-1].stream_id - 1
    assert backwards == sent[::-1]


async def test_a_transaction_id_names_its_event_per_device_and_path(rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    other = await rooms.create(ALICE)
    txn = Txn(ALICE, "PHONE", send_path(room, "m.room.message"), "t1")
    first = await rooms.say(room, ALICE, "once", txn=txn)
    again = await rooms.say(room, ALICE, "once", txn=txn)

    assert again.event_id == first.event_id
    assert await rooms.events.txn_event(txn) == first.event_id
    assert [e.event_id for e in await rooms.events.room_events(room, after=first.stream_id)] == []
    stored = await rooms.events.get_event(first.event_id)
    assert stored is not None and (stored.txn_device, stored.txn_id) == ("PHONE", "t1")
    cases = [
        Txn(ALICE, "LAPTOP", txn.path, "t1"),                           # another device
        Txn(ALICE, "PHONE", send_path(other, "m.room.message"), "t1"),  # another room
        Txn(ALICE, "PHONE", redact_path(room, first.event_id), "t1"),   # another endpoint
        Txn(BOB, "PHONE", txn.path, "t1"),                              # another user
    ]
    for different in cases:
        assert await rooms.events.txn_event(different) is None


async def test_events_are_read_by_id_and_unknown_ids_are_left_out(rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    one, two = await rooms.say(room, ALICE, "one"), await rooms.say(room, ALICE, "two")
    found = await rooms.events.get_events([two.event_id, "$missing", one.event_id, two.event_id])
    assert set(found) == {one.event_id, two.event_id}
    assert found[one.event_id].pdu == one.pdu and found[one.event_id].room_id == room
    assert found[two.event_id].stream_id == two.stream_id
    assert await rooms.events.get_event("$missing") is None
    assert await rooms.events.get_events([]) == {}


async def test_a_redaction_marks_its_target_and_the_first_one_wins(rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    target = await rooms.say(room, ALICE, "oops")
    kept = await rooms.say(room, ALICE, "fine")
    first = await rooms.service.redact(ALICE, room, target.event_id, None, None)
    await rooms.service.redact(ALICE, room, target.event_id, "again", None)

    redacted = await rooms.events.get_event(target.event_id)
    untouched = await rooms.events.get_event(kept.event_id)
    assert redacted is not None and redacted.redacted_by == first.event_id
    assert untouched is not None and untouched.redacted_by is None


async def test_state_at_a_position_is_the_state_after_that_event(rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    first = await rooms.service.send(Intent(ALICE, "m.room.name", {"name": "One"}, ""), room)
    middle = await rooms.say(room, ALICE, "between")
    second = await rooms.service.send(Intent(ALICE, "m.room.name", {"name": "Two"}, ""), room)

    cases = [(first.stream_id, "One"), (middle.stream_id, "One"), (second.stream_id, "Two")]
    for upto, name in cases:
        state = await rooms.events.state_at(room, upto)
        assert state[("m.room.name", "")].content == {"name": name}
        event = await rooms.events.state_event_at(room, "m.room.name", "", upto)
        assert event is not None and event.content == {"name": name}
    assert set(await rooms.events.state_at(room, second.stream_id, after=middle.stream_id)) == \
        {("m.room.name", "")}
    assert set(await rooms.events.state_at(room, second.stream_id, types=["m.room.member"],
                                           state_keys=[ALICE])) == {("m.room.member", ALICE)}
    assert [c for _, c in await rooms.events.state_history(room, "m.room.name")] == \
        [{"name": "One"}, {"name": "Two"}]
    current = await rooms.events.current_state_events(room)
    assert current[("m.room.name", "")].event_id == second.event_id


async def test_membership_queries_follow_member_events(rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    quiet = await rooms.create(BOB)
    joined = await rooms.join(room, BOB)

    assert sorted(await rooms.events.members(room)) == [ALICE, BOB]
    assert await rooms.events.shares_room(ALICE, BOB)
    assert await rooms.events.membership(room, BOB) == ("join", joined.stream_id, False)
    assert {r[0] for r in await rooms.events.rooms_for_user(BOB, ["join"])} == {room, quiet}

    left = await rooms.leave(room, BOB)
    assert await rooms.events.members(room) == [ALICE]
    assert await rooms.events.members(room, ["leave"]) == [BOB]
    assert not await rooms.events.shares_room(ALICE, BOB)
    assert await rooms.events.rooms_for_user(BOB, ["leave"]) == [(room, "leave", left.stream_id)]
    assert await rooms.events.membership_history(room, BOB) == \
        [(joined.stream_id, "join"), (left.stream_id, "leave")]
    assert await rooms.events.membership_changes_since(BOB, joined.stream_id, left.stream_id) \
        == [(room, "leave", left.stream_id)]

    await rooms.events.forget(room, BOB)
    assert await rooms.events.rooms_for_user(BOB, ["leave"]) == []
    assert await rooms.events.membership(room, BOB) == ("leave", left.stream_id, True)


async def test_room_positions_tell_which_rooms_moved(rooms: Rooms) -> None:
    quiet, busy = await rooms.create(ALICE), await rooms.create(ALICE)
    since = await rooms.events.room_position(busy)
    message = await rooms.say(busy, ALICE, "news")
    assert await rooms.events.room_position(busy) == message.stream_id
    assert await rooms.events.rooms_moved_since([quiet, busy], since) == {busy}


async def test_public_rooms_are_listed_in_creation_order(rooms: Rooms) -> None:
    first, private, second = [await rooms.create(ALICE) for _ in range(3)]
    await rooms.events.set_public(second, True)
    await rooms.events.set_public(first, True)
    assert await rooms.events.public_rooms() == [first, second]
    assert await rooms.events.is_public(first) and not await rooms.events.is_public(private)


async def test_a_room_reads_the_same_after_a_restart(backend: Backend, rooms: Rooms) -> None:
    room = await rooms.create(ALICE)
    await rooms.join(room, BOB)
    await rooms.say(room, BOB, "hi")
    before = await rooms.events.snapshot(room)
    assert before is not None

    events = EventStore(backend.reopen())
    after = await events.snapshot(room)
    assert after is not None
    assert (after.state_ids, after.latest_event_id, after.depth, after.version) == \
        (before.state_ids, before.latest_event_id, before.depth, before.version)
    assert after.members("join") == {ALICE, BOB}
    assert await events.room_position(room) == backend.db.current_stream_id
