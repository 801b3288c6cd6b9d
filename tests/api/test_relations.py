"""Relations per relations.yaml and thread lists per threads_list.yaml."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

V1 = "/_matrix/client/v1"


def annotation(target: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


def thread_reply(root: str, text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root}}


async def relations(user: User, room_id: str, event_id: str, *tail: str, expect: int = 200,
                    **params: Any) -> Any:
    path = "/".join([f"{V1}/rooms/{room_id}/relations/{event_id}", *tail])
    return await user.request("GET", path, params=params, expect=expect)


async def test_all_three_variants(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    parent = await alice.send(room_id, "parent")
    thumbs = await alice.send(room_id, annotation(parent, "👍"), "m.reaction")
    reply = await alice.send(room_id, thread_reply(parent, "in thread"))
    await alice.send(room_id, "unrelated")
    body = await relations(alice, room_id, parent)
    validate_response("relations.yaml", "get", "/rooms/{roomId}/relations/{eventId}", 200, body)
    assert [e["event_id"] for e in body["chunk"]] == [reply, thumbs]  # newest first
    assert "recursion_depth" not in body and "next_batch" not in body
    typed = await relations(alice, room_id, parent, "m.annotation")
    validate_response("relations.yaml", "get", "/rooms/{roomId}/relations/{eventId}/{relType}",
                      200, typed)
    assert [e["event_id"] for e in typed["chunk"]] == [thumbs]
    both = await relations(alice, room_id, parent, "m.thread", "m.room.message")
    validate_response("relations.yaml", "get",
                      "/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}", 200, both)
    assert [e["event_id"] for e in both["chunk"]] == [reply]
    none = await relations(alice, room_id, parent, "m.thread", "m.reaction")
    assert none == {"chunk": []}


async def test_pagination_in_both_directions(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    parent = await alice.send(room_id, "parent")
    children = [await alice.send(room_id, annotation(parent, str(i)), "m.reaction")
                for i in range(5)]
    page1 = await relations(alice, room_id, parent, limit=2)
    assert [e["event_id"] for e in page1["chunk"]] == children[:2:-1][:2]
    page2 = await relations(alice, room_id, parent, limit=2, **{"from": page1["next_batch"]})
    assert [e["event_id"] for e in page2["chunk"]] == [children[2], children[1]]
    assert page2["prev_batch"] == page1["next_batch"]
    page3 = await relations(alice, room_id, parent, limit=2, **{"from": page2["next_batch"]})
    assert [e["event_id"] for e in page3["chunk"]] == [children[0]]
    assert "next_batch" not in page3
    # `to` stops before what an earlier page already returned.
    bounded = await relations(alice, room_id, parent, limit=10,
                              **{"from": page1["next_batch"], "to": page3["prev_batch"]})
    assert [e["event_id"] for e in bounded["chunk"]] == [children[2], children[1]]
    forward = await relations(alice, room_id, parent, dir="f", limit=3)
    assert [e["event_id"] for e in forward["chunk"]] == children[:3]
    rest = await relations(alice, room_id, parent, dir="f", **{"from": forward["next_batch"]})
    assert [e["event_id"] for e in rest["chunk"]] == children[3:]
    bad = await relations(alice, room_id, parent, dir="x", expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"
    # A /messages token is accepted as `from`.
    messages = await alice.request("GET", f"/rooms/{room_id}/messages", params={"limit": 1})
    assert len((await relations(alice, room_id, parent, **{"from": messages["start"]}))["chunk"]) == 5


async def test_recurse_reports_depth(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    root = await alice.send(room_id, "root")
    reply = await alice.send(room_id, thread_reply(root, "reply"))
    reaction = await alice.send(room_id, annotation(reply, "👍"), "m.reaction")
    direct = await relations(alice, room_id, root, recurse="false")
    assert [e["event_id"] for e in direct["chunk"]] == [reply]
    assert direct["recursion_depth"] == 1
    deep = await relations(alice, room_id, root, recurse="true")
    validate_response("relations.yaml", "get", "/rooms/{roomId}/relations/{eventId}", 200, deep)
    assert [e["event_id"] for e in deep["chunk"]] == [reaction, reply]
    assert deep["recursion_depth"] == 3
    await relations(alice, room_id, root, recurse="maybe", expect=400)


async def test_unknown_or_invisible_parent_is_404(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    parent = await alice.send(room_id, "parent")
    await alice.send(room_id, annotation(parent, "x"), "m.reaction")
    missing = await relations(alice, room_id, "$nope", expect=404)
    validate_response("relations.yaml", "get", "/rooms/{roomId}/relations/{eventId}", 404, missing)
    assert missing["errcode"] == "M_NOT_FOUND"
    assert (await relations(bob, room_id, parent, expect=404))["errcode"] == "M_NOT_FOUND"
    other_room = await alice.create_room()
    await relations(alice, other_room, parent, expect=404)
    # history_visibility "joined": Bob sees only what was sent after he joined.
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    hidden = await alice.send(room_id, "before bob joined")
    await bob.join(room_id)
    await relations(bob, room_id, hidden, expect=404)
    new_parent = await alice.send(room_id, "after bob joined")
    mine = await bob.send(room_id, annotation(new_parent, "y"), "m.reaction")
    seen = await relations(bob, room_id, new_parent)
    assert [e["event_id"] for e in seen["chunk"]] == [mine]


async def test_threads_list(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    first = await alice.send(room_id, "first root")
    second = await bob.send(room_id, "second root")
    await alice.send(room_id, thread_reply(first, "a1"))
    await alice.send(room_id, thread_reply(second, "a2"))
    latest = await bob.send(room_id, thread_reply(first, "b1"))
    await alice.send(room_id, "not a thread")
    body = await alice.request("GET", f"{V1}/rooms/{room_id}/threads")
    validate_response("threads_list.yaml", "get", "/rooms/{roomId}/threads", 200, body)
    assert [e["event_id"] for e in body["chunk"]] == [first, second]
    summary = body["chunk"][0]["unsigned"]["m.relations"]["m.thread"]
    assert summary["count"] == 2 and summary["current_user_participated"] is True
    assert summary["latest_event"]["event_id"] == latest
    page = await alice.request("GET", f"{V1}/rooms/{room_id}/threads", params={"limit": 1})
    assert [e["event_id"] for e in page["chunk"]] == [first]
    rest = await alice.request("GET", f"{V1}/rooms/{room_id}/threads",
                               params={"limit": 1, "from": page["next_batch"]})
    assert [e["event_id"] for e in rest["chunk"]] == [second]
    carol = await register(client, "carol")
    await carol.join(room_id)
    await carol.send(room_id, thread_reply(second, "c1"))
    mine = await carol.request("GET", f"{V1}/rooms/{room_id}/threads",
                               params={"include": "participated"})
    assert [e["event_id"] for e in mine["chunk"]] == [second]
    bobs = await bob.request("GET", f"{V1}/rooms/{room_id}/threads",
                             params={"include": "participated"})
    assert [e["event_id"] for e in bobs["chunk"]] == [second, first]  # root sender counts


async def test_threads_list_forbidden(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    denied = await bob.request("GET", f"{V1}/rooms/{room_id}/threads", expect=403)
    validate_response("threads_list.yaml", "get", "/rooms/{roomId}/threads", 403, denied)
    await bob.request("GET", f"{V1}/rooms/!nope:localhost/threads", expect=403)
    bad = await alice.request("GET", f"{V1}/rooms/{room_id}/threads",
                              params={"include": "some"}, expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"


async def test_children_sent_after_leaving_are_hidden(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    parent = await alice.send(room_id, "parent")
    before = await alice.send(room_id, annotation(parent, "a"), "m.reaction")
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    await alice.send(room_id, annotation(parent, "b"), "m.reaction")
    seen = await relations(bob, room_id, parent)
    assert [e["event_id"] for e in seen["chunk"]] == [before]
    assert len((await relations(alice, room_id, parent))["chunk"]) == 2


async def test_a_forgotten_room_has_no_relations_or_threads(client: httpx.AsyncClient) -> None:
    """leaving.yaml forget: the user can no longer retrieve the room's history,
    so /relations answers like /event (404) and /threads like /messages (403)."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    parent = await alice.send(room_id, "parent")
    await alice.send(room_id, thread_reply(parent, "reply"))
    assert len((await relations(bob, room_id, parent))["chunk"]) == 1
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    assert len((await relations(bob, room_id, parent))["chunk"]) == 1  # left, not forgotten
    await bob.request("POST", f"/rooms/{room_id}/forget", {})
    gone = await relations(bob, room_id, parent, expect=404)
    assert gone["errcode"] == "M_NOT_FOUND"
    await bob.request("GET", f"/rooms/{room_id}/event/{parent}", expect=404)
    denied = await bob.request("GET", f"{V1}/rooms/{room_id}/threads", expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    # Joining again brings the history back (shared visibility).
    await bob.join(room_id)
    assert len((await relations(bob, room_id, parent))["chunk"]) == 1


async def test_thread_summary_shows_only_a_latest_event_the_user_may_see(
        client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    await bob.join(room_id)
    seen_root = await alice.send(room_id, "root one")
    seen_reply = await alice.send(room_id, thread_reply(seen_root, "while bob is here"))
    bare_root = await alice.send(room_id, "root two")
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    hidden = await alice.send(room_id, thread_reply(seen_root, "after bob left"))
    await alice.send(room_id, thread_reply(bare_root, "also after bob left"))

    def thread_of(body: dict[str, Any], root: str) -> Any:
        event = next(e for e in body["chunk"] if e["event_id"] == root)
        return event.get("unsigned", {}).get("m.relations", {}).get("m.thread")

    mine = await alice.request("GET", f"{V1}/rooms/{room_id}/threads")
    assert thread_of(mine, seen_root)["latest_event"]["event_id"] == hidden
    theirs = await bob.request("GET", f"{V1}/rooms/{room_id}/threads")
    validate_response("threads_list.yaml", "get", "/rooms/{roomId}/threads", 200, theirs)
    # threads_list.yaml orders by the latest_event in the bundle Bob gets: a
    # thread none of whose replies he may see is no thread to him.
    assert [e["event_id"] for e in theirs["chunk"]] == [seen_root]
    summary = thread_of(theirs, seen_root)
    assert summary["latest_event"]["event_id"] == seen_reply and summary["count"] == 1
    assert summary["current_user_participated"] is False
    assert hidden not in str(theirs)
    assert thread_of(mine, seen_root)["count"] == 2


async def test_bundled_edit_and_thread_reply_after_leaving_are_not_served(
        client: httpx.AsyncClient) -> None:
    # Bundled aggregations are events too: sent after bob left, under the
    # default "shared" visibility he may not see them, so neither /messages
    # nor /event may hand them out inside the root's unsigned.m.relations.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    root = await alice.send(room, "root")
    early = await alice.send(room, thread_reply(root, "seen by bob"))
    await bob.request("POST", f"/rooms/{room}/leave", {})
    await alice.send(room, thread_reply(root, "after bob left"))
    await alice.send(room, {"msgtype": "m.text", "body": "* edited", "m.new_content": {
        "msgtype": "m.text", "body": "edited"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": root}})

    def bundled(event: dict[str, Any]) -> dict[str, Any]:
        return dict(event.get("unsigned", {}).get("m.relations", {}))

    seen_by_alice = bundled(await alice.request("GET", f"/rooms/{room}/event/{root}"))
    assert seen_by_alice["m.thread"]["latest_event"]["content"]["body"] == "after bob left"
    assert "m.replace" in seen_by_alice

    page = await bob.request("GET", f"/rooms/{room}/messages", params={"dir": "b", "limit": 50})
    (served,) = [e for e in page["chunk"] if e["event_id"] == root]
    for event in (served, await bob.request("GET", f"/rooms/{room}/event/{root}")):
        relations_seen = bundled(event)
        assert "m.replace" not in relations_seen
        assert relations_seen.get("m.thread", {}).get("latest_event", {}).get("event_id") in (
            None, early)


async def test_an_ignored_users_relations_and_threads_are_not_listed(
        client: httpx.AsyncClient) -> None:
    # ignore_users.md: events of an ignored user are no longer delivered.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    carol = await register(client, "carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    root = await alice.send(room, "root")
    from_bob = await bob.send(room, annotation(root, "👍"), "m.reaction")
    from_carol = await carol.send(room, annotation(root, "🎉"), "m.reaction")
    bobs_thread = await bob.send(room, "bob's own thread")
    await bob.send(room, thread_reply(bobs_thread, "in bob's thread"))
    listed = await relations(alice, room, root)
    assert {e["event_id"] for e in listed["chunk"]} == {from_bob, from_carol}
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/m.ignored_user_list",
                        {"ignored_users": {bob.user_id: {}}})
    listed = await relations(alice, room, root)
    assert [e["event_id"] for e in listed["chunk"]] == [from_carol]
    threads = await alice.request("GET", f"{V1}/rooms/{room}/threads")
    assert bobs_thread not in [e["event_id"] for e in threads["chunk"]]


async def test_a_reference_sent_after_leaving_is_not_bundled(client: httpx.AsyncClient) -> None:
    # reference_relations.md bundles the referencing events' IDs; one sent
    # after bob left is not his to know of, even by ID.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    root = await alice.send(room, "root")
    before = await alice.send(room, {"msgtype": "m.text", "body": "see above", "m.relates_to": {
        "rel_type": "m.reference", "event_id": root}})
    await bob.request("POST", f"/rooms/{room}/leave", {})
    after = await alice.send(room, {"msgtype": "m.text", "body": "later", "m.relates_to": {
        "rel_type": "m.reference", "event_id": root}})

    def references(event: dict[str, Any]) -> list[str]:
        chunk = event.get("unsigned", {}).get("m.relations", {}).get("m.reference", {})
        return [r["event_id"] for r in chunk.get("chunk", [])]

    assert references(await alice.request("GET", f"/rooms/{room}/event/{root}")) == [before, after]
    assert references(await bob.request("GET", f"/rooms/{room}/event/{root}")) == [before]
