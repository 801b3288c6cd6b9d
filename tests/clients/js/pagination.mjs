// Pagination: a room's history read back page by page, both ways, loses and
// repeats nothing.
//
//   node pagination.mjs <base_url>

import {
    assert,
    clientFor,
    createRoom,
    login,
    makeUser,
    roomFor,
    say,
    scenario,
    sdk,
    startSyncing,
    step,
    waitFor,
} from "./lib.mjs";

const COUNT = 30;
const PAGE = 7;
const MAX_PAGES = 40; // far more than the room holds; a bound, not an expectation

/**
 * Read the whole room with /messages in one direction, PAGE events at a time,
 * starting from `from` (null: from the end for backwards, the start for
 * forwards). Returns every event in the order received.
 */
async function readAll(client, roomId, dir, from = null) {
    const events = [];
    let token = from;
    for (let page = 0; page < MAX_PAGES; page++) {
        const res = await client.createMessagesRequest(roomId, token, PAGE, dir);
        assert.ok(Array.isArray(res.chunk), "chunk is an array");
        assert.ok(res.chunk.length <= PAGE, `a page holds at most limit=${PAGE} events, got ${res.chunk.length}`);
        if (token) assert.equal(res.start, token, "start is the token given as from");
        events.push(...res.chunk);
        if (!res.end || res.chunk.length === 0) return events;
        assert.notEqual(res.end, token, "a page that returned events moves the token on");
        token = res.end;
    }
    throw new Error(`/messages dir=${dir} did not end within ${MAX_PAGES} pages of ${PAGE}`);
}

function numbered(events) {
    return events.filter((e) => e.type === "m.room.message").map((e) => e.content.body);
}

function assertNoDuplicates(events, what) {
    const ids = events.map((e) => e.event_id);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(dupes, [], `${what}: no event twice`);
}

await scenario("pagination", async (baseUrl) => {
    const expected = Array.from({ length: COUNT }, (_, i) => `message ${i + 1}`);

    const alice = await step("alice signs up and starts syncing", () => makeUser(baseUrl, "alice"));

    const roomId = await step(`alice creates a room and sends ${COUNT} numbered messages`, async () => {
        const id = await createRoom(alice, { name: "Numbers" });
        for (const body of expected) await say(alice, id, body);
        const room = await roomFor(alice, id);
        await waitFor(`alice's sync to deliver all ${COUNT} messages`, () =>
            room.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message" && !e.status).length === COUNT);
        return id;
    });

    // A second device of alice's, which has never synced this room, reads it.
    const reader = await step("alice logs in on a second device", async () => {
        const session = await login(baseUrl, alice.localpart, alice.password, "alice's tablet");
        return clientFor(baseUrl, { userId: session.user_id, accessToken: session.access_token, deviceId: session.device_id }, "@tablet");
    });

    let oldestFirst;
    await step(`backwards from the end, ${PAGE} at a time: all ${COUNT} messages, newest first`, async () => {
        const events = await readAll(reader, roomId, sdk.Direction.Backward);
        assertNoDuplicates(events, "backwards");
        assert.deepEqual(numbered(events), [...expected].reverse());
        assert.equal(events.at(-1).type, "m.room.create", "the last page ends at the room's creation");
        oldestFirst = [...events].reverse();
    });

    await step(`forwards from the start, ${PAGE} at a time: all ${COUNT} messages, oldest first`, async () => {
        const events = await readAll(reader, roomId, sdk.Direction.Forward);
        assertNoDuplicates(events, "forwards");
        assert.deepEqual(numbered(events), expected);
        assert.equal(events[0].type, "m.room.create", "the first page starts at the room's creation");
        assert.deepEqual(events.map((e) => e.event_id), oldestFirst.map((e) => e.event_id),
            "both directions see the same events in mirror order");
    });

    await step("forwards from a token half way back continues exactly where backwards stopped", async () => {
        const first = await reader.createMessagesRequest(roomId, null, PAGE, sdk.Direction.Backward);
        const second = await reader.createMessagesRequest(roomId, first.end, PAGE, sdk.Direction.Backward);
        // Going forwards from second.end re-reads second's page, then first's, in order.
        const forward = await readAll(reader, roomId, sdk.Direction.Forward, second.end);
        const backPages = [...first.chunk, ...second.chunk].reverse();
        assert.deepEqual(forward.map((e) => e.event_id), backPages.map((e) => e.event_id));
        assert.deepEqual(numbered(forward), expected.slice(COUNT - 2 * PAGE));
    });

    await step("the SDK's own scrollback from a short initial sync fills the timeline in order", async () => {
        await startSyncing(reader, { initialSyncLimit: 5 });
        const room = reader.getRoom(roomId);
        assert.ok(room, "the second device's sync includes the room");
        const bodies = () => room.getLiveTimeline().getEvents()
            .filter((e) => e.getType() === "m.room.message").map((e) => e.getContent().body);
        assert.ok(bodies().length <= 5, `initial sync honours the limit of 5 (got ${bodies().length})`);
        for (let i = 0; i < MAX_PAGES && room.getLiveTimeline().getPaginationToken(sdk.EventTimeline.BACKWARDS); i++) {
            await reader.scrollback(room, PAGE);
        }
        assert.equal(room.getLiveTimeline().getPaginationToken(sdk.EventTimeline.BACKWARDS), null,
            "scrollback reaches the start of the room");
        assert.deepEqual(bodies(), expected);
        const ids = room.getLiveTimeline().getEvents().map((e) => e.getId());
        assert.equal(new Set(ids).size, ids.length, "no event twice in the timeline");
        assert.equal(room.getLiveTimeline().getEvents()[0].getType(), "m.room.create");
    });
});
