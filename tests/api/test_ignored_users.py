"""Ignoring users (client-server-api modules/ignore_users.md): with
`m.ignored_user_list` in global account data, the ignored user's events do
not reach the user through /sync, /messages or /context, except state events;
their invites are not sent; the list takes effect at once."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def ignore(user: User, *others: User) -> None:
    await user.request("PUT", f"/user/{user.user_id}/account_data/m.ignored_user_list",
                       {"ignored_users": {o.user_id: {} for o in others}})


def timeline(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = body["rooms"]["join"].get(room_id, {})
    return list(room.get("timeline", {}).get("events", []))


def bodies(events: list[dict[str, Any]]) -> list[str]:
    return [e["content"]["body"] for e in events if e["type"] == "m.room.message"]


async def three_in_a_room(client: httpx.AsyncClient) -> tuple[User, User, User, str]:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    await carol.join(room_id)
    return alice, bob, carol, room_id


async def test_ignored_users_messages_are_withheld_but_state_is_not(client: httpx.AsyncClient) -> None:
    alice, bob, carol, room_id = await three_in_a_room(client)
    token = (await alice.sync())["next_batch"]  # caches "ignores nobody"
    await ignore(alice, bob)

    await bob.send(room_id, "from bob")
    await bob.request("PUT", f"/profile/{bob.user_id}/displayname", {"displayname": "Bobby"})
    await carol.send(room_id, "from carol")
    body = await alice.sync(token)
    validate_response("sync.yaml", "get", "/sync", 200, body)
    assert body["account_data"]["events"] == [
        {"type": "m.ignored_user_list", "content": {"ignored_users": {bob.user_id: {}}}}]
    events = timeline(body, room_id)
    assert bodies(events) == ["from carol"]
    member = [e for e in events if e["type"] == "m.room.member"]
    assert member[0]["sender"] == bob.user_id  # state events still arrive
    assert member[0]["content"]["displayname"] == "Bobby"
    # The others still see bob.
    assert "from bob" in bodies(timeline(await carol.sync(), room_id))
    # An initial sync withholds them as well.
    assert "from bob" not in bodies(timeline(await alice.sync(), room_id))


async def test_ignored_in_messages_and_context(client: httpx.AsyncClient) -> None:
    alice, bob, carol, room_id = await three_in_a_room(client)
    await carol.send(room_id, "before")
    ignored_message = await bob.send(room_id, "from bob")
    anchor = await carol.send(room_id, "anchor")
    await bob.send(room_id, "bob again")
    await carol.send(room_id, "after")
    await ignore(alice, bob)

    page = await alice.request("GET", f"/rooms/{room_id}/messages", params={"dir": "b", "limit": 50})
    assert bodies(page["chunk"]) == ["after", "anchor", "before"]
    context = await alice.request("GET", f"/rooms/{room_id}/context/{anchor}", params={"limit": 4})
    assert bodies(context["events_before"]) == ["before"]
    assert bodies(context["events_after"]) == ["after"]
    # The event a client asks for by ID is still returned.
    asked = await alice.request("GET", f"/rooms/{room_id}/context/{ignored_message}")
    assert asked["event"]["event_id"] == ignored_message
    # Carol, who ignores nobody, pages through everything.
    page = await carol.request("GET", f"/rooms/{room_id}/messages", params={"dir": "b", "limit": 50})
    assert bodies(page["chunk"])[:2] == ["after", "bob again"]


async def test_ignored_users_typing_receipts_and_counts(client: httpx.AsyncClient) -> None:
    alice, bob, carol, room_id = await three_in_a_room(client)
    await ignore(alice, bob)
    message = await carol.send(room_id, "hello")
    token = (await alice.sync())["next_batch"]
    await bob.request("PUT", f"/rooms/{room_id}/typing/{bob.user_id}", {"typing": True, "timeout": 30000})
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{message}", {})
    await carol.request("POST", f"/rooms/{room_id}/receipt/m.read/{message}", {})
    await bob.send(room_id, "unseen")
    body = await alice.sync(token)
    ephemeral = body["rooms"]["join"][room_id]["ephemeral"]["events"]
    typing = [e for e in ephemeral if e["type"] == "m.typing"]
    assert typing == [{"type": "m.typing", "content": {"user_ids": []}}]
    receipt = next(e for e in ephemeral if e["type"] == "m.receipt")
    assert list(receipt["content"][message]["m.read"]) == [carol.user_id]
    # Only carol's message counts as unread; bob's is not delivered at all.
    assert body["rooms"]["join"][room_id]["unread_notifications"]["notification_count"] == 1


async def test_invites_from_ignored_users_are_not_sent(client: httpx.AsyncClient) -> None:
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    await ignore(alice, bob)
    token = (await alice.sync())["next_batch"]
    from_bob = await bob.create_room(invite=[alice.user_id])
    from_carol = await carol.create_room(invite=[alice.user_id])
    body = await alice.sync(token)
    validate_response("sync.yaml", "get", "/sync", 200, body)
    assert list(body["rooms"]["invite"]) == [from_carol]
    assert from_bob not in (await alice.sync())["rooms"]["invite"]


async def test_unignoring_resumes_without_missed_events(client: httpx.AsyncClient) -> None:
    alice, bob, carol, room_id = await three_in_a_room(client)
    await ignore(alice, bob)
    token = (await alice.sync())["next_batch"]
    await bob.send(room_id, "while ignored")
    token = (await alice.sync(token))["next_batch"]
    await ignore(alice)  # the list is now empty
    await bob.send(room_id, "after unignoring")
    body = await alice.sync(token)
    assert body["account_data"]["events"][0]["content"] == {"ignored_users": {}}
    # ignore_users.md: the server resumes sending the user's events but does
    # not send the ones missed while they were ignored (a fresh sync does).
    assert bodies(timeline(body, room_id)) == ["after unignoring"]
    fresh = await alice.sync(filter='{"room":{"timeline":{"limit":50}}}')
    assert {"while ignored", "after unignoring"} <= set(bodies(timeline(fresh, room_id)))


async def test_malformed_list_ignores_nobody(client: httpx.AsyncClient) -> None:
    alice, bob, carol, room_id = await three_in_a_room(client)
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/m.ignored_user_list",
                        {"ignored_users": [bob.user_id]})
    await bob.send(room_id, "still here")
    assert "still here" in bodies(timeline(await alice.sync(), room_id))
