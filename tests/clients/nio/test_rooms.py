"""Rooms through matrix-nio against a real `kith serve`.

Spec: client-server-api "Creation" (createRoom), "Room membership",
"Syncing", "Getting events for a room" (/messages), "Leaving rooms".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from nio import (
    MatrixRoom,
    JoinedMembersResponse,
    JoinedRoomsResponse,
    JoinError,
    JoinResponse,
    MessageDirection,
    ProfileGetDisplayNameResponse,
    ProfileSetDisplayNameResponse,
    RoomBanResponse,
    RoomCreateResponse,
    RoomForgetError,
    RoomForgetResponse,
    RoomGetEventError,
    RoomGetEventResponse,
    RoomGetStateEventError,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomInviteError,
    RoomInviteResponse,
    RoomKickResponse,
    RoomLeaveResponse,
    RoomMessagesError,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomPutStateResponse,
    RoomSendResponse,
    RoomUnbanResponse,
    SyncResponse,
)

from nio_helpers import (
    Clients,
    bodies,
    bodies_seen,
    catch_up,
    errcode,
    expect,
    http_status,
    invited_to,
    json_body,
    left,
    membership_of,
    paginate,
    raw,
    say,
    shared_room,
    sync,
    sync_until,
    timeline,
)


async def test_create_room_invite_and_join(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    await catch_up(bob)

    created = await alice.room_create(name="Tea party", topic="Mad hatters only",
                                      preset=RoomPreset.private_chat, invite=[bob.user_id], is_direct=True)
    room_id = expect(created, RoomCreateResponse).room_id
    assert room_id.startswith("!")

    # The preset and the name/topic parameters become room state.
    async def state(event_type: str, state_key: str = "") -> dict:
        response = await alice.room_get_state_event(room_id, event_type, state_key)
        return expect(response, RoomGetStateEventResponse).content

    assert (await state("m.room.name"))["name"] == "Tea party"
    assert (await state("m.room.topic"))["topic"] == "Mad hatters only"
    assert (await state("m.room.join_rules"))["join_rule"] == "invite"
    assert (await state("m.room.history_visibility"))["history_visibility"] == "shared"
    assert (await state("m.room.guest_access"))["guest_access"] == "can_join"
    assert (await state("m.room.member", alice.user_id))["membership"] == "join"
    # is_direct is set on the invite member event of every invitee.
    invite = await state("m.room.member", bob.user_id)
    assert invite["membership"] == "invite" and invite["is_direct"] is True

    # Bob sees the invite in rooms.invite, with stripped state describing the room.
    seen = await sync_until(bob, invited_to(room_id))
    with_invite = next(r for r in seen if room_id in r.rooms.invite)
    assert bob.invited_rooms[room_id].name == "Tea party"  # nio built the invited room from it
    # nio only parses some stripped events, so read the rest from the body itself.
    invite_state = (await json_body(with_invite))["rooms"]["invite"][room_id]["invite_state"]["events"]
    stripped = {(e["type"], e["state_key"]): e for e in invite_state}
    assert ("m.room.create", "") in stripped  # required since v1.16
    assert stripped[("m.room.name", "")]["content"]["name"] == "Tea party"
    assert stripped[("m.room.topic", "")]["content"]["topic"] == "Mad hatters only"
    assert stripped[("m.room.join_rules", "")]["content"]["join_rule"] == "invite"
    assert stripped[("m.room.member", bob.user_id)]["content"] == {"membership": "invite", "is_direct": True}
    for event in invite_state:
        assert set(event) <= {"type", "state_key", "content", "sender"}, event

    expect(await bob.join(room_id), JoinResponse)
    assert room_id in expect(await bob.joined_rooms(), JoinedRoomsResponse).rooms
    members = expect(await alice.joined_members(room_id), JoinedMembersResponse).members
    assert {m.user_id for m in members} == {alice.user_id, bob.user_id}

    # Bob's next sync moves the room to rooms.join, with his own join in the timeline.
    seen = await sync_until(bob, lambda s: any(room_id in r.rooms.join for r in s))
    assert membership_of(timeline(seen, room_id), bob.user_id)[-1] == "join"


async def test_messages_reach_both_sides_in_order(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob, name="chat")
    await catch_up(alice, bob)

    conversation = [(alice, "hi bob"), (bob, "hi alice"), (alice, "how are you?"),
                    (bob, "fine, thanks"), (bob, "and you?"), (alice, "great")]
    sent_ids = [await say(who, room_id, text) for who, text in conversation]
    texts = [text for _, text in conversation]

    for client in (alice, bob):
        events = timeline(await sync_until(client, bodies_seen(room_id, texts)), room_id)
        messages = [e for e in events if raw(e)["type"] == "m.room.message"]
        assert bodies(messages) == texts, f"{client.user_id} saw {bodies(messages)}"
        assert [raw(e)["event_id"] for e in messages] == sent_ids
        assert [raw(e)["sender"] for e in messages] == [who.user_id for who, _ in conversation]
        # Incremental syncs never repeat an event.
        ids = [raw(e)["event_id"] for e in events]
        assert len(ids) == len(set(ids))


async def test_send_is_idempotent_per_transaction_id(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(bob)
    content = {"msgtype": "m.text", "body": "only once"}
    first = expect(await alice.room_send(room_id, "m.room.message", content, tx_id="txn-1"), RoomSendResponse)
    again = expect(await alice.room_send(room_id, "m.room.message", content, tx_id="txn-1"), RoomSendResponse)
    assert again.event_id == first.event_id  # a retried PUT returns the same event
    await say(alice, room_id, "fence")
    events = timeline(await sync_until(bob, bodies_seen(room_id, ["fence"])), room_id)
    assert bodies(events) == ["only once", "fence"]
    # The txnId is scoped to the request path: another room is another request.
    other_room = await shared_room(alice, bob)
    elsewhere = expect(await alice.room_send(other_room, "m.room.message", content, tx_id="txn-1"),
                       RoomSendResponse)
    assert elsewhere.event_id != first.event_id
    events = timeline(await sync_until(bob, bodies_seen(other_room, ["only once"])), other_room)
    assert bodies(events) == ["only once"]


async def test_messages_pagination_backwards_and_forwards(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    sent = [f"message {i}" for i in range(23)]
    for text in sent:
        await say(alice, room_id, text)

    # Without `from`, dir=b starts at the newest event: 23 messages, newest first.
    backwards = await paginate(bob, room_id, MessageDirection.back, limit=5)
    assert all(0 < len(page.chunk) for page in backwards[:5])
    assert bodies(e for page in backwards for e in page.chunk) == list(reversed(sent))
    # The first pages hold nothing but the messages, five at a time.
    assert [bodies(page.chunk) for page in backwards[:4]] == [
        list(reversed(sent[18:23])), list(reversed(sent[13:18])),
        list(reversed(sent[8:13])), list(reversed(sent[3:8]))]

    # Without `from`, dir=f starts at the oldest event: the same 23, oldest first.
    forwards = await paginate(bob, room_id, MessageDirection.front, limit=5)
    assert bodies(e for page in forwards for e in page.chunk) == sent

    # Tokens sit between events: paging forwards from where two backward
    # pages stopped returns exactly the ten messages those pages returned.
    resumed = await paginate(bob, room_id, MessageDirection.front, start=backwards[1].end, limit=5)
    assert [bodies(page.chunk) for page in resumed if page.chunk] == [sent[13:18], sent[18:23]]

    # Event IDs match what the sender got back, and nothing repeats.
    ids = [raw(e)["event_id"] for page in forwards for e in page.chunk]
    assert len(ids) == len(set(ids))


async def test_sync_prev_batch_continues_a_limited_timeline(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(bob)
    sent = [f"message {i}" for i in range(23)]
    for text in sent:
        await say(alice, room_id, text)

    # An incremental sync with a timeline limit of 5 gets the newest five,
    # marked limited, with a prev_batch to paginate back from.
    response = await sync(bob, sync_filter={"room": {"timeline": {"limit": 5}}})
    room = response.rooms.join[room_id]
    assert room.timeline.limited is True and room.timeline.prev_batch
    assert bodies(room.timeline.events) == sent[18:]
    older: list[str] = []
    token = room.timeline.prev_batch
    for _ in range(10):
        page = expect(await bob.room_messages(room_id, start=token, direction=MessageDirection.back, limit=5),
                      RoomMessagesResponse)
        assert len(page.chunk) <= 5
        older += bodies(page.chunk)
        if len(older) >= 18 or not page.end:
            break
        token = page.end
    assert older[:18] == list(reversed(sent[:18]))


async def test_room_state(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob, name="State room", topic="about state")

    state = expect(await bob.room_get_state(room_id), RoomGetStateResponse).events
    by_key = {(e["type"], e["state_key"]): e for e in state}
    for key in [("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.join_rules", ""),
                ("m.room.history_visibility", ""), ("m.room.name", ""), ("m.room.topic", ""),
                ("m.room.member", alice.user_id), ("m.room.member", bob.user_id)]:
        assert key in by_key, f"{key} missing from /state"
    assert len(by_key) == len(state), "each (type, state_key) appears once in /state"
    assert by_key[("m.room.name", "")]["content"] == {"name": "State room"}
    assert by_key[("m.room.member", bob.user_id)]["content"]["membership"] == "join"
    assert by_key[("m.room.create", "")]["sender"] == alice.user_id
    for event in state:
        assert event["room_id"] == room_id and event["event_id"].startswith("$")

    topic = expect(await bob.room_get_state_event(room_id, "m.room.topic"), RoomGetStateEventResponse)
    assert topic.content["topic"] == "about state"

    missing = await bob.room_get_state_event(room_id, "m.room.avatar")
    assert isinstance(missing, RoomGetStateEventError)
    assert (errcode(missing), http_status(missing)) == ("M_NOT_FOUND", 404)


async def test_kick(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)

    expect(await alice.room_kick(room_id, bob.user_id, reason="too loud"), RoomKickResponse)

    # Bob's sync moves the room to rooms.leave with the kick in its timeline.
    seen = await sync_until(bob, left(room_id))
    kick = [raw(e) for r in seen if room_id in r.rooms.leave for e in r.rooms.leave[room_id].timeline.events
            if raw(e)["type"] == "m.room.member" and raw(e)["state_key"] == bob.user_id]
    assert kick and kick[-1]["content"]["membership"] == "leave"
    assert kick[-1]["sender"] == alice.user_id and kick[-1]["content"].get("reason") == "too loud"
    # Alice sees the same membership change.
    seen = await sync_until(alice, lambda s: "leave" in membership_of(timeline(s, room_id), bob.user_id))

    members = expect(await alice.joined_members(room_id), JoinedMembersResponse).members
    assert [m.user_id for m in members] == [alice.user_id]
    assert room_id not in expect(await bob.joined_rooms(), JoinedRoomsResponse).rooms
    # The room is invite-only, so Bob cannot simply rejoin...
    response = await bob.join(room_id)
    assert isinstance(response, JoinError) and errcode(response) == "M_FORBIDDEN"
    # ...but can after a new invite.
    expect(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse)
    expect(await bob.join(room_id), JoinResponse)


async def test_ban_and_unban(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await catch_up(alice, bob)

    expect(await alice.room_ban(room_id, bob.user_id, reason="spam"), RoomBanResponse)
    seen = await sync_until(bob, left(room_id))
    ban = [raw(e) for r in seen if room_id in r.rooms.leave for e in r.rooms.leave[room_id].timeline.events
           if raw(e)["type"] == "m.room.member" and raw(e)["state_key"] == bob.user_id]
    assert ban and ban[-1]["content"]["membership"] == "ban" and ban[-1]["content"].get("reason") == "spam"
    await sync_until(alice, lambda s: "ban" in membership_of(timeline(s, room_id), bob.user_id))

    # A banned user can neither join nor be invited.
    response = await bob.join(room_id)
    assert isinstance(response, JoinError) and errcode(response) == "M_FORBIDDEN"
    response = await alice.room_invite(room_id, bob.user_id)
    assert isinstance(response, RoomInviteError) and errcode(response) == "M_FORBIDDEN"
    member = expect(await alice.room_get_state_event(room_id, "m.room.member", bob.user_id),
                    RoomGetStateEventResponse)
    assert member.content["membership"] == "ban"

    # Unbanning sets the membership to leave; then an invite lets Bob back in.
    expect(await alice.room_unban(room_id, bob.user_id), RoomUnbanResponse)
    member = expect(await alice.room_get_state_event(room_id, "m.room.member", bob.user_id),
                    RoomGetStateEventResponse)
    assert member.content["membership"] == "leave"
    await sync_until(alice, lambda s: "leave" in membership_of(timeline(s, room_id), bob.user_id))
    response = await bob.join(room_id)
    assert isinstance(response, JoinError) and errcode(response) == "M_FORBIDDEN"  # still invite-only
    expect(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse)
    expect(await bob.join(room_id), JoinResponse)
    members = expect(await alice.joined_members(room_id), JoinedMembersResponse).members
    assert {m.user_id for m in members} == {alice.user_id, bob.user_id}


async def test_leave_then_forget(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    await say(alice, room_id, "before bob leaves")
    await catch_up(bob)

    # Forgetting a room you are still in is refused.
    response = await bob.room_forget(room_id)
    assert isinstance(response, RoomForgetError)
    assert (errcode(response), http_status(response)) == ("M_UNKNOWN", 400)

    expect(await bob.room_leave(room_id), RoomLeaveResponse)
    await sync_until(bob, left(room_id))
    assert room_id not in expect(await bob.joined_rooms(), JoinedRoomsResponse).rooms
    members = expect(await alice.joined_members(room_id), JoinedMembersResponse).members
    assert [m.user_id for m in members] == [alice.user_id]

    # A left room still shows up in an initial sync that asks for left rooms,
    # and its history stays readable.
    include_leave = {"room": {"include_leave": True}}
    fresh = await sync(clients.restore(bob.user_id, bob.device_id, bob.access_token), sync_filter=include_leave)
    assert room_id in fresh.rooms.leave
    history = expect(await bob.room_messages(room_id, start=bob.next_batch, limit=20), RoomMessagesResponse)
    assert "before bob leaves" in bodies(history.chunk)

    expect(await bob.room_forget(room_id), RoomForgetResponse)
    assert room_id not in bob.rooms  # nio drops it locally

    # Forgotten rooms never appear in /sync again, and history is gone.
    fresh = await sync(clients.restore(bob.user_id, bob.device_id, bob.access_token), sync_filter=include_leave)
    assert room_id not in fresh.rooms.leave and room_id not in fresh.rooms.join
    await say(alice, room_id, "after bob forgot")
    later = await sync(bob)
    assert room_id not in later.rooms.leave and room_id not in later.rooms.join
    response = await bob.room_messages(room_id, start=bob.next_batch, limit=20)
    assert isinstance(response, RoomMessagesError) and http_status(response) == 403


async def test_leave_and_rejoin_repeat_nothing(clients: Clients) -> None:
    """Rejoining a room: the sync that brings it back is `limited`, with a
    `prev_batch` from which /messages continues the history without overlap,
    and every event after the rejoin reaches the client exactly once.

    Spec: client-server-api "Syncing" (`limited`: "True if the number of
    events returned was limited by the limit on the filter"; `prev_batch`: "A
    token that can be supplied to the from parameter of the
    /rooms/<room_id>/messages endpoint"), "Leaving rooms",
    history visibility `shared`."""
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob, name="revolving door")
    await catch_up(alice, bob)
    delivered: Counter[str] = Counter()

    def count(room: MatrixRoom, event: RoomMessageText) -> None:
        if room.room_id == room_id:
            delivered[event.event_id] += 1

    bob.add_event_callback(count, RoomMessageText)
    before = [await say(alice, room_id, "hi bob"), await say(bob, room_id, "hi alice")]
    await sync_until(bob, bodies_seen(room_id, ["hi bob", "hi alice"]))

    expect(await bob.room_leave(room_id), RoomLeaveResponse)
    await sync_until(bob, left(room_id))
    away = [await say(alice, room_id, f"while you were out {i}") for i in range(5)]
    expect(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse)
    expect(await bob.join(room_id), JoinResponse)

    # A timeline limit of 3 leaves most of what Bob missed to /messages.
    small = {"room": {"timeline": {"limit": 3}}}
    rejoined = None
    for _ in range(10):
        response = await sync(bob, 1000, sync_filter=small)
        if room_id in response.rooms.join:
            rejoined = response.rooms.join[room_id]
            break
    assert rejoined is not None, "no sync brought the room back under rooms.join"
    assert rejoined.timeline.limited is True and rejoined.timeline.prev_batch
    in_sync = [raw(e)["event_id"] for e in rejoined.timeline.events]
    assert len(in_sync) == len(set(in_sync)) <= 3
    assert membership_of(rejoined.timeline.events, bob.user_id)[-1] == "join"

    # Paging back from prev_batch continues right before the sync's timeline:
    # together they hold every message once, in order.
    history: list[str] = []
    token = rejoined.timeline.prev_batch
    for _ in range(20):
        page = expect(await bob.room_messages(room_id, start=token, direction=MessageDirection.back, limit=4),
                      RoomMessagesResponse)
        history = [raw(e)["event_id"] for e in page.chunk][::-1] + history
        if not page.end or not page.chunk:
            break
        token = page.end
    whole = history + in_sync
    assert len(whole) == len(set(whole)), "/messages from prev_batch repeats an event of the sync"
    assert [i for i in whole if i in before + away] == before + away

    # After the rejoin, each new message is delivered once.
    after = [await say(alice, room_id, "welcome back"), await say(bob, room_id, "thanks")]
    seen = await sync_until(bob, bodies_seen(room_id, ["welcome back", "thanks"]))
    assert [raw(e)["event_id"] for e in timeline(seen, room_id) if raw(e)["type"] == "m.room.message"] == after
    assert [delivered[i] for i in after] == [1, 1]
    assert not any(r.rooms.join[room_id].timeline.limited for r in seen if room_id in r.rooms.join)


async def test_forgotten_room_events_cannot_be_fetched(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob)
    secret = await say(alice, room_id, "said while bob was here")
    assert raw(expect(await bob.room_get_event(room_id, secret), RoomGetEventResponse).event)["content"]["body"]

    expect(await bob.room_leave(room_id), RoomLeaveResponse)
    expect(await bob.room_forget(room_id), RoomForgetResponse)
    # "After this API is called, a user will no longer be able to retrieve history for this room."
    response = await bob.room_get_event(room_id, secret)
    assert isinstance(response, RoomGetEventError), f"forgotten event still served: {raw(response.event)}"
    assert http_status(response) in (403, 404)


async def test_joined_rooms_and_members(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    carol = await clients.register("carol")
    first = await shared_room(alice, bob)
    second = await shared_room(alice, carol)
    invited_only = expect(await alice.room_create(invite=[bob.user_id]), RoomCreateResponse).room_id

    assert set(expect(await alice.joined_rooms(), JoinedRoomsResponse).rooms) >= {first, second, invited_only}
    bobs = set(expect(await bob.joined_rooms(), JoinedRoomsResponse).rooms)
    assert first in bobs and second not in bobs and invited_only not in bobs  # invites are not joins

    members = expect(await carol.joined_members(second), JoinedMembersResponse).members
    assert {m.user_id for m in members} == {alice.user_id, carol.user_id}
    members = expect(await alice.joined_members(invited_only), JoinedMembersResponse).members
    assert [m.user_id for m in members] == [alice.user_id]  # bob is only invited

    # Someone outside the room may not list its members.
    response = await carol.joined_members(first)
    assert http_status(response) == 403 and errcode(response) == "M_FORBIDDEN"


async def test_name_topic_and_profile_changes_reach_the_other_member(clients: Clients) -> None:
    """Spec m.room.name / m.room.topic state events, and client-server-api
    "Events on change of profile information": a new display name is sent as
    a new m.room.member event into every room the user is joined to."""
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    room_id = await shared_room(alice, bob, name="Before", topic="old topic")
    await sync_until(bob, lambda seen: room_id in bob.rooms)
    assert bob.rooms[room_id].name == "Before"

    expect(await alice.room_put_state(room_id, "m.room.name", {"name": "After"}), RoomPutStateResponse)
    expect(await alice.room_put_state(room_id, "m.room.topic", {"topic": "new topic"}),
           RoomPutStateResponse)

    def state_seen(event_type: str, key: str, value: str) -> Callable[[list[SyncResponse]], bool]:
        return lambda seen: any(raw(e).get("type") == event_type
                                and raw(e)["content"].get(key) == value
                                for e in timeline(seen, room_id))

    seen = await sync_until(bob, state_seen("m.room.topic", "topic", "new topic"))
    renames = [raw(e) for e in timeline(seen, room_id) if raw(e).get("type") == "m.room.name"]
    assert [e["content"] for e in renames] == [{"name": "After"}]
    assert renames[0]["sender"] == alice.user_id and renames[0]["state_key"] == ""
    assert renames[0]["unsigned"]["prev_content"] == {"name": "Before"}
    # nio's room model, built from the sync, follows the state.
    assert bob.rooms[room_id].name == "After"
    assert bob.rooms[room_id].topic == "new topic"

    expect(await alice.set_displayname("Alice Liddell"), ProfileSetDisplayNameResponse)
    seen = await sync_until(bob, state_seen("m.room.member", "displayname", "Alice Liddell"))
    member = next(raw(e) for e in timeline(seen, room_id)
                  if raw(e).get("type") == "m.room.member" and raw(e)["state_key"] == alice.user_id)
    assert member["content"]["membership"] == "join"
    assert member["unsigned"]["prev_content"]["membership"] == "join"
    assert bob.rooms[room_id].user_name(alice.user_id) == "Alice Liddell"
    shown = expect(await bob.get_displayname(alice.user_id), ProfileGetDisplayNameResponse)
    assert shown.displayname == "Alice Liddell"
    member_state = expect(await bob.room_get_state_event(room_id, "m.room.member", alice.user_id),
                          RoomGetStateEventResponse)
    assert member_state.content["displayname"] == "Alice Liddell"
