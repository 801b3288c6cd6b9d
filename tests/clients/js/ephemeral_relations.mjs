// Ephemeral events and relations: typing, read receipts, reactions, edits
// and redactions, each seen by the other person through /sync; unread counts
// after a read receipt; ignoring a user.
//
//   node ephemeral_relations.mjs <base_url>

import {
    assert,
    clientFor,
    eventInTimeline,
    login,
    makeUser,
    rawSync,
    roomFor,
    say,
    scenario,
    sdk,
    sharedRoom,
    startSyncing,
    step,
    waitFor,
} from "./lib.mjs";

await scenario("ephemeral events and relations", async (baseUrl) => {
    const alice = await step("alice signs up and starts syncing", () => makeUser(baseUrl, "alice"));
    const bob = await step("bob signs up and starts syncing", () => makeUser(baseUrl, "bob"));
    const { roomId, ownerRoom: aliceRoom, guestRoom: bobRoom } = await step(
        "alice creates a private room and bob joins it",
        () => sharedRoom(alice, bob, { name: "Looking glass" }),
    );

    // Bob's client reports typing changes as RoomMember.typing events, for
    // the members it knows. It syncs with lazy-loaded members: it knows alice
    // because the room he joined came with its recent history, which she wrote.
    assert.ok(bobRoom.getMember(alice.userId), "bob's client knows alice as a member");
    const typingSeenByBob = [];
    bob.client.on(sdk.RoomMemberEvent.Typing, (_event, member) => {
        if (member.roomId === roomId) typingSeenByBob.push({ userId: member.userId, typing: member.typing });
    });

    await step("alice starts typing and bob sees it", async () => {
        await alice.client.sendTyping(roomId, true, 20_000);
        await waitFor("a RoomMember.typing event saying alice is typing", () =>
            typingSeenByBob.some((t) => t.userId === alice.userId && t.typing),
            { explain: () => JSON.stringify(typingSeenByBob) });
        assert.equal(bobRoom.getMember(alice.userId).typing, true);
    });

    await step("alice stops typing and bob sees that too", async () => {
        const before = typingSeenByBob.length;
        await alice.client.sendTyping(roomId, false, 0);
        await waitFor("a RoomMember.typing event saying alice stopped", () =>
            typingSeenByBob.slice(before).some((t) => t.userId === alice.userId && !t.typing),
            { explain: () => JSON.stringify(typingSeenByBob) });
        assert.equal(bobRoom.getMember(alice.userId).typing, false);
    });

    const unread = async (user) => (await rawSync(user)).rooms?.join?.[roomId]?.unread_notifications;
    // An incremental /sync from `since` (no waiting), made directly.
    const syncFrom = (user, since) => user.client.http.authedRequest(sdk.Method.Get, "/sync", {
        filter: JSON.stringify({ room: { timeline: { limit: 1 } } }),
        timeout: "0",
        since,
    });

    const bobsMessageId = await step("bob writes; alice reads it and sends a read receipt that bob sees", async () => {
        const id = await say(bob, roomId, "Curiouser and curiouser!");
        const event = await eventInTimeline(alice, aliceRoom, id);
        await waitFor("the server to count bob's message as unread for alice", async () =>
            (await unread(alice))?.notification_count >= 1,
            { intervalMs: 100, explain: () => "unread_notifications in alice's /sync never reached 1" });
        const { next_batch: beforeReading } = await rawSync(alice);
        await alice.client.sendReadReceipt(event);
        await waitFor("alice's receipt to clear her unread count", async () =>
            (await unread(alice))?.notification_count === 0,
            { intervalMs: 100, explain: () => "unread_notifications.notification_count stayed above 0" });
        // An incremental sync carries the new count as well, although the
        // room has no new event: only alice's own receipt changed.
        let incremental;
        await waitFor("an incremental /sync to bring alice's cleared count", async () => {
            incremental = (await syncFrom(alice, beforeReading)).rooms?.join?.[roomId];
            return incremental?.unread_notifications?.notification_count === 0;
        }, { intervalMs: 100, explain: () => JSON.stringify(incremental) });
        assert.ok(incremental.ephemeral.events.some((e) => e.type === "m.receipt"), "the receipt comes with it");
        await waitFor("alice's client to show no unread messages", () =>
            aliceRoom.getUnreadNotificationCount(sdk.NotificationCountType.Total) === 0,
            { explain: () => `count ${aliceRoom.getUnreadNotificationCount(sdk.NotificationCountType.Total)}` });
        await waitFor("bob to see alice's read receipt on his message", () =>
            bobRoom.getEventReadUpTo(alice.userId, true) === id,
            { explain: () => JSON.stringify(bobRoom.getReadReceiptForUserId(alice.userId, true)) });
        const receipt = bobRoom.getReadReceiptForUserId(alice.userId, true);
        assert.equal(receipt.eventId, id);
        assert.equal(typeof receipt.data.ts, "number", "a receipt carries its timestamp");
        assert.ok(bobRoom.getUsersReadUpTo(bobRoom.findEventById(id)).includes(alice.userId));
        return id;
    });

    const reactionId = await step("alice reacts to bob's message with an m.annotation and bob sees it", async () => {
        const { event_id: id } = await alice.client.sendEvent(roomId, sdk.EventType.Reaction, {
            "m.relates_to": { rel_type: sdk.RelationType.Annotation, event_id: bobsMessageId, key: "👍" },
        });
        await eventInTimeline(bob, bobRoom, id);
        const annotations = () => bobRoom.relations
            .getChildEventsForEvent(bobsMessageId, sdk.RelationType.Annotation, sdk.EventType.Reaction)
            ?.getSortedAnnotationsByKey();
        await waitFor("bob's client to aggregate the 👍 on his message", () => {
            const byKey = annotations();
            return byKey?.length === 1 && byKey[0][0] === "👍" &&
                [...byKey[0][1]].some((e) => e.getSender() === alice.userId);
        }, { explain: () => JSON.stringify(annotations()?.map(([key, set]) => [key, set.size])) });
        return id;
    });

    await step("the server lists the reaction under GET /relations for bob's message", async () => {
        // (The SDK needs an explicit null for "any event type": undefined is
        // sent as a literal "$eventType" path segment.)
        for (const eventType of [sdk.EventType.Reaction, null]) {
            const res = await bob.client.fetchRelations(roomId, bobsMessageId, sdk.RelationType.Annotation, eventType);
            assert.deepEqual(res.chunk.map((e) => e.event_id), [reactionId], `relations of type ${eventType}`);
            assert.equal(res.chunk[0].content["m.relates_to"].key, "👍");
        }
    });

    const { originalId, editId } = await step("alice edits a message (m.replace) and bob sees the new text", async () => {
        const original = await say(alice, roomId, "I like cats");
        const originalEvent = await eventInTimeline(bob, bobRoom, original);
        const { event_id: edit } = await alice.client.sendMessage(roomId, {
            msgtype: "m.text",
            body: "* I like dogs",
            "m.new_content": { msgtype: "m.text", body: "I like dogs" },
            "m.relates_to": { rel_type: sdk.RelationType.Replace, event_id: original },
        });
        await waitFor("bob's client to apply the edit to the original", () =>
            originalEvent.replacingEventId() === edit && originalEvent.getContent().body === "I like dogs",
            { explain: () => `replacing ${originalEvent.replacingEventId()}, body ${originalEvent.getContent().body}` });
        assert.equal(originalEvent.replacingEvent().getSender(), alice.userId);
        assert.equal(originalEvent.getOriginalContent().body, "I like cats", "the original text is kept");
        return { originalId: original, editId: edit };
    });

    await step("the server bundles the edit with the original (unsigned.m.relations.m.replace)", async () => {
        const fetched = await bob.client.fetchRoomEvent(roomId, originalId);
        assert.equal(fetched.content.body, "I like cats", "the server serves the original content");
        const bundled = fetched.unsigned?.["m.relations"]?.["m.replace"];
        assert.ok(bundled, `bundled m.replace in ${JSON.stringify(fetched.unsigned)}`);
        assert.equal(bundled.event_id, editId);
    });

    await step("bob's new device sees the edited text straight from its initial sync", async () => {
        const session = await login(baseUrl, bob.localpart, bob.password, "bob's phone");
        const phone = clientFor(baseUrl, { userId: session.user_id, accessToken: session.access_token, deviceId: session.device_id }, "@phone");
        await startSyncing(phone);
        const room = await roomFor({ client: phone, name: "bob's phone" }, roomId);
        const original = await waitFor("the original in the phone's timeline", () => room.findEventById(originalId));
        await waitFor("the phone to show the edited text", () => original.getContent().body === "I like dogs",
            { explain: () => `body ${original.getContent().body}, unsigned ${JSON.stringify(original.getUnsigned())}` });
        phone.stopClient();
    });

    await step("bob redacts a message; its content is gone for both", async () => {
        const id = await say(bob, roomId, "The password is 'jabberwock'");
        const aliceCopy = await eventInTimeline(alice, aliceRoom, id);
        const bobCopy = await eventInTimeline(bob, bobRoom, id);
        await bob.client.redactEvent(roomId, id, undefined, { reason: "oops" });
        for (const [who, copy] of [["alice", aliceCopy], ["bob", bobCopy]]) {
            await waitFor(`${who}'s copy to be redacted`, () => copy.isRedacted(),
                { explain: () => JSON.stringify(copy.getContent()) });
            assert.deepEqual(copy.getContent(), {}, `${who} sees no content left`);
        }
        const fetched = await alice.client.fetchRoomEvent(roomId, id);
        assert.deepEqual(fetched.content, {}, "the server serves the event without content");
        assert.equal(fetched.unsigned?.redacted_because?.type, "m.room.redaction",
            `unsigned.redacted_because names the redaction: ${JSON.stringify(fetched.unsigned)}`);
    });

    await step("alice takes back her reaction (redacting it) and bob's aggregation drops it", async () => {
        await alice.client.redactEvent(roomId, reactionId);
        await waitFor("bob's 👍 count to drop to zero", () => {
            const byKey = bobRoom.relations
                .getChildEventsForEvent(bobsMessageId, sdk.RelationType.Annotation, sdk.EventType.Reaction)
                ?.getSortedAnnotationsByKey() ?? [];
            return byKey.every(([, set]) => set.size === 0);
        });
    });

    const hidden = await step("alice ignores bob: his messages stop reaching her, his profile changes do not", async () => {
        await alice.client.setIgnoredUsers([bob.userId]);
        await waitFor("alice's client to see its new ignore list", () => alice.client.isUserIgnored(bob.userId));
        const hidden = await say(bob, roomId, "Off with her head!");
        await bob.client.setDisplayName("Bob the ignored");
        const marker = await say(alice, roomId, "It's very quiet in here");
        await eventInTimeline(alice, aliceRoom, marker);
        await eventInTimeline(bob, bobRoom, hidden);
        assert.equal(aliceRoom.findEventById(hidden), undefined, "bob's message reached alice");
        await waitFor("alice to see bob's new display name (a state event)", () =>
            aliceRoom.getMember(bob.userId)?.name === "Bob the ignored",
            { explain: () => aliceRoom.getMember(bob.userId)?.name });
        const page = await alice.client.createMessagesRequest(roomId, null, 20, sdk.Direction.Backward);
        assert.ok(!page.chunk.some((e) => e.event_id === hidden), "/messages returned bob's message");
        return hidden;
    });

    await step("alice stops ignoring bob: his new messages arrive, the missed one does not", async () => {
        await alice.client.setIgnoredUsers([]);
        await waitFor("alice's client to see the list emptied", () => !alice.client.isUserIgnored(bob.userId));
        const back = await say(bob, roomId, "We're all mad here");
        await eventInTimeline(alice, aliceRoom, back);
        assert.equal(aliceRoom.findEventById(hidden), undefined);
    });
});
