"""Unread notification counts in /sync (push.md "Receiving notifications" and
"Marking notifications as read", receipts.md "Threaded read receipts",
sync.yaml `unread_notifications` / `unread_thread_notifications`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

THREADED = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})


async def pair(client: httpx.AsyncClient) -> tuple[User, User, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    return alice, bob, room_id


def counts(body: dict[str, Any], room_id: str) -> dict[str, int] | None:
    room = body["rooms"]["join"].get(room_id)
    return None if room is None else room.get("unread_notifications")


async def test_own_receipt_updates_counts_in_incremental_sync(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    token = (await bob.sync())["next_batch"]
    first = await alice.send(room_id, "one")
    second = await alice.send(room_id, "two")
    body = await bob.sync(token)
    assert counts(body, room_id) == {"notification_count": 2, "highlight_count": 0}
    token = body["next_batch"]

    # Reading the first message: no new event in the room, but the count drops.
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{first}", {})
    body = await bob.sync(token)
    validate_response("sync.yaml", "get", "/sync", 200, body)
    room = body["rooms"]["join"][room_id]
    assert room["unread_notifications"] == {"notification_count": 1, "highlight_count": 0}
    assert "timeline" not in room  # nothing new to show, only the counts and the receipt
    assert [e["type"] for e in room["ephemeral"]["events"]] == ["m.receipt"]
    token = body["next_batch"]

    # A private receipt clears it too; nobody else sees it, the reader's counts change.
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read.private/{second}", {})
    body = await bob.sync(token)
    assert counts(body, room_id) == {"notification_count": 0, "highlight_count": 0}


async def test_read_markers_m_read_updates_counts(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    message = await alice.send(room_id, "hello")
    token = (await bob.sync())["next_batch"]
    await bob.request("POST", f"/rooms/{room_id}/read_markers",
                      {"m.fully_read": message, "m.read": message})
    body = await bob.sync(token)
    assert counts(body, room_id) == {"notification_count": 0, "highlight_count": 0}


async def test_other_users_receipt_leaves_my_counts_alone(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    message = await bob.send(room_id, "from bob")
    await alice.send(room_id, "from alice")
    token = (await bob.sync())["next_batch"]
    await alice.request("POST", f"/rooms/{room_id}/receipt/m.read/{message}", {})
    body = await bob.sync(token)
    room = body["rooms"]["join"][room_id]
    assert room["ephemeral"]["events"][0]["content"][message]["m.read"][alice.user_id]
    # Counts are only sent again when they may have changed for the reader.
    assert "unread_notifications" not in room


async def test_private_receipt_wakes_own_long_poll(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    message = await alice.send(room_id, "hello")
    token = (await bob.sync())["next_batch"]

    async def read_later() -> None:
        await asyncio.sleep(0.2)
        await bob.request("POST", f"/rooms/{room_id}/receipt/m.read.private/{message}", {})

    started = time.monotonic()
    task = asyncio.create_task(read_later())
    body = await bob.sync(token, timeout=20_000)
    await task
    assert time.monotonic() - started < 10
    assert counts(body, room_id) == {"notification_count": 0, "highlight_count": 0}


async def test_mention_counts_as_highlight(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    token = (await bob.sync())["next_batch"]
    await alice.send(room_id, "plain")
    await alice.send(room_id, {"msgtype": "m.text", "body": "hey bob",
                               "m.mentions": {"user_ids": [bob.user_id]}})
    body = await bob.sync(token)
    assert counts(body, room_id) == {"notification_count": 2, "highlight_count": 1}
    # The sender's own counts stay at zero.
    assert counts(await alice.sync(), room_id) == {"notification_count": 0, "highlight_count": 0}


async def test_thread_counts_per_thread_and_threaded_receipts(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await pair(client)
    root = await alice.send(room_id, "root")
    in_thread = {"msgtype": "m.text", "body": "reply",
                 "m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    await alice.send(room_id, in_thread)
    mention = {**in_thread, "body": "bob, look", "m.mentions": {"user_ids": [bob.user_id]}}
    last_reply = await alice.send(room_id, mention)
    main = await alice.send(room_id, "main timeline")

    body = await bob.sync(filter=THREADED)
    validate_response("sync.yaml", "get", "/sync", 200, body)
    room = body["rooms"]["join"][room_id]
    # With unread_thread_notifications the room counts cover the main timeline only.
    assert room["unread_notifications"] == {"notification_count": 2, "highlight_count": 0}
    assert room["unread_thread_notifications"] == {
        root: {"notification_count": 2, "highlight_count": 1}}
    # Without it, everything is counted in the room.
    plain = (await bob.sync())["rooms"]["join"][room_id]
    assert plain["unread_notifications"] == {"notification_count": 4, "highlight_count": 1}
    assert "unread_thread_notifications" not in plain
    token = body["next_batch"]

    # A receipt in the thread reads the thread only.
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{last_reply}", {"thread_id": root})
    body = await bob.sync(token, filter=THREADED)
    room = body["rooms"]["join"][room_id]
    assert room["unread_notifications"] == {"notification_count": 2, "highlight_count": 0}
    assert room.get("unread_thread_notifications", {}) == {}
    token = body["next_batch"]

    # A `main` receipt reads the main timeline only.
    await alice.send(room_id, {**in_thread, "body": "more"})
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{main}", {"thread_id": "main"})
    body = await bob.sync(token, filter=THREADED)
    room = body["rooms"]["join"][room_id]
    assert room["unread_notifications"] == {"notification_count": 0, "highlight_count": 0}
    assert room["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 0}}

    # An unthreaded receipt reads every thread up to its event.
    newest = await alice.send(room_id, "newest")
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{newest}", {})
    plain = (await bob.sync())["rooms"]["join"][room_id]
    assert plain["unread_notifications"] == {"notification_count": 0, "highlight_count": 0}
