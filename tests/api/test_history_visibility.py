"""History visibility (client-server-api modules/history_visibility.md) on every
read path: /sync timeline, /messages, /context, /event and /members?at=.

One story per visibility value: Alice sends a message before inviting Bob, one
while he is invited, one while he is joined, and one after he left. Which of
them Bob, and Carol who never joined, may read is fixed by the spec:

* world_readable: anyone, always;
* shared: a member sees everything from before they joined, not after leaving;
* invited: from the invite on;
* joined: only while joined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]

STAGES = ("before", "invited", "joined", "after")
TIMELINE = json.dumps({"room": {"timeline": {"limit": 50}}})


@dataclass(frozen=True)
class Case:
    visibility: str
    bob_sees: frozenset[str]
    stranger_reads: bool


CASES = [
    Case("world_readable", frozenset(STAGES), True),
    Case("shared", frozenset({"before", "invited", "joined"}), False),
    Case("invited", frozenset({"invited", "joined"}), False),
    Case("joined", frozenset({"joined"}), False),
]


@dataclass
class Story:
    room_id: str
    event_ids: dict[str, str]
    tokens: dict[str, str]   # Alice's sync position right after each stage's message
    synced_while_joined: set[str]


async def tell(alice: User, bob: User, visibility: str) -> Story:
    room_id = await alice.create_room(preset="public_chat")
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": visibility})
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}

    async def say(stage: str) -> None:
        ids[stage] = await alice.send(room_id, stage)
        tokens[stage] = (await alice.sync())["next_batch"]

    await say("before")
    await alice.request("POST", f"/rooms/{room_id}/invite", {"user_id": bob.user_id})
    await say("invited")
    await bob.join(room_id)
    await say("joined")
    timeline = (await bob.sync(filter=TIMELINE))["rooms"]["join"][room_id]["timeline"]
    seen = {e["content"]["body"] for e in timeline["events"] if e["type"] == "m.room.message"}
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    await say("after")
    return Story(room_id, ids, tokens, seen)


async def readable_bodies(user: User, room_id: str) -> set[str]:
    messages = await user.request("GET", f"/rooms/{room_id}/messages",
                                  params={"dir": "b", "limit": 50})
    return {e["content"]["body"] for e in messages["chunk"] if e["type"] == "m.room.message"}


async def sees_event(user: User, room_id: str, event_id: str) -> bool:
    response = await user.http.get(f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}",
                                   headers=user.auth)
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


async def sees_context(user: User, room_id: str, event_id: str) -> bool:
    response = await user.http.get(f"/_matrix/client/v3/rooms/{room_id}/context/{event_id}",
                                   headers=user.auth, params={"limit": 0})
    assert response.status_code in (200, 403, 404), response.text
    if response.status_code != 200:
        assert response.json()["errcode"] in ("M_NOT_FOUND", "M_FORBIDDEN")
        return False
    return bool(response.json()["event"]["event_id"] == event_id)


async def sees_members_at(user: User, room_id: str, token: str) -> bool:
    response = await user.http.get(f"/_matrix/client/v3/rooms/{room_id}/members",
                                   headers=user.auth, params={"at": token})
    assert response.status_code in (200, 403), response.text
    return response.status_code == 200


@pytest.fixture
async def people(client: httpx.AsyncClient) -> tuple[User, User, User]:
    return (await register(client, "alice"), await register(client, "bob"),
            await register(client, "carol"))


@pytest.mark.parametrize("case", CASES, ids=[c.visibility for c in CASES])
async def test_sync_timeline_while_joined(people: tuple[User, User, User], case: Case) -> None:
    alice, bob, _ = people
    story = await tell(alice, bob, case.visibility)
    assert story.synced_while_joined == case.bob_sees - {"after"}


@pytest.mark.parametrize("case", CASES, ids=[c.visibility for c in CASES])
async def test_messages_after_leaving(people: tuple[User, User, User], case: Case) -> None:
    alice, bob, carol = people
    story = await tell(alice, bob, case.visibility)
    assert await readable_bodies(bob, story.room_id) == case.bob_sees
    assert await readable_bodies(alice, story.room_id) == set(STAGES)
    if case.stranger_reads:
        assert await readable_bodies(carol, story.room_id) == set(STAGES)
    else:
        await carol.request("GET", f"/rooms/{story.room_id}/messages", expect=403)


@pytest.mark.parametrize("case", CASES, ids=[c.visibility for c in CASES])
async def test_event_and_context(people: tuple[User, User, User], case: Case) -> None:
    alice, bob, carol = people
    story = await tell(alice, bob, case.visibility)
    for stage, event_id in story.event_ids.items():
        expected = stage in case.bob_sees
        assert await sees_event(bob, story.room_id, event_id) is expected, stage
        assert await sees_context(bob, story.room_id, event_id) is expected, stage
        assert await sees_event(carol, story.room_id, event_id) is case.stranger_reads, stage
        assert await sees_context(carol, story.room_id, event_id) is case.stranger_reads, stage


@pytest.mark.parametrize("case", CASES, ids=[c.visibility for c in CASES])
async def test_members_at_earlier_points(people: tuple[User, User, User], case: Case) -> None:
    """The member list at a point is visible exactly when a message sent there is."""
    alice, bob, _ = people
    story = await tell(alice, bob, case.visibility)
    for stage in ("before", "invited", "joined"):
        token = story.tokens[stage]
        assert await sees_members_at(bob, story.room_id, token) is (stage in case.bob_sees), stage
        assert await sees_members_at(alice, story.room_id, token), stage


@pytest.mark.parametrize("case", CASES, ids=[c.visibility for c in CASES])
async def test_a_later_joiner_still_joined(people: tuple[User, User, User], case: Case) -> None:
    """Bob joined later and stays: the same rules, and he sees what comes next."""
    alice, bob, _ = people
    room_id = await alice.create_room(preset="public_chat")
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": case.visibility})
    early = await alice.send(room_id, "before")
    await bob.join(room_id)
    late = await alice.send(room_id, "joined")
    sees_early = "before" in case.bob_sees
    assert await readable_bodies(bob, room_id) == ({"before", "joined"} if sees_early
                                                   else {"joined"})
    assert await sees_event(bob, room_id, early) is sees_early
    assert await sees_context(bob, room_id, early) is sees_early
    assert await sees_event(bob, room_id, late)
    members: dict[str, Any] = await bob.request("GET", f"/rooms/{room_id}/members")
    assert {e["state_key"] for e in members["chunk"]} == {alice.user_id, bob.user_id}
