// Rooms and messaging: two people in a private room, as seen through /sync.
//
//   node rooms_messaging.mjs <base_url>

import {
    assert,
    createRoom,
    eventInTimeline,
    expectMatrixError,
    makeUser,
    membershipSeen,
    messageBodies,
    rawSync,
    roomFor,
    say,
    scenario,
    sdk,
    step,
    timeline,
    waitFor,
} from "./lib.mjs";

/** A full /sync (no since token) that includes rooms the user has left. */
function syncIncludingLeft(user) {
    return rawSync(user, { room: { include_leave: true, timeline: { limit: 1 } } });
}

await scenario("rooms and messaging", async (baseUrl) => {
    const alice = await step("alice signs up and starts syncing", () => makeUser(baseUrl, "alice"));
    const bob = await step("bob signs up, picks a display name and starts syncing", async () => {
        const user = await makeUser(baseUrl, "bob");
        await user.client.setDisplayName("Bob the Builder");
        return user;
    });

    const roomId = await step("alice creates a private room with a name and topic", async () => {
        const id = await createRoom(alice, { preset: "private_chat", name: "Tea party", topic: "Unbirthday plans" });
        const room = await roomFor(alice, id, { membership: "join" });
        await waitFor("alice to see the room's name and topic", () =>
            room.name === "Tea party" &&
            room.currentState.getStateEvents("m.room.topic", "")?.getContent().topic === "Unbirthday plans");
        const joinRule = room.currentState.getStateEvents("m.room.join_rules", "")?.getContent().join_rule;
        assert.equal(joinRule, "invite", "private_chat rooms are invite-only");
        return id;
    });
    const aliceRoom = alice.client.getRoom(roomId);

    await step("a stranger cannot join before being invited", async () => {
        await expectMatrixError(bob.client.joinRoom(roomId), { status: 403, errcode: "M_FORBIDDEN" });
    });

    await step("alice invites bob and bob sees the invite in his sync", async () => {
        await alice.client.invite(roomId, bob.userId);
        const invited = await roomFor(bob, roomId, { membership: "invite" });
        const inviteEvent = invited.getMember(bob.userId)?.events.member;
        assert.ok(inviteEvent, "the invite's stripped state includes bob's own m.room.member event");
        assert.equal(inviteEvent.getSender(), alice.userId, "the invite says alice invited him");
        // Spec "Stripped state": invite_state SHOULD carry m.room.name, so the invitee
        // sees which room it is before joining.
        assert.equal(invited.name, "Tea party", "invite_state carries the room name");
    });

    const bobRoom = await step("bob joins and sees the room's name and topic", async () => {
        await bob.client.joinRoom(roomId);
        const room = await roomFor(bob, roomId, { membership: "join" });
        await waitFor("bob to see the name and topic", () =>
            room.name === "Tea party" &&
            room.currentState.getStateEvents("m.room.topic", "")?.getContent().topic === "Unbirthday plans",
            { explain: () => `name ${room.name}` });
        await membershipSeen(alice, aliceRoom, bob.userId, "join");
        const join = aliceRoom.getMember(bob.userId).events.member;
        // The join carries bob's profile (displayname in m.room.member content).
        assert.equal(join.getContent().displayname, "Bob the Builder",
            `bob's join event carries his display name (content ${JSON.stringify(join.getContent())})`);
        assert.equal(aliceRoom.getMember(bob.userId).name, "Bob the Builder", "alice sees bob's display name");
        return room;
    });

    const expected = [];
    await step("alice says hello and bob sees it", async () => {
        const id = await say(alice, roomId, "Hi Bob, welcome!");
        expected.push("Hi Bob, welcome!");
        const seen = await eventInTimeline(bob, bobRoom, id);
        assert.equal(seen.getSender(), alice.userId);
        assert.equal(seen.getContent().body, "Hi Bob, welcome!");
    });

    await step("bob answers and alice sees it", async () => {
        const id = await say(bob, roomId, "Thanks Alice!");
        expected.push("Thanks Alice!");
        const seen = await eventInTimeline(alice, aliceRoom, id);
        assert.equal(seen.getSender(), bob.userId);
    });

    await step("they exchange a few more, and both timelines show the same conversation in order", async () => {
        for (const [who, body] of [[alice, "one"], [alice, "two"], [bob, "three"], [alice, "four"], [bob, "five"]]) {
            await say(who, roomId, body);
            expected.push(body);
        }
        const sameConversation = () => {
            const ids = (room) => timeline(room, "m.room.message").map((e) => e.getId());
            return JSON.stringify(messageBodies(aliceRoom)) === JSON.stringify(expected) &&
                JSON.stringify(messageBodies(bobRoom)) === JSON.stringify(expected) &&
                JSON.stringify(ids(aliceRoom)) === JSON.stringify(ids(bobRoom));
        };
        await waitFor("alice's and bob's timelines to show the same messages in order", sameConversation, {
            explain: () => JSON.stringify({
                expected,
                alice: messageBodies(aliceRoom),
                bob: messageBodies(bobRoom),
            }),
        });
    });

    await step("alice renames the room and changes its topic; bob sees both", async () => {
        await alice.client.setRoomName(roomId, "Mad tea party");
        await alice.client.setRoomTopic(roomId, "Why is a raven like a writing-desk?");
        await waitFor("bob to see the new name and topic", () =>
            bobRoom.name === "Mad tea party" &&
            bobRoom.currentState.getStateEvents("m.room.topic", "")?.getContent().topic ===
                "Why is a raven like a writing-desk?",
            { explain: () => `name "${bobRoom.name}", topic ${JSON.stringify(bobRoom.currentState.getStateEvents("m.room.topic", "")?.getContent())}` });
        const nameEvents = timeline(bobRoom, "m.room.name");
        assert.equal(nameEvents.at(-1)?.getSender(), alice.userId, "the rename is in bob's timeline, sent by alice");
    });

    await step("alice sets her display name and bob sees it in her member event", async () => {
        await alice.client.setDisplayName("Alice Liddell");
        await waitFor("bob to see alice's new display name", () => bobRoom.getMember(alice.userId)?.name === "Alice Liddell",
            { explain: () => JSON.stringify(bobRoom.getMember(alice.userId)?.events.member?.getContent()) });
        const member = bobRoom.getMember(alice.userId).events.member;
        assert.equal(member.getContent().membership, "join");
        assert.equal(member.getContent().displayname, "Alice Liddell");
        assert.equal(member.getStateKey(), alice.userId);
    });

    await step("alice's joined_members lists both of them with display names", async () => {
        const { joined } = await alice.client.getJoinedRoomMembers(roomId);
        assert.deepEqual(Object.keys(joined).sort(), [alice.userId, bob.userId].sort());
        assert.equal(joined[alice.userId].display_name, "Alice Liddell");
    });

    await step("bob cannot forget a room he is still in", async () => {
        await expectMatrixError(bob.client.forget(roomId), { status: 400 });
    });

    await step("bob leaves; both see it, and alice's joined_members lists only her", async () => {
        await bob.client.leave(roomId);
        await waitFor("bob's client to move the room to 'leave'", () =>
            bob.client.getRoom(roomId)?.getMyMembership() === "leave",
            { explain: () => bob.client.getRoom(roomId)?.getMyMembership() ?? "(room gone)" });
        await membershipSeen(alice, aliceRoom, bob.userId, "leave");
        const { joined } = await alice.client.getJoinedRoomMembers(roomId);
        assert.deepEqual(Object.keys(joined), [alice.userId]);
        const rooms = await bob.client.getJoinedRooms();
        assert.ok(!rooms.joined_rooms.includes(roomId), "the room is not in bob's joined_rooms");
    });

    await step("alice talks on; bob, gone, no longer sees new messages", async () => {
        const { event_id: afterLeave } = await alice.client.sendTextMessage(roomId, "Now that Bob has gone...");
        await eventInTimeline(alice, aliceRoom, afterLeave);
        const { chunk } = await bob.client.createMessagesRequest(roomId, null, 50, sdk.Direction.Backward);
        const ids = chunk.map((e) => e.event_id);
        assert.ok(!ids.includes(afterLeave), "a message sent after bob left is not in his /messages");
        const bodies = chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body).reverse();
        assert.deepEqual(bodies, expected, "but what he saw while in the room is still his to read");
        assert.ok(!timeline(bobRoom, "m.room.message").some((e) => e.getId() === afterLeave),
            "nor did his sync deliver it");
    });

    await step("until he forgets it, the left room is in a sync that includes left rooms", async () => {
        const sync = await syncIncludingLeft(bob);
        assert.ok(sync.rooms?.leave?.[roomId], `room in rooms.leave: ${JSON.stringify(Object.keys(sync.rooms?.leave ?? {}))}`);
        assert.ok(!sync.rooms?.join?.[roomId], "and not in rooms.join");
    });

    await step("bob forgets the room; it never appears in his sync again and its history is closed to him", async () => {
        await bob.client.forget(roomId);
        assert.equal(bob.client.getRoom(roomId), null, "the SDK drops a forgotten room");
        const sync = await syncIncludingLeft(bob);
        for (const section of ["join", "invite", "leave", "knock"]) {
            assert.ok(!sync.rooms?.[section]?.[roomId], `forgotten room must not be in rooms.${section}`);
        }
        await expectMatrixError(bob.client.createMessagesRequest(roomId, null, 10, sdk.Direction.Backward));
        // Alice's room carries on without him.
        const id = await alice.client.sendTextMessage(roomId, "More tea?");
        await eventInTimeline(alice, aliceRoom, id.event_id);
        const { joined } = await alice.client.getJoinedRoomMembers(roomId);
        assert.deepEqual(Object.keys(joined), [alice.userId]);
    });
});
