"""Typing, receipts, read markers, reactions, edits and redactions through
matrix-nio against a real `kith serve`.

Spec: client-server-api modules "Typing Notifications", "Receipts",
"Fully read markers", "Event annotations and reactions", "Event replacements",
"Redactions".
"""

from __future__ import annotations

from nio import (
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
