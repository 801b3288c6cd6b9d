"""Bundled aggregations (client-server-api "Aggregations of child events")
follow redactions, history visibility and ignored users.

Spec: "when a child event is redacted then the relationship is broken.
Therefore, the server needs to de-aggregate or disassociate the event";
"Servers must additionally ensure they do not consider child events from
ignored users when preparing an aggregation"; threading.md (`count`,
`latest_event`, `current_user_participated`); reference_relations.md;
event_replacements.md ("Redactions of edited events").
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

V1 = "/_matrix/client/v1"
_redactions = itertools.count()


def relates(rel_type: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": target, **extra}}


def reply(root: str, text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text, **relates("m.thread", root)}


def reference(target: str, text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text, **relates("m.reference", target)}


def edit(target: str, text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": f"* {text}",
            "m.new_content": {"msgtype": "m.text", "body": text}, **relates("m.replace", target)}


async def redact(user: User, room: str, event_id: str) -> None:
    await user.request("PUT", f"/rooms/{room}/redact/{event_id}/r{next(_redactions)}", {})


async def bundled(user: User, room: str, event_id: str) -> dict[str, Any]:
    event = await user.request("GET", f"/rooms/{room}/event/{event_id}")
    return dict(event.get("unsigned", {}).get("m.relations", {}))


async def related(user: User, room: str, event_id: str, rel_type: str) -> list[str]:
    body = await user.request("GET", f"{V1}/rooms/{room}/relations/{event_id}/{rel_type}")
    return [e["event_id"] for e in body["chunk"]]


async def threads(user: User, room: str) -> dict[str, dict[str, Any]]:
    """Root event ID -> its m.thread summary, in the order /threads lists them."""
    body = await user.request("GET", f"{V1}/rooms/{room}/threads")
    validate_response("threads_list.yaml", "get", "/rooms/{roomId}/threads", 200, body)
    return {e["event_id"]: e["unsigned"]["m.relations"]["m.thread"] for e in body["chunk"]}


def references_in(relations: dict[str, Any]) -> list[str]:
    return [r["event_id"] for r in relations.get("m.reference", {}).get("chunk", [])]


async def shared_room(client: httpx.AsyncClient) -> tuple[User, User, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    return alice, bob, room


async def test_a_redacted_reaction_is_no_longer_a_relation(client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    message = await alice.send(room, "message")
    mine = await alice.send(room, relates("m.annotation", message, key="👍"), "m.reaction")
    theirs = await bob.send(room, relates("m.annotation", message, key="👍"), "m.reaction")
    assert await related(alice, room, message, "m.annotation") == [theirs, mine]
    await redact(bob, room, theirs)
    assert await related(alice, room, message, "m.annotation") == [mine]
    # Without it, the same annotation may be sent again (event_annotations.md).
    again = await bob.send(room, relates("m.annotation", message, key="👍"), "m.reaction")
    assert await related(alice, room, message, "m.annotation") == [again, mine]


async def test_a_redacted_thread_reply_leaves_the_thread(client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    root = await alice.send(room, "root")
    first = await bob.send(room, reply(root, "first"))
    second = await alice.send(room, reply(root, "second"))
    summary = (await bundled(bob, room, root))["m.thread"]
    assert (summary["count"], summary["latest_event"]["event_id"]) == (2, second)
    await redact(alice, room, second)
    summary = (await bundled(bob, room, root))["m.thread"]
    assert (summary["count"], summary["latest_event"]["event_id"]) == (1, first)
    assert (await threads(bob, room))[root]["count"] == 1
    await redact(bob, room, first)
    assert "m.thread" not in await bundled(bob, room, root)
    assert await related(bob, room, root, "m.thread") == []
    assert await threads(bob, room) == {}


async def test_a_redacted_reference_leaves_the_chunk(client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    target = await alice.send(room, "target")
    kept = await alice.send(room, reference(target, "kept"))
    gone = await bob.send(room, reference(target, "gone"))
    assert references_in(await bundled(alice, room, target)) == [kept, gone]
    await redact(bob, room, gone)
    assert references_in(await bundled(alice, room, target)) == [kept]
    assert await related(alice, room, target, "m.reference") == [kept]


async def test_a_redacted_edit_no_longer_replaces(client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    original = await alice.send(room, "version 1")
    second = await alice.send(room, edit(original, "version 2"))
    third = await alice.send(room, edit(original, "version 3"))
    assert (await bundled(bob, room, original))["m.replace"]["event_id"] == third
    # "if it was the most recent edit, the event is in effect reverted to its
    # content before the redacted edit"
    await redact(alice, room, third)
    assert (await bundled(bob, room, original))["m.replace"]["event_id"] == second
    await redact(alice, room, second)
    assert "m.replace" not in await bundled(bob, room, original)


async def test_a_redacted_parent_keeps_its_thread_but_not_its_edit(
        client: httpx.AsyncClient) -> None:
    # "When a parent event is redacted, the child events which pointed to that
    # parent remain"; only m.replace is not bundled with a redacted original
    # (event_replacements.md: "this behaviour is specific to the m.replace
    # relationship").
    alice, bob, room = await shared_room(client)
    root = await alice.send(room, "root")
    await alice.send(room, edit(root, "root, edited"))
    answer = await bob.send(room, reply(root, "answer"))
    await redact(alice, room, root)
    relations = await bundled(bob, room, root)
    assert "m.replace" not in relations
    assert relations["m.thread"]["latest_event"]["event_id"] == answer
    assert list(await threads(bob, room)) == [root]


async def test_a_reader_who_left_gets_the_aggregation_of_what_they_saw(
        client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    root = await alice.send(room, "root")
    early_reply = await bob.send(room, reply(root, "bob's answer"))
    early_ref = await alice.send(room, reference(root, "see root"))
    await bob.request("POST", f"/rooms/{room}/leave", {})
    late_reply = await alice.send(room, reply(root, "after bob left"))
    late_ref = await alice.send(room, reference(root, "later"))

    for_alice = await bundled(alice, room, root)
    assert for_alice["m.thread"]["count"] == 2
    assert for_alice["m.thread"]["latest_event"]["event_id"] == late_reply
    assert for_alice["m.thread"]["current_user_participated"] is True  # she sent the root
    assert references_in(for_alice) == [early_ref, late_ref]

    for_bob = await bundled(bob, room, root)
    assert for_bob["m.thread"]["count"] == 1
    assert for_bob["m.thread"]["latest_event"]["event_id"] == early_reply
    assert for_bob["m.thread"]["current_user_participated"] is True
    assert references_in(for_bob) == [early_ref]
    assert late_reply not in str(for_bob) and late_ref not in str(for_bob)
    # /threads and /relations agree with the bundle.
    assert (await threads(bob, room))[root]["count"] == 1
    assert await related(bob, room, root, "m.thread") == [early_reply]
    page = await bob.request("GET", f"/rooms/{room}/messages", params={"dir": "b", "limit": 50})
    (served,) = [e for e in page["chunk"] if e["event_id"] == root]
    assert served["unsigned"]["m.relations"]["m.thread"]["count"] == 1


async def test_a_reader_who_joined_later_counts_only_what_they_may_see(
        client: httpx.AsyncClient) -> None:
    # The root is sent under "shared" visibility, which a later member may
    # read; the first reply under "joined", which they may not.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    root = await alice.send(room, "root")
    await alice.request("PUT", f"/rooms/{room}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    hidden = await alice.send(room, reply(root, "before bob joined"))
    await bob.join(room)
    after = await alice.send(room, reply(root, "after bob joined"))
    assert (await bundled(alice, room, root))["m.thread"]["count"] == 2
    summary = (await bundled(bob, room, root))["m.thread"]
    assert (summary["count"], summary["latest_event"]["event_id"]) == (1, after)
    assert summary["current_user_participated"] is False
    assert (await threads(bob, room))[root]["count"] == 1
    assert await related(bob, room, root, "m.thread") == [after]
    # Once the visible reply is gone, the thread is gone for Bob, not for Alice.
    await redact(alice, room, after)
    assert "m.thread" not in await bundled(bob, room, root)
    assert await threads(bob, room) == {}
    assert hidden not in str(await bundled(bob, room, root))
    assert (await threads(alice, room))[root]["count"] == 1


async def test_ignored_users_children_are_not_aggregated(client: httpx.AsyncClient) -> None:
    alice, bob, room = await shared_room(client)
    carol = await register(client, "carol")
    await carol.join(room)
    root = await alice.send(room, "root")
    from_carol = await carol.send(room, reply(root, "carol answers"))
    from_bob = await bob.send(room, reply(root, "bob answers"))
    ref_carol = await carol.send(room, reference(root, "carol refers"))
    await bob.send(room, reference(root, "bob refers"))
    only_bob = await alice.send(room, "root bob answers alone")
    await bob.send(room, reply(only_bob, "just bob"))
    before = await bundled(alice, room, root)
    assert before["m.thread"]["count"] == 2 and len(references_in(before)) == 2
    assert before["m.thread"]["latest_event"]["event_id"] == from_bob

    await alice.request("PUT", f"/user/{alice.user_id}/account_data/m.ignored_user_list",
                        {"ignored_users": {bob.user_id: {}}})
    after = await bundled(alice, room, root)
    assert after["m.thread"]["count"] == 1
    assert after["m.thread"]["latest_event"]["event_id"] == from_carol
    assert references_in(after) == [ref_carol]
    assert "m.thread" not in await bundled(alice, room, only_bob)
    listed = await threads(alice, room)
    assert list(listed) == [root] and listed[root]["count"] == 1
    assert await related(alice, room, root, "m.thread") == [from_carol]
    # Carol ignores nobody: her aggregation is whole.
    assert (await bundled(carol, room, root))["m.thread"]["count"] == 2
