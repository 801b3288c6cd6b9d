"""Typing, receipts, read markers, reactions, edits and redactions through
matrix-nio against a real `kith serve`.

Spec: client-server-api modules "Typing Notifications", "Receipts",
"Fully read markers", "Event annotations and reactions", "Event replacements",
"Threading", "Redactions", "Forming relationships between events".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    FullyReadEvent,
    ReceiptEvent,
    RoomGetEventResponse,
    RoomReadMarkersResponse,
    RoomRedactError,
    RoomRedactResponse,
    RoomSendResponse,
    RoomTypingResponse,
    TypingNoticeEvent,
    UpdateReceiptMarkerResponse,
)
from nio.api import ReceiptType

from nio_helpers import (
    Clients,
    bodies_seen,
    catch_up,
    ephemeral,
    errcode,
    expect,
    raw,
    request,
    say,
    shared_room,
    sync_until,
    timeline,
)


def typing_users(responses, room_id):  # type: ignore[no-untyped-def]
    """Each m.typing event's user list, in the order they arrived."""
    return [e.users for e in ephemeral(responses, room_id) if isinstance(e, TypingNoticeEvent)]


def receipts(responses, room_id):  # type: ignore[no-untyped-def]
    return [r for e in ephemeral(responses, room_id) if isinstance(e, ReceiptEvent) for r in e.receipts]


def room_account_data(responses, room_id):  # type: ignore[no-untyped-def]
    return [e for r in responses if room_id in r.rooms.join for e in r.rooms.join[room_id].account_data]


async def test_typing_notifications(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(bob)

    expect(await alice.room_typing(room_id, typing_state=True, timeout=30_000), RoomTypingResponse)
    seen = await sync_until(bob, lambda s: [alice.user_id] in typing_users(s, room_id))

    expect(await alice.room_typing(room_id, typing_state=False), RoomTypingResponse)
    seen = await sync_until(bob, lambda s: [] in typing_users(s, room_id))
    assert typing_users(seen, room_id)[-1] == []


async def test_typing_times_out(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(bob)

    expect(await alice.room_typing(room_id, typing_state=True, timeout=1_000), RoomTypingResponse)
    await sync_until(bob, lambda s: [alice.user_id] in typing_users(s, room_id))
    # Without a stop, the server drops Alice from the list once the timeout passes.
    await sync_until(bob, lambda s: [] in typing_users(s, room_id), rounds=10, timeout_ms=2000)


async def test_read_receipt_is_seen_by_the_other_member(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)
    message = await say(bob, room_id, "did you read this?")
    await sync_until(alice, bodies_seen(room_id, ["did you read this?"]))

    expect(await alice.update_receipt_marker(room_id, message, ReceiptType.read), UpdateReceiptMarkerResponse)
    seen = await sync_until(bob, lambda s: any(r.user_id == alice.user_id for r in receipts(s, room_id)))
    receipt = next(r for r in receipts(seen, room_id) if r.user_id == alice.user_id)
    assert (receipt.event_id, receipt.receipt_type) == (message, "m.read")
    assert receipt.thread_id == "main"  # nio sends thread_id "main"; the receipt keeps it
    assert receipt.timestamp > 0


async def test_read_markers(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)
    first = await say(bob, room_id, "one")
    second = await say(bob, room_id, "two")
    await sync_until(alice, bodies_seen(room_id, ["one", "two"]))

    # m.fully_read and m.read on the first message, m.read.private on the second.
    expect(await alice.room_read_markers(room_id, fully_read_event=first, read_event=first,
                                         private_read_event=second), RoomReadMarkersResponse)

    # The public receipt reaches Bob (unthreaded, since no thread_id was given)...
    seen = await sync_until(bob, lambda s: any(r.user_id == alice.user_id for r in receipts(s, room_id)))
    mine = [(r.event_id, r.receipt_type, r.thread_id) for r in receipts(seen, room_id) if r.user_id == alice.user_id]
    assert (first, "m.read", None) in mine
    # ...the fully-read marker lands in Alice's room account data...
    seen_by_alice = await sync_until(alice, lambda s: any(
        isinstance(e, FullyReadEvent) for e in room_account_data(s, room_id)))
    marker = [e for e in room_account_data(seen_by_alice, room_id) if isinstance(e, FullyReadEvent)][-1]
    assert marker.event_id == first
    # ...and the private receipt is only ever shown to Alice herself.
    await say(alice, room_id, "fence")
    seen += await sync_until(bob, bodies_seen(room_id, ["fence"]))
    assert all(r.receipt_type != "m.read.private" for r in receipts(seen, room_id))
    assert all(not isinstance(e, FullyReadEvent) for e in room_account_data(seen, room_id))


async def test_reaction_is_seen_in_sync(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)
    message = await say(alice, room_id, "I baked a cake")
    await sync_until(bob, bodies_seen(room_id, ["I baked a cake"]))

    relates_to = {"rel_type": "m.annotation", "event_id": message, "key": "👍"}
    reaction = expect(await bob.room_send(room_id, "m.reaction", {"m.relates_to": relates_to}),
                      RoomSendResponse).event_id

    seen = await sync_until(alice, lambda s: reaction in [raw(e)["event_id"] for e in timeline(s, room_id)])
    event = next(raw(e) for e in timeline(seen, room_id) if raw(e)["event_id"] == reaction)
    assert event["type"] == "m.reaction" and event["sender"] == bob.user_id
    assert event["content"]["m.relates_to"] == relates_to


async def test_edit_is_seen_in_sync(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)
    original = await say(alice, room_id, "I like cake")

    edit_content = {
        "msgtype": "m.text", "body": "* I like chocolate cake",
        "m.new_content": {"msgtype": "m.text", "body": "I like chocolate cake"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }
    edit = expect(await alice.room_send(room_id, "m.room.message", edit_content), RoomSendResponse).event_id

    seen = await sync_until(bob, bodies_seen(room_id, ["I like cake", "* I like chocolate cake"]))
    events = {raw(e)["event_id"]: raw(e) for e in timeline(seen, room_id)}
    assert list(events).index(original) < list(events).index(edit)
    assert events[edit]["content"]["m.new_content"] == edit_content["m.new_content"]
    assert events[edit]["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": original}
    # The original event is delivered as sent; the client applies the edit.
    assert events[original]["content"]["body"] == "I like cake"


async def test_edit_is_aggregated_on_the_original(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    original = await say(alice, room_id, "v1")
    for version in ("v2", "v3"):
        await alice.room_send(room_id, "m.room.message", {
            "msgtype": "m.text", "body": f"* {version}",
            "m.new_content": {"msgtype": "m.text", "body": version},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original}})

    fetched = raw(expect(await bob.room_get_event(room_id, original), RoomGetEventResponse).event)
    assert fetched["content"]["body"] == "v1"
    replace = fetched.get("unsigned", {}).get("m.relations", {}).get("m.replace")
    assert replace is not None, f"no m.replace aggregation in unsigned: {fetched}"
    assert replace["content"]["m.new_content"]["body"] == "v3"  # the most recent edit


async def test_redaction_is_seen_in_sync(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)
    message = await say(alice, room_id, "oops, my password is hunter2")

    # Bob (power level 0) may not redact Alice's event.
    refused = await bob.room_redact(room_id, message, reason="no")
    assert isinstance(refused, RoomRedactError) and errcode(refused) == "M_FORBIDDEN"

    redaction = expect(await alice.room_redact(room_id, message, reason="leaked"), RoomRedactResponse).event_id
    seen = await sync_until(bob, lambda s: redaction in [raw(e)["event_id"] for e in timeline(s, room_id)])
    event = next(raw(e) for e in timeline(seen, room_id) if raw(e)["event_id"] == redaction)
    assert event["type"] == "m.room.redaction" and event["sender"] == alice.user_id
    assert event["content"]["redacts"] == message  # room v11+: in content
    assert event["content"]["reason"] == "leaked"
    assert event.get("redacts") == message  # top level too, for older clients

    # Fetching the original now gives its redacted form.
    fetched = raw(expect(await bob.room_get_event(room_id, message), RoomGetEventResponse).event)
    assert fetched["content"] == {}
    assert fetched["unsigned"]["redacted_because"]["event_id"] == redaction


async def relation_ids(client: AsyncClient, room_id: str, event_id: str, rel_type: str) -> list[str]:
    """The event IDs GET /relations/{eventId}/{relType} lists, sorted."""
    path = f"/_matrix/client/v1/rooms/{quote(room_id)}/relations/{quote(event_id)}/{rel_type}"
    status, body = await request(client, "GET", path)
    assert status == 200, body
    return sorted(e["event_id"] for e in body["chunk"])


async def bundled(client: AsyncClient, room_id: str, event_id: str) -> dict[str, Any]:
    """The aggregations the server bundles with an event fetched by ID."""
    event = raw(expect(await client.room_get_event(room_id, event_id), RoomGetEventResponse).event)
    return event.get("unsigned", {}).get("m.relations", {})  # type: ignore[no-any-return]


async def redact(client: AsyncClient, room_id: str, event_id: str) -> None:
    expect(await client.room_redact(room_id, event_id), RoomRedactResponse)


async def test_a_redacted_reaction_leaves_the_relations(clients: Clients) -> None:
    """"When an annotation is redacted, it is removed from the count", and
    the redacted event no longer relates to anything: /relations leaves it
    out, and the same reaction may be sent again."""
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    message = await say(alice, room_id, "Shall we dance?")

    async def react(key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": message, "key": key}}
        return expect(await bob.room_send(room_id, "m.reaction", content), RoomSendResponse).event_id

    thumb, party = await react("👍"), await react("🎉")
    assert await relation_ids(alice, room_id, message, "m.annotation") == sorted([thumb, party])
    await redact(bob, room_id, thumb)
    assert await relation_ids(alice, room_id, message, "m.annotation") == [party]
    again = await react("👍")
    assert await relation_ids(alice, room_id, message, "m.annotation") == sorted([party, again])


async def test_a_redacted_edit_reverts_to_the_edit_before(clients: Clients) -> None:
    """Spec "Redactions of edited events": redacting the most recent edit
    reverts the event to its content before that edit, so the server bundles
    the edit before it, and none once every edit is redacted."""
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    original = await say(alice, room_id, "version 1")
    edits = []
    for version in ("version 2", "version 3"):
        edits.append(expect(await alice.room_send(room_id, "m.room.message", {
            "msgtype": "m.text", "body": f"* {version}",
            "m.new_content": {"msgtype": "m.text", "body": version},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original}}), RoomSendResponse).event_id)
    assert (await bundled(bob, room_id, original))["m.replace"]["event_id"] == edits[1]

    await redact(alice, room_id, edits[1])
    replace = (await bundled(bob, room_id, original)).get("m.replace")
    assert replace is not None and replace["event_id"] == edits[0]
    assert replace["content"]["m.new_content"]["body"] == "version 2"
    assert await relation_ids(bob, room_id, original, "m.replace") == [edits[0]]

    await redact(alice, room_id, edits[0])
    assert "m.replace" not in await bundled(bob, room_id, original)
    assert await relation_ids(bob, room_id, original, "m.replace") == []
    fetched = raw(expect(await bob.room_get_event(room_id, original), RoomGetEventResponse).event)
    assert fetched["content"]["body"] == "version 1"


async def test_a_redacted_thread_reply_leaves_the_thread(clients: Clients) -> None:
    """Threading: `count` is the number of events with an m.thread relation
    to the root, and `latest_event` the most recent; a redacted reply has
    none, so both move back, and a thread of only redacted replies is none."""
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    root = await say(alice, room_id, "Which tune?")

    async def reply(client: AsyncClient, body: str) -> str:
        relates_to = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                      "m.in_reply_to": {"event_id": root}}
        content = {"msgtype": "m.text", "body": body, "m.relates_to": relates_to}
        return expect(await client.room_send(room_id, "m.room.message", content), RoomSendResponse).event_id

    replies = [await reply(bob, "A waltz"), await reply(alice, "A tango")]
    thread = (await bundled(bob, room_id, root))["m.thread"]
    assert (thread["count"], thread["latest_event"]["event_id"]) == (2, replies[1])

    await redact(alice, room_id, replies[1])
    thread = (await bundled(bob, room_id, root)).get("m.thread")
    assert thread is not None and (thread["count"], thread["latest_event"]["event_id"]) == (1, replies[0])
    assert await relation_ids(bob, room_id, root, "m.thread") == [replies[0]]

    await redact(bob, room_id, replies[0])
    assert "m.thread" not in await bundled(alice, room_id, root)
    assert await relation_ids(alice, room_id, root, "m.thread") == []
