"""Event filters end to end (client-server-api "Filtering",
definitions/room_event_filter.yaml): `types`, `not_types`, `senders` and
`not_senders` on the /sync timeline and on /messages, inline and uploaded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]

PING = "org.example.ping"


async def chat(client: httpx.AsyncClient) -> tuple[User, User, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    await alice.send(room_id, "a1")
    await bob.send(room_id, "b1")
    await alice.send(room_id, {"n": 1}, event_type=PING)
    await bob.send(room_id, {"n": 2}, event_type=PING)
    await alice.send(room_id, "a2")
    return alice, bob, room_id


def seen(events: list[dict[str, Any]], alice: User, bob: User) -> list[str]:
    """Each event as "<who> <type or body>", oldest first."""
    who = {alice.user_id: "alice", bob.user_id: "bob"}
    out = []
    for e in events:
        what = e["content"]["body"] if e["type"] == "m.room.message" else e["type"]
        out.append(f"{who[e['sender']]} {what}")
    return out


# (filter, what the last five events look like through it)
CASES = [
    ({"types": ["m.room.message"]}, ["alice a1", "bob b1", "alice a2"]),
    ({"types": ["org.example.*"]}, [f"alice {PING}", f"bob {PING}"]),
    ({"not_types": ["m.room.message", "m.room.member"]},
     [f"alice {PING}", f"bob {PING}"]),
    ({"types": ["m.room.message", PING], "not_types": [PING]}, ["alice a1", "bob b1", "alice a2"]),
    ({"types": [PING, "m.room.message"], "senders": ["BOB"]},
     ["bob b1", f"bob {PING}"]),
    ({"types": [PING, "m.room.message"], "not_senders": ["BOB"]},
     ["alice a1", f"alice {PING}", "alice a2"]),
    ({"types": [], "senders": ["BOB"]}, []),
]


def resolve(case: dict[str, Any], bob: User) -> dict[str, Any]:
    return {k: [bob.user_id if v == "BOB" else v for v in vs] for k, vs in case.items()}


def talk(events: list[dict[str, Any]], alice: User, bob: User) -> list[str]:
    """The messages and pings among the events, oldest first."""
    return seen([e for e in events if e["type"] in ("m.room.message", PING)], alice, bob)


@pytest.mark.parametrize("event_filter, expected", CASES)
async def test_sync_timeline_filter(client: httpx.AsyncClient, event_filter: dict[str, Any],
                                    expected: list[str]) -> None:
    alice, bob, room_id = await chat(client)
    timeline_filter = {**resolve(event_filter, bob), "limit": 50}
    body = await bob.sync(filter=json.dumps({"room": {"timeline": timeline_filter}}))
    events = body["rooms"]["join"][room_id]["timeline"]["events"]
    assert talk(events, alice, bob) == expected
    if "m.room.member" in event_filter.get("not_types", []):
        assert not [e for e in events if e["type"] == "m.room.member"]


@pytest.mark.parametrize("event_filter, expected", CASES)
async def test_messages_filter(client: httpx.AsyncClient, event_filter: dict[str, Any],
                               expected: list[str]) -> None:
    alice, bob, room_id = await chat(client)
    page = await bob.request("GET", f"/rooms/{room_id}/messages", params={
        "dir": "b", "limit": 50, "filter": json.dumps(resolve(event_filter, bob))})
    chunk = list(reversed(page["chunk"]))
    assert talk(chunk, alice, bob) == expected
    if "types" in event_filter:
        assert {e["type"] for e in chunk} <= set(event_filter["types"]) | {PING}


async def test_uploaded_filter_on_incremental_sync(client: httpx.AsyncClient) -> None:
    alice, bob, room_id = await chat(client)
    token = (await bob.sync())["next_batch"]
    created = await bob.request("POST", f"/user/{bob.user_id}/filter", {
        "room": {"timeline": {"not_senders": [alice.user_id], "not_types": [PING]}}})
    await alice.send(room_id, "hidden")
    await bob.send(room_id, "shown")
    await alice.send(room_id, {"n": 3}, event_type=PING)
    body = await bob.sync(token, filter=created["filter_id"])
    assert seen(body["rooms"]["join"][room_id]["timeline"]["events"], alice, bob) == ["bob shown"]
