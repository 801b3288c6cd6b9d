"""POST /search per search.yaml and modules/search.md."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def search(user: User, term: str, expect: int = 200, next_batch: str | None = None,
                 **criteria: Any) -> dict[str, Any]:
    body = {"search_categories": {"room_events": {"search_term": term, **criteria}}}
    params = {"next_batch": next_batch} if next_batch else None
    answer: dict[str, Any] = await user.request("POST", "/search", body, params=params,
                                                expect=expect)
    if expect == 200:
        validate_response("search.yaml", "post", "/search", 200, answer)
        return dict(answer["search_categories"]["room_events"])
    return answer


def found(result: dict[str, Any]) -> list[str]:
    return [r["result"]["event_id"] for r in result["results"]]


async def room_with(client: httpx.AsyncClient) -> tuple[User, User, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat", name="Mars base", topic="Red planet")
    await bob.join(room)
    return alice, bob, room


async def test_finds_messages_names_and_topics(client: httpx.AsyncClient) -> None:
    alice, bob, room = await room_with(client)
    war = await alice.send(room, "The war of the Martians and men")
    await alice.send(room, "Nothing to see here")
    tea = await bob.send(room, "Martian tea is red")
    result = await search(bob, "martian")
    assert set(found(result)) == {war, tea}
    assert result["count"] == 2 and result["highlights"] == ["martian"]
    assert all(r["rank"] > 0 for r in result["results"])
    assert "next_batch" not in result
    recent = await search(bob, "martian", order_by="recent")
    assert found(recent) == [tea, war]
    # Every word must match.
    assert found(await search(bob, "martians war")) == [war]
    assert found(await search(bob, "martians tea")) == []
    names = await search(bob, "mars", keys=["content.name"])
    assert [r["result"]["type"] for r in names["results"]] == ["m.room.name"]
    topics = await search(bob, "planet", keys=["content.topic"])
    assert [r["result"]["type"] for r in topics["results"]] == ["m.room.topic"]
    assert found(await search(bob, "mars", keys=["content.body"])) == []
    assert found(await search(bob, "***")) == [] and (await search(bob, "***"))["count"] == 0


async def test_only_what_the_user_may_see(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat", initial_state=[
        {"type": "m.room.history_visibility", "state_key": "",
         "content": {"history_visibility": "joined"}}])
    await alice.send(room, "secret plans before bob")
    await bob.join(room)
    during = await alice.send(room, "public plans while bob is here")
    await bob.request("POST", f"/rooms/{room}/leave", {})
    await alice.send(room, "plans after bob left")
    result = await search(bob, "plans")
    assert found(result) == [during] and result["count"] == 1
    assert len(found(await search(alice, "plans"))) == 3
    # Rooms never joined are not searched, even public ones.
    carol = await register(client, "carol")
    assert found(await search(carol, "plans")) == []
    # Forgetting a room takes it out of search.
    await bob.request("POST", f"/rooms/{room}/forget", {})
    assert found(await search(bob, "plans")) == []


async def test_encrypted_rooms_and_redactions_are_left_out(client: httpx.AsyncClient) -> None:
    alice, bob, room = await room_with(client)
    secret = await alice.create_room(preset="public_chat")
    await alice.send(secret, "zebra crossing before encryption")
    await alice.request("PUT", f"/rooms/{secret}/state/m.room.encryption/",
                        {"algorithm": "m.megolm.v1.aes-sha2"})
    assert found(await search(alice, "zebra")) == []
    gone = await alice.send(room, "zebra to be redacted")
    assert found(await search(bob, "zebra")) == [gone]
    await alice.request("PUT", f"/rooms/{room}/redact/{gone}/r1", {})
    assert found(await search(bob, "zebra")) == []


async def test_pages_groups_and_filters(client: httpx.AsyncClient) -> None:
    alice, bob, room = await room_with(client)
    other = await alice.create_room(preset="public_chat")
    await bob.join(other)
    sent = []
    for i in range(5):
        sent.append(await alice.send(room, f"apple number {i}"))
    mine = await bob.send(other, "apple of my own")
    for order in ("recent", "rank"):
        seen: list[str] = []
        token = None
        while True:
            page = await search(bob, "apple", next_batch=token, order_by=order,
                                filter={"limit": 2})
            assert len(page["results"]) <= 2
            seen += found(page)
            token = page.get("next_batch")
            if token is None:
                break
        assert sorted(seen) == sorted([*sent, mine]), order
    grouped = await search(bob, "apple", order_by="recent", filter={"limit": 3},
                           groupings={"group_by": [{"key": "room_id"}, {"key": "sender"}]})
    assert found(grouped) == [mine, sent[4], sent[3]]
    by_room = grouped["groups"]["room_id"]
    assert by_room[other]["results"] == [mine] and by_room[other]["order"] == 1
    assert by_room[room]["results"] == [sent[4], sent[3]]
    assert grouped["groups"]["sender"][bob.user_id]["results"] == [mine]
    within = await search(bob, "apple", order_by="recent", filter={"limit": 3},
                          next_batch=by_room[room]["next_batch"])
    assert found(within) == [sent[2], sent[1], sent[0]]
    ranked = await search(bob, "apple", filter={"limit": 1},
                          groupings={"group_by": [{"key": "room_id"}]})
    first_room = next(iter(ranked["groups"]["room_id"]))
    rest = await search(bob, "apple", filter={"limit": 10},
                        next_batch=ranked["groups"]["room_id"][first_room]["next_batch"])
    assert {r["result"]["room_id"] for r in rest["results"]} == {first_room}
    assert len(found(rest)) + 1 == (1 if first_room == other else 5)
    only_bob = await search(bob, "apple", filter={"senders": [bob.user_id]})
    assert found(only_bob) == [mine]
    not_other = await search(bob, "apple", filter={"not_rooms": [other]})
    assert set(found(not_other)) == set(sent)


async def test_context_profiles_and_state(client: httpx.AsyncClient) -> None:
    alice, bob, room = await room_with(client)
    await alice.request("PUT", f"/profile/{alice.user_id}/displayname", {"displayname": "Alice A"})
    before = await alice.send(room, "first words")
    hit = await alice.send(room, "the needle")
    after = await bob.send(room, "last words")
    result = await search(bob, "needle", include_state=True, event_context={
        "before_limit": 1, "after_limit": 1, "include_profile": True})
    context = result["results"][0]["context"]
    assert [e["event_id"] for e in context["events_before"]] == [before]
    assert [e["event_id"] for e in context["events_after"]] == [after]
    assert context["start"] and context["end"]
    assert context["profile_info"][alice.user_id]["displayname"] == "Alice A"
    assert bob.user_id in context["profile_info"]
    state_types = {e["type"] for e in result["state"][room]}
    assert {"m.room.create", "m.room.name", "m.room.member"} <= state_types
    assert found(result) == [hit]


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    await alice.request("POST", "/search", {}, expect=400)
    bad = {"search_categories": {"room_events": {}}}
    assert (await alice.request("POST", "/search", bad, expect=400))["errcode"] == "M_MISSING_PARAM"
    await search(alice, "x", expect=400, order_by="oldest")
    await search(alice, "x", expect=400, keys=["content.other"])
    await search(alice, "x", expect=400, groupings={"group_by": [{"key": "type"}]})
    assert (await search(alice, "x", expect=400, next_batch="%%%"))["errcode"] == "M_INVALID_PARAM"
    token = (await search(alice, "x", order_by="recent")).get("next_batch")
    assert token is None
    empty = await alice.request("POST", "/search", {"search_categories": {}})
    assert empty == {"search_categories": {}}


async def test_ignored_users_messages_are_not_found(client: httpx.AsyncClient) -> None:
    # ignore_users.md: the ignored user's events are not delivered, except
    # their state events ("Servers must still send state events").
    alice, bob, room = await room_with(client)
    mine = await alice.send(room, "penguin parade")
    theirs = [await bob.send(room, f"penguin number {i}") for i in range(3)]
    levels = await alice.request("GET", f"/rooms/{room}/state/m.room.power_levels/")
    levels["users"][bob.user_id] = 50
    await alice.request("PUT", f"/rooms/{room}/state/m.room.power_levels/", levels)
    await bob.request("PUT", f"/rooms/{room}/state/m.room.topic/", {"topic": "penguin island"})
    before = await search(alice, "penguin", keys=["content.body"])
    assert set(found(before)) == {mine, *theirs} and before["count"] == 4
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/m.ignored_user_list",
                        {"ignored_users": {bob.user_id: {}}})
    for order in ("rank", "recent"):
        after = await search(alice, "penguin", keys=["content.body"], order_by=order,
                             groupings={"group_by": [{"key": "sender"}]})
        assert found(after) == [mine] and after["count"] == 1, order
        assert list(after["groups"]["sender"]) == [alice.user_id]
    topics = await search(alice, "penguin", keys=["content.topic"])
    assert [r["result"]["sender"] for r in topics["results"]] == [bob.user_id]
    assert topics["count"] == 1
    # Bob ignores nobody: he still finds everything.
    assert (await search(bob, "penguin", keys=["content.body"]))["count"] == 4
