"""A restart is invisible to a syncing client: access tokens and sync tokens
issued before a clean shutdown keep working afterwards, and incremental sync
from an old `since` delivers exactly what happened after it.

Spec: client-server-api "Syncing" (`since`, `next_batch`), "Using access tokens".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from nio import WhoamiResponse

from nio_helpers import (
    Clients,
    bodies,
    bodies_seen,
    catch_up,
    expect,
    raw,
    say,
    shared_room,
    sync_until,
    timeline,
)

FLAGS = ("--registration", "open", "--rate-limit", "off")


async def test_incremental_sync_survives_a_restart(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    data_dir = tmp_path / "data"
    first = start_server(data_dir, *FLAGS)
    second = None
    before_restart = Clients(first.base_url)
    after_restart = Clients(first.base_url)
    try:
        alice = await before_restart.register("alice")
        bob = await before_restart.register("bob")
        room_id = await shared_room(alice, bob, name="durable")
        await catch_up(alice, bob)

        old = ["hello", "is this thing on?", "yes", "good"]
        for i, text in enumerate(old):
            await say(alice if i % 2 == 0 else bob, room_id, text)
        await sync_until(alice, bodies_seen(room_id, old))
        since = alice.next_batch
        assert since

        # Bob keeps talking after Alice's last sync, then the server goes down.
        while_away = ["are you there?", "I will wait"]
        sent_ids = [await say(bob, room_id, text) for text in while_away]
        await before_restart.close()
        assert first.stop() == 0, f"unclean shutdown, see {first.log_path}"

        second = start_server(data_dir, *FLAGS, port=first.port)
        assert second.base_url == first.base_url

        # Both come back with their old access tokens.
        alice2 = after_restart.restore(alice.user_id, alice.device_id, alice.access_token)
        bob2 = after_restart.restore(bob.user_id, bob.device_id, bob.access_token)
        assert expect(await alice2.whoami(), WhoamiResponse).user_id == alice.user_id
        after = ["welcome back", "last one"]
        sent_ids += [await say(bob2, room_id, text) for text in after]

        # Alice resumes from her old since token: exactly Bob's later messages,
        # in order, none missing, none repeated, nothing from before the token.
        expected = while_away + after
        seen = await sync_until(alice2, bodies_seen(room_id, expected), since=since)
        events = timeline(seen, room_id)
        messages = [raw(e) for e in events if raw(e)["type"] == "m.room.message"]
        assert bodies(events) == expected
        assert [m["event_id"] for m in messages] == sent_ids
        assert all(m["sender"] == bob.user_id for m in messages)
        ids = [raw(e)["event_id"] for e in events]
        assert len(ids) == len(set(ids))
        assert not any(r.rooms.join[room_id].timeline.limited for r in seen if room_id in r.rooms.join)
    finally:
        await before_restart.close()
        await after_restart.close()
        if second is not None:
            assert second.stop() == 0, f"unclean shutdown, see {second.log_path}"
        first.stop()
