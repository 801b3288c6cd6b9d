// Redacting an event that relates to another one undoes its part in the
// other's aggregation, for the server and for the SDK: a redacted reaction
// leaves the count, a redacted edit reverts the message to the edit before,
// a redacted thread reply leaves the thread.
//
// Spec: client-server-api "Forming relationships between events" (redacting a
// child event breaks the relationship, "the server needs to de-aggregate or
// disassociate the event once the relationship is lost"), "Event annotations
// and reactions" ("When an annotation is redacted, it is removed from the
// count"), "Event replacements" ("Redactions of edited events": redacting
// the most recent edit reverts the event to its content before that edit),
// "Threading" (`count` is the number of events with `m.thread` pointing at
// the root; `latest_event` the most recent of them).
//
//   node relations_redactions.mjs <base_url>

import {
    assert,
    eventInTimeline,
    makeUser,
    say,
    scenario,
    sdk,
    sharedRoom,
    step,
    waitFor,
} from "./lib.mjs";

/** The SDK's aggregation of m.reaction annotations on an event: { key: [sender, ...] }. */
function reactionsIn(room, eventId) {
    const byKey = room.relations
        .getChildEventsForEvent(eventId, sdk.RelationType.Annotation, sdk.EventType.Reaction)
        ?.getSortedAnnotationsByKey() ?? [];
    return Object.fromEntries(byKey.filter(([, set]) => set.size > 0)
        .map(([key, set]) => [key, [...set].map((e) => e.getSender()).sort()]));
}

/** The event IDs GET /relations lists for an event and relation type. */
async function relationIds(user, roomId, eventId, relType) {
    // (The SDK needs an explicit null for "any event type".)
    const { chunk } = await user.client.fetchRelations(roomId, eventId, relType, null);
    return chunk.map((e) => e.event_id).sort();
}

/** The aggregations the server bundles with an event fetched by ID. */
async function bundled(user, roomId, eventId) {
    const event = await user.client.fetchRoomEvent(roomId, eventId);
    return event.unsigned?.["m.relations"] ?? {};
}

function react(user, roomId, eventId, key) {
    return user.client.sendEvent(roomId, sdk.EventType.Reaction, {
        "m.relates_to": { rel_type: sdk.RelationType.Annotation, event_id: eventId, key },
    }).then((r) => r.event_id);
}

function edit(user, roomId, eventId, body) {
    return user.client.sendMessage(roomId, {
        msgtype: "m.text",
        body: `* ${body}`,
        "m.new_content": { msgtype: "m.text", body },
        "m.relates_to": { rel_type: sdk.RelationType.Replace, event_id: eventId },
    }).then((r) => r.event_id);
}

function replyInThread(user, roomId, rootId, body) {
    return user.client.sendMessage(roomId, {
        msgtype: "m.text",
        body,
        "m.relates_to": {
            rel_type: sdk.THREAD_RELATION_TYPE.name,
            event_id: rootId,
            is_falling_back: true,
            "m.in_reply_to": { event_id: rootId },
        },
    }).then((r) => r.event_id);
}

const sorted = (ids) => [...ids].sort();

await scenario("redacting related events", async (baseUrl) => {
    const alice = await step("alice signs up and starts syncing", () => makeUser(baseUrl, "alice"));
    // Bob's client shows threads apart from the room, as Element does.
    const bob = await step("bob signs up and starts syncing, with threads", () =>
        makeUser(baseUrl, "bob", { threadSupport: true }));
    const { roomId, ownerRoom: aliceRoom, guestRoom: bobRoom } = await step(
        "alice creates a private room and bob joins it", () => sharedRoom(alice, bob, { name: "Second thoughts" }));

    const { message, reactions } = await step("alice and bob react to a message; both clients and the server count them", async () => {
        const id = await say(alice, roomId, "Shall we dance?");
        await eventInTimeline(bob, bobRoom, id);
        const ids = {
            alice: await react(alice, roomId, id, "👍"),
            bobThumb: await react(bob, roomId, id, "👍"),
            bobParty: await react(bob, roomId, id, "🎉"),
        };
        const want = { "👍": sorted([alice.userId, bob.userId]), "🎉": [bob.userId] };
        for (const [who, room] of [["alice", aliceRoom], ["bob", bobRoom]]) {
            await waitFor(`${who}'s client to count 👍 2 and 🎉 1`, () =>
                JSON.stringify(reactionsIn(room, id)) === JSON.stringify(want),
                { explain: () => JSON.stringify(reactionsIn(room, id)) });
        }
        assert.deepEqual(await relationIds(alice, roomId, id, sdk.RelationType.Annotation), sorted(Object.values(ids)));
        return { message: id, reactions: ids };
    });

    await step("bob takes back his 👍: it leaves the count for both clients and /relations", async () => {
        await bob.client.redactEvent(roomId, reactions.bobThumb);
        const want = { "👍": [alice.userId], "🎉": [bob.userId] };
        for (const [who, room] of [["alice", aliceRoom], ["bob", bobRoom]]) {
            await waitFor(`${who}'s client to count 👍 1 and 🎉 1`, () =>
                JSON.stringify(reactionsIn(room, message)) === JSON.stringify(want),
                { explain: () => JSON.stringify(reactionsIn(room, message)) });
        }
        assert.deepEqual(await relationIds(alice, roomId, message, sdk.RelationType.Annotation),
            sorted([reactions.alice, reactions.bobParty]), "the redacted reaction is no longer a relation");
    });

    await step("bob reacts 👍 again, which his redaction allows, and it counts once more", async () => {
        const again = await react(bob, roomId, message, "👍");
        await waitFor("alice's client to count 👍 2 again", () => reactionsIn(aliceRoom, message)["👍"]?.length === 2,
            { explain: () => JSON.stringify(reactionsIn(aliceRoom, message)) });
        assert.deepEqual(await relationIds(bob, roomId, message, sdk.RelationType.Annotation),
            sorted([reactions.alice, reactions.bobParty, again]));
    });

    const { original, edits } = await step("alice edits a message twice; bob's client shows the last version", async () => {
        const id = await say(alice, roomId, "version 1");
        const event = await eventInTimeline(bob, bobRoom, id);
        const ids = [await edit(alice, roomId, id, "version 2"), await edit(alice, roomId, id, "version 3")];
        await waitFor("bob's client to show version 3", () => event.getContent().body === "version 3",
            { explain: () => event.getContent().body });
        assert.equal((await bundled(bob, roomId, id))["m.replace"]?.event_id, ids[1], "the server bundles the last edit");
        return { original: id, edits: ids };
    });

    await step("alice redacts her last edit: the message reads as the edit before, for bob and the server", async () => {
        const event = bobRoom.findEventById(original);
        await alice.client.redactEvent(roomId, edits[1]);
        await waitFor("bob's client to show version 2", () =>
            event.getContent().body === "version 2" && event.replacingEventId() === edits[0],
            { explain: () => `body ${event.getContent().body}, replaced by ${event.replacingEventId()}` });
        const replace = (await bundled(bob, roomId, original))["m.replace"];
        assert.equal(replace?.event_id, edits[0], `the bundled edit is the earlier one: ${JSON.stringify(replace)}`);
        assert.deepEqual(await relationIds(bob, roomId, original, sdk.RelationType.Replace), [edits[0]]);
    });

    await step("alice redacts the other edit too: the message reads as first sent", async () => {
        const event = bobRoom.findEventById(original);
        await alice.client.redactEvent(roomId, edits[0]);
        await waitFor("bob's client to show version 1", () =>
            event.getContent().body === "version 1" && !event.replacingEventId(),
            { explain: () => `body ${event.getContent().body}, replaced by ${event.replacingEventId()}` });
        const relations = await bundled(bob, roomId, original);
        assert.ok(!relations["m.replace"], `no edit is bundled any more: ${JSON.stringify(relations)}`);
        assert.deepEqual(await relationIds(bob, roomId, original, sdk.RelationType.Replace), []);
    });

    const { root, replies } = await step("bob and alice reply in a thread; bob's client and the server count two replies", async () => {
        const id = await say(alice, roomId, "Which tune?");
        await eventInTimeline(bob, bobRoom, id);
        const ids = [await replyInThread(bob, roomId, id, "A waltz"), await replyInThread(alice, roomId, id, "A tango")];
        await waitFor("bob's client to hold the thread with two replies", () => bobRoom.getThread(id)?.length === 2,
            { explain: () => `thread length ${bobRoom.getThread(id)?.length}` });
        const thread = (await bundled(bob, roomId, id))["m.thread"];
        assert.equal(thread?.count, 2, `bundled m.thread: ${JSON.stringify(thread)}`);
        assert.equal(thread.latest_event.event_id, ids[1]);
        assert.equal(thread.current_user_participated, true, "bob replied in it");
        return { root: id, replies: ids };
    });

    await step("alice redacts her reply: the thread counts one, and its latest reply is bob's", async () => {
        await alice.client.redactEvent(roomId, replies[1]);
        const thread = (await bundled(bob, roomId, root))["m.thread"];
        assert.equal(thread?.count, 1, `bundled m.thread after the redaction: ${JSON.stringify(thread)}`);
        assert.equal(thread.latest_event.event_id, replies[0], "the latest reply is the one left");
        assert.deepEqual(await relationIds(bob, roomId, root, sdk.THREAD_RELATION_TYPE.name), [replies[0]]);
        await waitFor("bob's client to count one reply", () => bobRoom.getThread(root)?.length === 1,
            { explain: () => `thread length ${bobRoom.getThread(root)?.length}` });
    });

    await step("bob redacts his reply as well: the root has no thread left on the server", async () => {
        await bob.client.redactEvent(roomId, replies[0]);
        const relations = await bundled(alice, roomId, root);
        assert.ok(!relations["m.thread"], `no thread is bundled any more: ${JSON.stringify(relations)}`);
        assert.deepEqual(await relationIds(alice, roomId, root, sdk.THREAD_RELATION_TYPE.name), []);
    });
});
