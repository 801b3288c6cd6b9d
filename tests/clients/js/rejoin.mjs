// Leaving a room and joining it again: the client's timeline never holds an
// event twice, and what was said while it was away is there to read back.
//
// Spec: client-server-api "Syncing": a `limited` timeline means events were
// left out between the previous sync and this one, and `prev_batch` is the
// token to paginate back from to fetch them; "Leaving rooms"; "Room History
// Visibility" (`shared`: a member may read events sent before they joined).
//
//   node rejoin.mjs <base_url>

import {
    assert,
    eventInTimeline,
    makeUser,
    membershipSeen,
    roomFor,
    say,
    scenario,
    sdk,
    sharedRoom,
    step,
    timeline,
    waitFor,
} from "./lib.mjs";

// More than a sync timeline holds (the SDK's filter asks for at most 20 per
// room after the first sync), so that bob must page back to read them all.
const WHILE_AWAY = 25;
const MAX_SCROLLBACKS = 20;

function repeated(ids) {
    return ids.filter((id, i) => ids.indexOf(id) !== i);
}

const liveIds = (room) => timeline(room).map((e) => e.getId());
const liveMessageIds = (room) => timeline(room, "m.room.message").map((e) => e.getId());

/**
 * The events of the live timeline and of the timelines the SDK linked
 * before it, oldest first. A limited sync starts a new live timeline; paging
 * back from it into events the client already holds links it to the older
 * one instead of copying them.
 */
function linkedEvents(room) {
    const events = [];
    const seen = new Set();
    for (let t = room.getLiveTimeline(); t && !seen.has(t); t = t.getNeighbouringTimeline(sdk.EventTimeline.BACKWARDS)) {
        seen.add(t);
        events.unshift(...t.getEvents());
    }
    return events;
}

await scenario("leaving a room and joining it again", async (baseUrl) => {
    const alice = await step("alice signs up and starts syncing", () => makeUser(baseUrl, "alice"));
    const bobSyncs = [];
    const bob = await step("bob signs up and starts syncing", () => makeUser(baseUrl, "bob", { syncs: bobSyncs }));
    const { roomId, ownerRoom: aliceRoom, guestRoom: bobRoom } = await step(
        "alice creates a private room and bob joins it", () => sharedRoom(alice, bob, { name: "Revolving door" }));

    const before = await step("they talk and bob sees it all", async () => {
        const ids = [await say(alice, roomId, "hi bob"), await say(bob, roomId, "hi alice"), await say(alice, roomId, "tea?")];
        for (const id of ids) await eventInTimeline(bob, bobRoom, id);
        return ids;
    });

    await step("bob leaves; both see him go", async () => {
        await bob.client.leave(roomId);
        await waitFor("bob's client to show the room as left", () => bobRoom.getMyMembership() === "leave",
            { explain: () => bobRoom.getMyMembership() });
        await membershipSeen(alice, aliceRoom, bob.userId, "leave");
    });

    const whileAway = await step(`alice writes ${WHILE_AWAY} messages while bob is gone`, async () => {
        const ids = [];
        for (let i = 1; i <= WHILE_AWAY; i++) ids.push(await say(alice, roomId, `while you were out ${i}`));
        await eventInTimeline(alice, aliceRoom, ids.at(-1));
        assert.ok(!ids.some((id) => bobRoom.findEventById(id)), "none of them reached bob's client");
        return ids;
    });

    const syncsBeforeRejoin = bobSyncs.length;
    await step("alice invites bob back and he joins again", async () => {
        await alice.client.invite(roomId, bob.userId);
        await roomFor(bob, roomId, { membership: "invite" });
        await bob.client.joinRoom(roomId);
        await roomFor(bob, roomId, { membership: "join" });
        await membershipSeen(alice, aliceRoom, bob.userId, "join");
    });

    await step("the sync that brings the room back is limited, with a prev_batch", () => {
        const rejoined = bobSyncs.slice(syncsBeforeRejoin).map(({ body }) => body.rooms?.join?.[roomId]).find(Boolean);
        assert.ok(rejoined, "a sync after the rejoin has the room under rooms.join");
        assert.equal(rejoined.timeline.limited, true, "the timeline is limited: bob's client holds a gap");
        assert.equal(typeof rejoined.timeline.prev_batch, "string", "with a token to fill the gap from");
        const ids = rejoined.timeline.events.map((e) => e.event_id);
        assert.deepEqual(repeated(ids), [], "no event twice in it");
    });

    const after = await step("they talk again; each new message reaches bob once", async () => {
        const syncsBefore = bobSyncs.length;
        const ids = [await say(alice, roomId, "welcome back"), await say(bob, roomId, "thanks")];
        const room = bob.client.getRoom(roomId);
        for (const id of ids) await eventInTimeline(bob, room, id);
        const delivered = bobSyncs.slice(syncsBefore)
            .flatMap(({ body }) => body.rooms?.join?.[roomId]?.timeline?.events ?? [])
            .map((e) => e.event_id);
        for (const id of ids) {
            assert.equal(delivered.filter((d) => d === id).length, 1, `${id} delivered once: ${JSON.stringify(delivered)}`);
        }
        return ids;
    });

    await step("bob's live timeline holds no event twice and ends with the new messages", () => {
        const room = bob.client.getRoom(roomId);
        assert.deepEqual(repeated(liveIds(room)), [], "an event appears twice in the live timeline");
        assert.deepEqual(liveMessageIds(room).slice(-after.length), after);
    });

    await step("bob pages back: he reads what was said while he was gone, and everything before, once each", async () => {
        const room = bob.client.getRoom(roomId);
        const ids = () => linkedEvents(room).map((e) => e.getId());
        for (let i = 0; i < MAX_SCROLLBACKS && !before.every((id) => ids().includes(id)); i++) {
            await bob.client.scrollback(room, 10);
        }
        assert.deepEqual(repeated(liveIds(room)), [], "paging back brought an event the live timeline already held");
        assert.deepEqual(repeated(ids()), [], "an event is in two of the client's timelines");
        const messages = linkedEvents(room).filter((e) => e.getType() === "m.room.message").map((e) => e.getId());
        assert.deepEqual(messages, [...before, ...whileAway, ...after], "every message, in order, once");
    });
});
