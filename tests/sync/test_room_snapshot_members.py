"""The current-state snapshot's membership index and the /sync notifier.

A room summary's m.joined_member_count / m.invited_member_count and the
room_member_count push condition (spec: client-server-api, "Push Rules",
room_member_count) are read from RoomSnapshot.members(), which is kept up to
date incrementally. Whatever sequence of membership changes happens, it must
agree with a plain scan of the state, and a failed change must leave the cached
snapshot as it was.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, strategies as st

from kith.events.room_versions import KNOWN_ROOM_VERSIONS
from kith.store.event_rows import RoomSnapshot
from kith.sync.notifier import Notifier

USERS = [f"@u{i}:example.org" for i in range(6)]
MEMBERSHIPS = ["join", "invite", "leave", "ban", "knock"]


def _member(user: str, membership: str) -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user, "sender": user,
            "content": {"membership": membership}}


def _scan(snapshot: RoomSnapshot, membership: str) -> set[str]:
    return {key for (etype, key), pdu in snapshot.state.items()
            if etype == "m.room.member" and pdu["content"]["membership"] == membership}


def _empty() -> RoomSnapshot:
    return RoomSnapshot("!r:example.org", KNOWN_ROOM_VERSIONS["11"], {}, {}, None, 0, "$create")


changes = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(MEMBERSHIPS)), max_size=30)


@given(before=changes, after=changes, look_early=st.booleans())
def test_member_index_matches_a_scan_of_the_state(before: list[tuple[str, str]],
                                                  after: list[tuple[str, str]],
                                                  look_early: bool) -> None:
    snapshot = _empty()
    for n, (user, membership) in enumerate(before):
        snapshot.set_state(("m.room.member", user), f"$b{n}", _member(user, membership))
    if look_early:  # the index exists before the next transaction starts
        snapshot.members("join")
    expected_before = {m: _scan(snapshot, m) for m in MEMBERSHIPS}

    derived = snapshot.begin_change()
    for n, (user, membership) in enumerate(after):
        derived.set_state(("m.room.member", user), f"$a{n}", _member(user, membership))

    for membership in MEMBERSHIPS:
        assert set(derived.members(membership)) == _scan(derived, membership)
        # the snapshot the change started from is untouched (a failed
        # transaction simply drops `derived`)
        assert set(snapshot.members(membership)) == expected_before[membership]
        assert _scan(snapshot, membership) == expected_before[membership]


def test_a_message_event_does_not_copy_the_state() -> None:
    snapshot = _empty()
    snapshot.set_state(("m.room.member", USERS[0]), "$m", _member(USERS[0], "join"))
    derived = snapshot.begin_change()
    derived.latest_event_id, derived.depth = "$msg", 5
    assert derived.state is snapshot.state
    assert (snapshot.latest_event_id, snapshot.depth) == (None, 0)
    derived.set_state(("m.room.topic", ""), "$t", {"type": "m.room.topic", "content": {}})
    assert derived.state is not snapshot.state
    assert ("m.room.topic", "") not in snapshot.state


def test_wake_bumps_versions_and_releases_only_the_named_waiters() -> None:
    async def scenario() -> None:
        notifier = Notifier()
        seen = {u: notifier.version(u) for u in USERS[:3]}
        waiters = {u: asyncio.create_task(notifier.wait(u, seen[u], 5.0)) for u in USERS[:3]}
        await asyncio.sleep(0)
        notifier.wake([USERS[0], USERS[1]])
        await asyncio.wait_for(asyncio.gather(waiters[USERS[0]], waiters[USERS[1]]), 1.0)
        assert not waiters[USERS[2]].done()
        assert notifier.version(USERS[0]) != seen[USERS[0]]
        assert notifier.version(USERS[2]) == seen[USERS[2]]
        # a wake between reading the version and waiting is not missed
        before = notifier.version(USERS[3])
        notifier.wake({USERS[3]})
        await asyncio.wait_for(notifier.wait(USERS[3], before, 5.0), 1.0)
        notifier.close()
        await asyncio.wait_for(waiters[USERS[2]], 1.0)

    asyncio.run(scenario())
