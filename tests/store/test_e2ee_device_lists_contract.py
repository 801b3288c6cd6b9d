"""DeviceListStore: the device-list stream and memberships at a past position
(end_to_end_encryption.md "Tracking the device list for a user")."""

from __future__ import annotations

from kith.store.database import Database
from kith.store.e2ee_device_lists import Change, DeviceListStore
from storekit import Rooms  # type: ignore[import-not-found]

ALICE = "@alice:store.test"
BOB = "@bob:store.test"
CAROL = "@carol:store.test"


async def test_changes_are_listed_in_order_and_viewer_rows_only_for_their_viewer(
        db: Database) -> None:
    lists = DeviceListStore(db)
    start = db.current_stream_id
    await lists.record(ALICE)
    await lists.record(BOB, viewer=CAROL)
    await lists.record_memberships([(CAROL, "!r:store.test")])
    upto = db.current_stream_id
    assert await lists.changes(start, upto, CAROL) == [
        Change(ALICE, None, None), Change(BOB, None, CAROL), Change(CAROL, "!r:store.test", None)]
    assert await lists.changes(start, upto, ALICE) == [
        Change(ALICE, None, None), Change(CAROL, "!r:store.test", None)]
    assert await lists.changes(start + 1, upto - 1, CAROL) == [Change(BOB, None, CAROL)]


async def test_memberships_at_a_past_position_follow_the_latest_member_event(
        db: Database, rooms: Rooms) -> None:
    lists = DeviceListStore(db)
    one, two = await rooms.create(ALICE), await rooms.create(ALICE)
    joined_one = (await rooms.join(one, BOB)).stream_id
    joined_two = (await rooms.join(two, BOB)).stream_id
    left_one = (await rooms.leave(one, BOB)).stream_id
    rejoined_one = (await rooms.join(one, BOB)).stream_id

    cases = [
        (joined_one - 1, set(), {ALICE}),
        (joined_one, {one}, {ALICE, BOB}),
        (joined_two, {one, two}, {ALICE, BOB}),
        (left_one, {two}, {ALICE}),
        (rejoined_one, {one, two}, {ALICE, BOB}),
    ]
    for position, bob_rooms, members_of_one in cases:
        assert await lists.joined_rooms_at(BOB, position) == bob_rooms
        assert await lists.joined_members_at(one, position) == members_of_one
    assert await lists.previous_membership(one, BOB, rejoined_one) == "leave"
    assert await lists.previous_membership(one, BOB, joined_one) is None
    assert await lists.users_sharing_rooms(BOB) == {ALICE, BOB}
    assert await lists.users_sharing_rooms(CAROL) == set()
