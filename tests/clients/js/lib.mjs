// Small shared helpers for the matrix-js-sdk scenarios.
//
// Every scenario is a script run as `node <scenario>.mjs <base_url>` against a
// real `kith serve`. It exits 0 when every step passed and 1 otherwise, after
// printing which step failed, why, and the last HTTP exchanges the SDK had with
// the server (set KITH_JS_TRACE=1 to print every exchange as it happens).
//
// The helpers never sleep for a fixed time: `waitFor` re-checks a condition
// until it holds or its deadline passes, and every wait has a deadline.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import * as sdk from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

export { assert, sdk };

export const DEFAULT_TIMEOUT_MS = 15_000;
const SCENARIO_DEADLINE_MS = Number(process.env.KITH_JS_DEADLINE_MS || 100_000);
const TRACE = Boolean(process.env.KITH_JS_TRACE);

// ---------------------------------------------------------------------------
// Output and HTTP tracing

const started = Date.now();
const stamp = () => `${String(((Date.now() - started) / 1000).toFixed(2)).padStart(7)}s`;

export function log(...parts) {
    console.log(stamp(), ...parts);
}

// The SDK logs a great deal at debug level; keep only its warnings and errors
// unless asked for more, one short line each.
// Two messages are known noise, not signs of a server problem: the SDK's
// MatrixRTC manager sees a new room's state before the room is stored, and
// the SDK misses default push rules the spec has since removed
// (.m.rule.contains_display_name, .m.rule.roomnotif) or adds unstable ones.
const SDK_NOISE = [/^Got room state event for unknown room/, /^(Missing|Adding) default global \w+ push rule /];
sdkLogger.methodFactory = (methodName) => (...args) => {
    if (typeof args[0] === "string" && SDK_NOISE.some((re) => re.test(args[0]))) return;
    const parts = args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : a));
    console.log(stamp(), `  sdk ${methodName}:`, ...parts);
};
sdkLogger.setLevel(process.env.KITH_JS_SDK_LOG || "warn");

const exchanges = []; // ring buffer of recent HTTP exchanges, for failure reports
const MAX_EXCHANGES = 80;

function remember(line) {
    exchanges.push(`${stamp()} ${line}`);
    if (exchanges.length > MAX_EXCHANGES) exchanges.shift();
    if (TRACE) console.log(`${stamp()}   http ${line}`);
}

function shortUrl(url) {
    const u = new URL(url);
    return decodeURIComponent(u.pathname) + (u.search ? decodeURIComponent(u.search) : "");
}

/**
 * A fetch that records each exchange (and the body of each error reply).
 * With `syncs`, an array, every successful /sync is also appended to it as
 * `{ since, body }`: the since token the client sent and the parsed reply,
 * for scenarios that check what the server delivered rather than what the
 * SDK made of it (the SDK quietly drops an event it already holds).
 */
function tracingFetch(who, syncs) {
    return async (input, init = {}) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        const method = init.method || "GET";
        let sent = "";
        if (typeof init.body === "string" && !url.includes("/login") && !url.includes("/register")) {
            sent = ` ${init.body.slice(0, 300)}`;
        }
        let response;
        try {
            response = await fetch(input, init);
        } catch (err) {
            if (err?.name !== "AbortError") remember(`${who} ${method} ${shortUrl(url)}${sent} -> ${err}`);
            throw err;
        }
        let detail = "";
        if (!response.ok) {
            try {
                detail = ` ${(await response.clone().text()).slice(0, 400)}`;
            } catch {
                detail = "";
            }
        }
        remember(`${who} ${method} ${shortUrl(url)}${sent} -> ${response.status}${detail}`);
        if (syncs && response.ok && new URL(url).pathname.endsWith("/sync")) {
            syncs.push({ since: new URL(url).searchParams.get("since"), body: await response.clone().json() });
        }
        return response;
    };
}

/** A readable one-line description of an error from the SDK or from us. */
export function describeError(err) {
    if (err instanceof sdk.MatrixError) {
        const where = err.url ? ` (${err.url.replace(/access_token=[^&]+/, "access_token=…")})` : "";
        return `HTTP ${err.httpStatus} ${err.errcode}: ${err.data?.error ?? err.message}${where}`;
    }
    return err?.stack || String(err);
}

// ---------------------------------------------------------------------------
// Scenario structure

const liveClients = new Set();

/** Run a scenario: a titled list of steps. Exits the process with its verdict. */
export async function scenario(title, body) {
    const baseUrl = process.argv[2];
    if (!baseUrl) {
        console.error("usage: node <scenario>.mjs <homeserver base URL>");
        process.exit(2);
    }
    log(`scenario: ${title} against ${baseUrl}`);
    const deadline = setTimeout(() => {
        fail(new Error(`scenario did not finish within ${SCENARIO_DEADLINE_MS} ms`));
    }, SCENARIO_DEADLINE_MS);
    try {
        await body(baseUrl);
    } catch (err) {
        fail(err);
        return;
    }
    clearTimeout(deadline);
    stopAll();
    log(`PASS ${title}`);
    process.exit(0);
}

let currentStep = "(setup)";

function fail(err) {
    console.log(`\n${stamp()} FAIL in step: ${currentStep}`);
    console.log(describeError(err));
    console.log("\nLast HTTP exchanges (oldest first):");
    for (const line of exchanges) console.log(`  ${line}`);
    stopAll();
    process.exit(1);
}

function stopAll() {
    for (const client of liveClients) {
        try {
            client.stopClient();
        } catch {
            // Already stopped.
        }
    }
}

/** One named step of a scenario; a failure inside reports this name. */
export async function step(title, fn) {
    currentStep = title;
    const t0 = Date.now();
    log(`- ${title}`);
    const result = await fn();
    log(`  ok (${Date.now() - t0} ms)`);
    return result;
}

// ---------------------------------------------------------------------------
// Waiting

/**
 * Wait until `predicate()` returns something truthy and return it.
 * `what` names the awaited condition in the timeout error; `explain()` may
 * return the state observed so far, to tell why the condition never held.
 */
export async function waitFor(what, predicate, { timeoutMs = DEFAULT_TIMEOUT_MS, explain, intervalMs = 25 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastError;
    for (;;) {
        try {
            const value = await predicate();
            if (value) return value;
        } catch (err) {
            lastError = err;
        }
        if (Date.now() >= deadline) {
            let message = `timed out after ${timeoutMs} ms waiting for: ${what}`;
            if (lastError) message += `\n  last error: ${describeError(lastError)}`;
            if (explain) {
                try {
                    message += `\n  observed: ${explain()}`;
                } catch (err) {
                    message += `\n  (could not explain: ${err})`;
                }
            }
            throw new Error(message);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}

/** Expect `promise` to reject with a MatrixError; return that error. */
export async function expectMatrixError(promise, { status, errcode } = {}) {
    let result;
    try {
        result = await promise;
    } catch (err) {
        if (!(err instanceof sdk.MatrixError)) throw err;
        if (status !== undefined) assert.equal(err.httpStatus, status, describeError(err));
        if (errcode !== undefined) assert.equal(err.errcode, errcode, describeError(err));
        return err;
    }
    throw new Error(`expected an error (${status ?? ""} ${errcode ?? ""}) but got ${JSON.stringify(result)}`);
}

// ---------------------------------------------------------------------------
// Users and clients

export function uniqueName(prefix) {
    return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** A client with no credentials, for /register and /login. */
export function anonymousClient(baseUrl) {
    return sdk.createClient({ baseUrl, fetchFn: tracingFetch("anon") });
}

/**
 * Register an account the way clients do on an open server: a first
 * /register without auth returns 401 with the flows and a session, and the
 * retry completes the m.login.dummy stage in that session.
 */
export async function register(baseUrl, localpart, password) {
    const anon = anonymousClient(baseUrl);
    const body = { username: localpart, password, initial_device_display_name: "js-sdk register" };
    const challenge = await expectMatrixError(anon.registerRequest(body), { status: 401 });
    const flows = challenge.data.flows ?? [];
    assert.ok(
        flows.some((flow) => flow.stages?.length === 1 && flow.stages[0] === "m.login.dummy"),
        `expected an m.login.dummy flow in ${JSON.stringify(challenge.data)}`,
    );
    assert.equal(typeof challenge.data.session, "string", "401 reply must carry a UIA session");
    return anon.registerRequest({ ...body, auth: { type: "m.login.dummy", session: challenge.data.session } });
}

/** Log in with the m.id.user identifier; returns the /login response. */
export async function login(baseUrl, localpart, password, deviceName = "js-sdk") {
    return anonymousClient(baseUrl).loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: localpart },
        password,
        initial_device_display_name: deviceName,
    });
}

/**
 * A MatrixClient for an access token (not yet syncing). `store`: a store of
 * the SDK's (an IndexedDBStore, started up, for a client that keeps its sync
 * state); `syncs`: an array to collect the /sync replies in (see tracingFetch).
 */
export function clientFor(baseUrl, { userId, accessToken, deviceId }, who = userId, { store, syncs } = {}) {
    const client = sdk.createClient({
        baseUrl,
        userId,
        accessToken,
        deviceId,
        store,
        fetchFn: tracingFetch(who.replace(/^@([^:-]+).*$/, "$1"), syncs),
        timelineSupport: true,
    });
    liveClients.add(client);
    return client;
}

/** Start the /sync loop and wait until the first sync is processed. */
export async function startSyncing(client, { timeoutMs = 30_000, initialSyncLimit = 50, threadSupport = false } = {}) {
    let syncError;
    const onSync = (state, _prev, data) => {
        if (state === "ERROR" && data?.error) syncError = data.error;
    };
    client.on(sdk.ClientEvent.Sync, onSync);
    // Detached: the SDK keeps its local echoes of events being sent apart
    // from the timeline, which therefore shows events in the order /sync
    // delivered them (with the default, a local echo stays where it was
    // typed even if the server ordered another event before it).
    // Lazy-loaded members, as Element and other large clients sync: the
    // server sends only the member events of the timeline's senders.
    // threadSupport: thread replies go to their threads' timelines, not the
    // room's, as in Element.
    await client.startClient({
        initialSyncLimit,
        lazyLoadMembers: true,
        threadSupport,
        pendingEventOrdering: sdk.PendingEventOrdering.Detached,
    });
    try {
        await waitFor(
            `${client.getUserId()}'s first /sync to be processed`,
            () => {
                if (syncError) throw syncError;
                const state = client.getSyncState();
                return state === "PREPARED" || state === "SYNCING";
            },
            {
                timeoutMs,
                explain: () => `sync state ${client.getSyncState()}${syncError ? `, error ${describeError(syncError)}` : ""}`,
            },
        );
    } catch (err) {
        throw new Error(`sync did not start: ${describeError(syncError ?? err)}`);
    } finally {
        client.off(sdk.ClientEvent.Sync, onSync);
    }
}

/**
 * A fresh user: registered, logged in on a new device with an m.id.user
 * identifier, and (unless sync is false) with a running /sync loop.
 */
export async function makeUser(baseUrl, prefix, { sync = true, syncs, threadSupport } = {}) {
    const localpart = uniqueName(prefix);
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const registered = await register(baseUrl, localpart, password);
    const session = await login(baseUrl, localpart, password, `${prefix}'s js-sdk`);
    assert.equal(session.user_id, registered.user_id, "login returns the registered user");
    const client = clientFor(baseUrl, {
        userId: session.user_id,
        accessToken: session.access_token,
        deviceId: session.device_id,
    }, session.user_id, { syncs });
    if (sync) await startSyncing(client, { threadSupport });
    return {
        client,
        userId: session.user_id,
        localpart,
        password,
        deviceId: session.device_id,
        accessToken: session.access_token,
        name: prefix,
    };
}

// ---------------------------------------------------------------------------
// Rooms and timelines

/** Wait until the client knows the room (from /sync) and return it. */
export function roomFor(user, roomId, { membership, timeoutMs } = {}) {
    return waitFor(
        `${user.name} to see room ${roomId}${membership ? ` with membership ${membership}` : ""}`,
        () => {
            const room = user.client.getRoom(roomId);
            if (!room) return null;
            if (membership && room.getMyMembership() !== membership) return null;
            return room;
        },
        {
            timeoutMs,
            explain: () => {
                const room = user.client.getRoom(roomId);
                return room ? `membership ${room.getMyMembership()}` : "room unknown to the client";
            },
        },
    );
}

/** The live timeline events of a room, optionally of one type. */
export function timeline(room, type) {
    const events = room.getLiveTimeline().getEvents();
    return type ? events.filter((e) => e.getType() === type) : events;
}

/** The bodies of the m.room.message events in a room's live timeline. */
export function messageBodies(room) {
    return timeline(room, "m.room.message").map((e) => e.getContent().body);
}

/** Wait until an event with this ID is in the room's live timeline. */
export function eventInTimeline(user, room, eventId, { timeoutMs } = {}) {
    return waitFor(
        `${user.name} to see event ${eventId} in ${room.roomId}`,
        () => room.getLiveTimeline().getEvents().find((e) => e.getId() === eventId),
        { timeoutMs, explain: () => JSON.stringify(timeline(room).map((e) => `${e.getType()} ${e.getId()}`)) },
    );
}

/** Send a plain text message and return its event ID. */
export async function say(user, roomId, body) {
    const { event_id: eventId } = await user.client.sendMessage(roomId, { msgtype: "m.text", body });
    assert.match(eventId, /^\$/, "send returns an event ID");
    return eventId;
}

/** Wait until `user` sees `memberId` with this membership in the room. */
export function membershipSeen(user, room, memberId, membership, { timeoutMs } = {}) {
    return waitFor(
        `${user.name} to see ${memberId} with membership ${membership} in ${room.roomId}`,
        () => room.getMember(memberId)?.membership === membership,
        { timeoutMs, explain: () => `membership ${room.getMember(memberId)?.membership ?? "(none)"}` },
    );
}

/**
 * Create a room (preset private_chat unless told otherwise) and check that it
 * is not end-to-end encrypted: these scenarios send plaintext, which the SDK
 * refuses to do in an encrypted room without its crypto module.
 */
export async function createRoom(user, options = {}) {
    const { room_id: roomId } = await user.client.createRoom({ preset: "private_chat", ...options });
    assert.match(roomId, /^!/);
    const state = await user.client.roomState(roomId);
    const encryption = state.find((e) => e.type === "m.room.encryption");
    assert.ok(!encryption, `the server made the new room end-to-end encrypted (${JSON.stringify(encryption?.content)}); ` +
        "these plaintext scenarios need a server that does not encrypt new rooms by default");
    return roomId;
}

/**
 * A private room created by `owner` that `guest` was invited to and joined;
 * returns the room as each of them sees it.
 */
export async function sharedRoom(owner, guest, createOptions = {}) {
    const roomId = await createRoom(owner, createOptions);
    await owner.client.invite(roomId, guest.userId);
    await roomFor(guest, roomId, { membership: "invite" });
    await guest.client.joinRoom(roomId);
    const guestRoom = await roomFor(guest, roomId, { membership: "join" });
    const ownerRoom = await roomFor(owner, roomId, { membership: "join" });
    await membershipSeen(owner, ownerRoom, guest.userId, "join");
    return { roomId, ownerRoom, guestRoom };
}

/** Print a non-fatal observation (a SHOULD of the spec that was not met). */
export function warn(message) {
    log(`  WARNING: ${message}`);
}

/** One full /sync (no since token, no waiting) made directly, outside the SDK. */
export function rawSync(user, filter = { room: { timeline: { limit: 1 } } }) {
    return user.client.http.authedRequest(sdk.Method.Get, "/sync", {
        filter: JSON.stringify(filter),
        timeout: "0",
    });
}
