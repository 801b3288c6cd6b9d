// A server restart, seen from matrix-js-sdk: access tokens and sync tokens
// issued before a clean shutdown keep working afterwards.
//
// Two clients live through the restart. Bob's keeps its /sync loop running
// while the server is down and reconnects on its own. Alice's is closed before
// the restart, its sync state saved in IndexedDB as a web client keeps it;
// reopened afterwards, it syncs on from its saved since token. Each must get
// every event exactly once, none missing and none repeated, and typing
// notices and read receipts must still reach the other side.
//
// Spec: client-server-api "Syncing" (`since`, `next_batch`: "an incremental
// sync ... returns only the events that have happened since"), "Using access
// tokens", "Typing Notifications", "Receipts".
//
//   node restart.mjs <base_url>
//
// The script cannot restart the server itself: it prints RESTART_REQUEST on a
// line of its own and waits for a line on stdin, which the test driving it
// (tests/clients/test_js_sdk.py) writes once the server runs again at the same
// address on the same data directory.

import "fake-indexeddb/auto";
import { createInterface } from "node:readline";

import {
    assert,
    clientFor,
    eventInTimeline,
    log,
    makeUser,
    roomFor,
    say,
    scenario,
    sdk,
    sharedRoom,
    startSyncing,
    step,
    timeline,
    waitFor,
} from "./lib.mjs";

const RESTART_REQUEST = "KITH-RESTART-SERVER";
const RECONNECT_TIMEOUT_MS = 45_000; // the SDK's keep-alive retries every 5 to 10 s

/** Ask the driving test to restart the server; resolve once it has. */
async function serverRestarted() {
    const lines = createInterface({ input: process.stdin });
    const answer = new Promise((resolve) => lines.once("line", resolve));
    console.log(RESTART_REQUEST);
    await answer;
    lines.close();
}

/** Alice's client, with its sync state in IndexedDB under `dbName`. */
async function persistentClient(baseUrl, user, dbName, syncs) {
    const store = new sdk.IndexedDBStore({ indexedDB: globalThis.indexedDB, dbName });
    await store.startup();
    const client = clientFor(baseUrl, user, user.userId, { store, syncs });
    return { ...user, client };
}

/** The timeline events of `roomId` in a series of /sync replies, in order. */
function deliveredEvents(syncs, roomId) {
    return syncs.flatMap(({ body }) => body.rooms?.join?.[roomId]?.timeline?.events ?? []);
}

function messageIds(events) {
    return events.filter((e) => e.type === "m.room.message").map((e) => e.event_id);
}

function repeated(ids) {
    return ids.filter((id, i) => ids.indexOf(id) !== i);
}

/** The message event IDs of a room's live timeline in the SDK. */
function liveMessageIds(room) {
    return timeline(room, "m.room.message").map((e) => e.getId());
}

await scenario("a server restart", async (baseUrl) => {
    const bobSyncs = [];
    const bob = await step("bob signs up and starts syncing", () => makeUser(baseUrl, "bob", { syncs: bobSyncs }));
    const aliceAccount = await step("alice signs up", () => makeUser(baseUrl, "alice", { sync: false }));
    const dbName = `kith-restart-${aliceAccount.deviceId}`;

    let alice = await step("alice opens a client that keeps its sync state in IndexedDB", async () => {
        const user = await persistentClient(baseUrl, aliceAccount, dbName, []);
        await startSyncing(user.client);
        return user;
    });
    const { roomId, guestRoom: bobRoom } = await step("alice creates a room and bob joins it", () =>
        sharedRoom(alice, bob, { name: "Durable" }));

    const before = await step("they talk; alice sees every message", async () => {
        const ids = [];
        for (const [who, text] of [[alice, "hello"], [bob, "is this thing on?"], [alice, "yes"], [bob, "good"]]) {
            ids.push(await say(who, roomId, text));
        }
        const room = await roomFor(alice, roomId);
        for (const id of ids) await eventInTimeline(alice, room, id);
        return ids;
    });

    const savedToken = await step("alice closes her client, its sync state saved", async () => {
        await alice.client.store.save(true);
        alice.client.stopClient();
        const token = await alice.client.store.getSavedSyncToken();
        assert.ok(token, "the store saved a since token");
        return token;
    });

    const whileAway = await step("bob writes on while alice is away; his client sees it", async () => {
        const ids = [await say(bob, roomId, "are you there?"), await say(bob, roomId, "I will wait")];
        for (const id of ids) await eventInTimeline(bob, bobRoom, id);
        return ids;
    });

    const bobSyncsBeforeRestart = bobSyncs.length;
    const bobStates = [];
    bob.client.on(sdk.ClientEvent.Sync, (state) => bobStates.push(state));
    await step("the server stops (SIGTERM) and starts again on the same data", serverRestarted);
    const bobSyncsBeforeServerBack = bobSyncs.length;

    await step("both old access tokens still work", async () => {
        for (const user of [aliceAccount, bob]) {
            const probe = clientFor(baseUrl, user, user.userId);
            const { user_id: userId, device_id: deviceId } = await probe.whoami();
            assert.equal(userId, user.userId, "whoami names the token's user");
            assert.equal(deviceId, user.deviceId, "and its device");
        }
    });

    await step("bob's client, syncing all along, reconnects by itself", async () => {
        // After an error the SDK syncs with timeout=0 until it has caught up,
        // so a /sync to the new server answers at once.
        await waitFor("a /sync of bob's to succeed after the restart", () =>
            bobSyncs.length > bobSyncsBeforeServerBack && bob.client.getSyncState() === sdk.SyncState.Syncing,
            { timeoutMs: RECONNECT_TIMEOUT_MS, explain: () => `sync states ${bobStates.join(" ")}` });
        assert.ok(bobStates.some((s) => s === sdk.SyncState.Reconnecting || s === sdk.SyncState.Error),
            `bob's client noticed the server was gone (states: ${bobStates.join(" ")})`);
    });

    const aliceSyncs = [];
    const aliceRoom = await step("alice reopens her client: the room comes from her store, then she syncs on from her token", async () => {
        alice = await persistentClient(baseUrl, aliceAccount, dbName, aliceSyncs);
        await startSyncing(alice.client);
        const room = await roomFor(alice, roomId);
        for (const id of whileAway) await eventInTimeline(alice, room, id);
        assert.equal(aliceSyncs[0].since, savedToken, "her first /sync carries the saved since token");
        return room;
    });

    const after = await step("bob and alice write after the restart and each sees the other", async () => {
        const ids = [await say(bob, roomId, "welcome back"), await say(alice, roomId, "thanks, I missed nothing")];
        for (const id of ids) {
            await eventInTimeline(alice, aliceRoom, id);
            await eventInTimeline(bob, bobRoom, id);
        }
        return ids;
    });

    await step("alice's syncs since her token brought exactly what happened after it, once each", () => {
        const delivered = deliveredEvents(aliceSyncs, roomId);
        const ids = delivered.map((e) => e.event_id);
        assert.deepEqual(repeated(ids), [], "no event delivered twice");
        assert.deepEqual(messageIds(delivered), [...whileAway, ...after], "the messages after her token, in order");
        assert.ok(!ids.some((id) => before.includes(id)), "nothing from before her token");
        assert.ok(!aliceSyncs.some(({ body }) => body.rooms?.join?.[roomId]?.timeline?.limited),
            "no gap: no timeline of hers was limited");
        for (let i = 1; i < aliceSyncs.length; i++) {
            assert.equal(aliceSyncs[i].since, aliceSyncs[i - 1].body.next_batch, "each sync continues from the last");
        }
        assert.deepEqual(liveMessageIds(aliceRoom), [...before, ...whileAway, ...after],
            "her client's timeline: the stored messages, then the new ones, once each");
    });

    await step("bob's syncs across the restart brought every event once, from an unbroken chain of tokens", () => {
        const delivered = deliveredEvents(bobSyncs, roomId);
        assert.deepEqual(repeated(delivered.map((e) => e.event_id)), [], "no event delivered twice");
        assert.deepEqual(messageIds(delivered), [...before, ...whileAway, ...after], "every message, in order");
        for (let i = 1; i < bobSyncs.length; i++) {
            assert.equal(bobSyncs[i].since, bobSyncs[i - 1].body.next_batch,
                `sync ${i} continues from the one before (${bobSyncsBeforeRestart} were before the restart)`);
        }
        assert.deepEqual(liveMessageIds(bobRoom), [...before, ...whileAway, ...after]);
    });

    await step("typing notices cross the restarted server", async () => {
        const member = () => bobRoom.getMember(alice.userId);
        await alice.client.sendTyping(roomId, true, 20_000);
        await waitFor("bob to see alice typing", () => member()?.typing === true,
            { explain: () => `typing ${member()?.typing}` });
        await alice.client.sendTyping(roomId, false, 0);
        await waitFor("bob to see alice stop typing", () => member()?.typing === false,
            { explain: () => `typing ${member()?.typing}` });
    });

    await step("so do read receipts", async () => {
        const [, lastFromAlice] = after;
        await bob.client.sendReadReceipt(bobRoom.findEventById(lastFromAlice));
        await waitFor("alice to see bob's receipt on her message", () =>
            aliceRoom.getEventReadUpTo(bob.userId, true) === lastFromAlice,
            { explain: () => JSON.stringify(aliceRoom.getReadReceiptForUserId(bob.userId, true)) });
        log(`  bob's client made ${bobSyncs.length} syncs, ${bobSyncsBeforeRestart} before the restart`);
    });
});
