// Helpers shared by the end-to-end encryption scenarios (crypto_*.mjs):
// matrix-js-sdk with its Rust crypto (matrix-sdk-crypto-wasm, through
// client.initRustCrypto) against a real `kith serve` whose private rooms are
// encrypted by default.
//
// Each device is a MatrixClient with an in-memory crypto store
// (initRustCrypto({ useIndexedDB: false })), so a device's keys live as long
// as its client object: stopping and restarting the client keeps them, as a
// client that goes offline and comes back would.
//
// Every request a device makes is recorded (see `requests`), so that a
// scenario can assert on what actually went over the wire, e.g. that a
// to-device message was sent as m.room.encrypted.

import { randomBytes } from "node:crypto";

import * as RustSdkCryptoJs from "@matrix-org/matrix-sdk-crypto-wasm";
import { VerificationPhase, VerifierEvent } from "matrix-js-sdk/lib/crypto-api/index.js";
import loglevel from "loglevel";
import { logger as sdkRootLogger } from "matrix-js-sdk/lib/logger.js";

import {
    assert,
    clientFor,
    describeError,
    log,
    login,
    register,
    roomFor,
    sdk,
    startSyncing,
    uniqueName,
    waitFor,
} from "./lib.mjs";

export const CRYPTO_TIMEOUT_MS = 20_000;

// The request/response tracer of lib.mjs is private to it; borrow it from a
// client made by lib.mjs's clientFor (never started), so that the crypto
// clients' exchanges appear in the failure report too.
function tracerFor(baseUrl, who) {
    const borrowed = clientFor(baseUrl, { userId: who, accessToken: "unused", deviceId: "unused" }, who);
    return borrowed.http.opts.fetchFn;
}

// The SDK's per-client loggers (and their children, e.g. the Rust crypto's)
// log at debug level whatever lib.mjs set for the global one; give each
// client one that keeps warnings and errors only, unless KITH_JS_SDK_LOG asks
// for more.
const LEVELS = ["trace", "debug", "info", "warn", "error"];
function sdkLoggerFor(prefix) {
    const min = LEVELS.indexOf(process.env.KITH_JS_SDK_LOG || "warn");
    const logger = { getChild: (child) => sdkLoggerFor(prefix + child) };
    for (const [i, level] of LEVELS.entries()) {
        logger[level] = i < min ? () => {} : (...args) => log(`  sdk ${level} ${prefix}`,
            ...args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : a)));
    }
    return logger;
}

// The SDK's own child loggers (made with getChild, e.g. by its room
// encryptor) are set to debug level when made; hold them, and any made later,
// to the level asked for.
const SDK_LEVEL = process.env.KITH_JS_SDK_LOG || "warn";
for (const [name, child] of Object.entries(loglevel.getLoggers())) {
    if (name.startsWith("matrix")) child.setLevel(SDK_LEVEL, false);
}
function holdLevel(parent) {
    const getChild = parent.getChild;
    parent.getChild = (prefix) => {
        const child = getChild.call(parent, prefix);
        child.setLevel(SDK_LEVEL, false);
        if (!child.heldLevel) {
            child.heldLevel = true;
            holdLevel(child);
        }
        return child;
    };
}
holdLevel(sdkRootLogger);

/**
 * A device of `account`: a new /login, a MatrixClient with Rust crypto,
 * syncing unless told otherwise. Its crypto store is in memory, unless
 * `persistent`: then it is in IndexedDB (fake-indexeddb, which the scenario
 * must import; one persistent device per process, since the SDK names its
 * database the same for every device), and `restart(device)` can bring the
 * device back after stopClient, as a client restarting would.
 *
 * The secret storage keys a device knows are in `device.secretStorageKeys`
 * (key ID -> private key), which its getSecretStorageKey callback hands to the
 * SDK; `device.requests` records each request it made, `device.syncs` what
 * each /sync response said about end-to-end encryption, and `device.claims`
 * each /keys/claim response.
 */
export async function newDevice(baseUrl, account, label, { sync = true, persistent = false } = {}) {
    const session = await login(baseUrl, account.localpart, account.password, label);
    assert.equal(session.user_id, account.userId);
    const device = {
        ...account,
        baseUrl,
        session,
        persistent,
        deviceId: session.device_id,
        name: `${account.name}/${label}`,
        secretStorageKeys: new Map(),
        requests: [],
        syncs: [],
        claims: [],
    };
    await attachClient(device);
    if (sync) await startSyncing(device.client);
    return device;
}

/**
 * Take a persistent device offline: save its sync state (the SDK does so
 * itself every few minutes), then stop its client and crypto.
 */
export async function goOffline(device) {
    assert.ok(device.persistent, "only a persistent device can come back after going offline");
    await device.client.store.save(true);
    device.client.stopClient();
}

/**
 * Bring a persistent device back after `goOffline(device)`: a new
 * MatrixClient for the same access token and device, whose Rust crypto and
 * sync store reopen the device's IndexedDB databases, so that it syncs on
 * from its last since token. `beforeSync(client)` may add listeners first.
 */
export async function restart(device, { beforeSync } = {}) {
    assert.ok(device.persistent, "only a persistent device can be restarted");
    await attachClient(device);
    if (beforeSync) beforeSync(device.client);
    await startSyncing(device.client);
}

async function attachClient(device) {
    const { session, secretStorageKeys } = device;
    const trace = tracerFor(device.baseUrl, session.user_id);
    const fetchFn = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        const path = decodeURIComponent(new URL(url).pathname);
        const method = init.method || "GET";
        device.requests.push({ method, path, body: typeof init.body === "string" ? init.body : undefined });
        if (device.requests.length > 2000) device.requests.shift();
        const response = await trace(input, init);
        if (response.ok && (path.endsWith("/sync") || path.endsWith("/keys/claim"))) {
            const body = await response.clone().json();
            if (path.endsWith("/sync")) {
                device.syncs.push({
                    since: new URL(url).searchParams.get("since"),
                    otkCounts: body.device_one_time_keys_count,
                    unusedFallbackKeyTypes: body.device_unused_fallback_key_types,
                    deviceLists: body.device_lists,
                    toDevice: (body.to_device?.events ?? []).map((e) => ({ type: e.type, sender: e.sender, content: e.content })),
                });
                if (device.syncs.length > 500) device.syncs.shift();
            } else {
                device.claims.push({ request: JSON.parse(init.body), response: body });
            }
        }
        return response;
    };
    const cryptoCallbacks = {
        getSecretStorageKey: async ({ keys }) => {
            for (const keyId of Object.keys(keys)) {
                if (secretStorageKeys.has(keyId)) return [keyId, secretStorageKeys.get(keyId)];
            }
            return null;
        },
        cacheSecretStorageKey: (keyId, _info, key) => {
            secretStorageKeys.set(keyId, key);
        },
    };
    // A persistent device keeps its sync state in IndexedDB too, as a web
    // client does, so that coming back it syncs on from its last since token.
    let store;
    if (device.persistent) {
        store = new sdk.IndexedDBStore({ indexedDB: globalThis.indexedDB, dbName: `kith-sync-${session.device_id}` });
    }
    device.client = sdk.createClient({
        store,
        baseUrl: device.baseUrl,
        userId: session.user_id,
        accessToken: session.access_token,
        deviceId: session.device_id,
        fetchFn,
        timelineSupport: true,
        cryptoCallbacks,
        logger: sdkLoggerFor(`[${device.name}]`),
    });
    if (store) await store.startup();
    await device.client.initRustCrypto({ useIndexedDB: device.persistent });
    // initRustCrypto turns the Rust crypto's tracing on at debug level (one
    // console line per step); keep its warnings only, unless asked for more.
    if (!process.env.KITH_JS_RUST_DEBUG) new RustSdkCryptoJs.Tracing(RustSdkCryptoJs.LoggerLevel.Warn).turnOn();
    // The device's identity keys, kept for when its crypto is stopped.
    device.keys = await device.client.getCrypto().getOwnDeviceKeys();
}

/** A fresh account (registered, not yet logged in on any device). */
export async function newAccount(baseUrl, prefix) {
    const localpart = uniqueName(prefix);
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const registered = await register(baseUrl, localpart, password);
    return { userId: registered.user_id, localpart, password, name: prefix };
}

/** The UIA callback for m.login.password, as clients implement it. */
export function passwordAuth(device) {
    return async (makeRequest) => {
        try {
            return await makeRequest(null);
        } catch (err) {
            if (!(err instanceof sdk.MatrixError) || err.httpStatus !== 401) throw err;
            const session = err.data?.session;
            assert.ok(
                (err.data?.flows ?? []).some((f) => f.stages?.includes("m.login.password")),
                `expected an m.login.password flow in ${JSON.stringify(err.data)}`,
            );
            return makeRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: device.localpart },
                password: device.password,
                session,
            });
        }
    };
}

/**
 * The device IDs `observer`'s crypto currently lists for `userId`. With
 * `tracked` (the default) only a user whose device list the crypto tracks
 * (one it shares an encrypted room with, kept current through the
 * device_lists of /sync) is listed; otherwise an untracked user's devices are
 * fetched with a one-off /keys/query.
 */
export async function knownDevices(observer, userId, { tracked = true } = {}) {
    const map = await observer.client.getCrypto().getUserDeviceInfo([userId], !tracked);
    return [...(map.get(userId)?.keys() ?? [])].sort();
}

/** Wait until `observer`'s crypto lists exactly these devices of `userId`. */
export async function waitForDevices(observer, userId, deviceIds, { timeoutMs = CRYPTO_TIMEOUT_MS, tracked = true } = {}) {
    const want = [...deviceIds].sort();
    let seen = [];
    await waitFor(
        `${observer.name} to list exactly devices ${want.join(", ")} of ${userId}`,
        async () => {
            seen = await knownDevices(observer, userId, { tracked });
            return JSON.stringify(seen) === JSON.stringify(want);
        },
        { timeoutMs, intervalMs: 100, explain: () => `lists ${seen.join(", ") || "(none)"}` },
    );
}

/**
 * Wait until `device` has the event with this ID in the room's live timeline,
 * decrypted, and return the event. A decryption failure is not final (the
 * room key may still be on its way), so it is only reported at the deadline.
 */
export async function decrypted(device, roomId, eventId, { timeoutMs = CRYPTO_TIMEOUT_MS } = {}) {
    const room = await roomFor(device, roomId, { membership: "join", timeoutMs });
    let found;
    return waitFor(
        `${device.name} to decrypt ${eventId} in ${roomId}`,
        () => {
            found = room.getLiveTimeline().getEvents().find((e) => e.getId() === eventId);
            if (!found || found.isBeingDecrypted() || found.isDecryptionFailure()) return null;
            if (found.getType() === "m.room.encrypted") return null;
            return found;
        },
        {
            timeoutMs,
            intervalMs: 50,
            explain: () => {
                if (!found) return "event not in the live timeline";
                if (found.isDecryptionFailure()) {
                    return `decryption failure ${found.decryptionFailureReason}: ${found.getContent().body}`;
                }
                return `type ${found.getType()}, wire type ${found.getWireType()}`;
            },
        },
    );
}

/** Send an m.text into an (encrypted) room and return its event ID. */
export async function sayEncrypted(device, roomId, body) {
    const { event_id: eventId } = await device.client.sendMessage(roomId, { msgtype: "m.text", body });
    assert.match(eventId, /^\$/);
    // What went over the wire was encrypted.
    const sent = device.requests.filter((r) => r.method === "PUT" && r.path.includes(`/rooms/${roomId}/send/`));
    const last = sent[sent.length - 1];
    assert.ok(last, `${device.name} sent no /send request`);
    assert.ok(last.path.includes("/send/m.room.encrypted/"), `${device.name} sent ${last.path} in the clear`);
    assert.ok(!last.body.includes(body), "the plaintext must not appear in the sent body");
    return eventId;
}

/** Every device in `readers` decrypts the event to this body. */
export async function allDecrypt(readers, roomId, eventId, body) {
    await Promise.all(readers.map(async (reader) => {
        const event = await decrypted(reader, roomId, eventId);
        assert.equal(event.getContent().body, body, `${reader.name} decrypted ${eventId}`);
        assert.equal(event.getWireType(), "m.room.encrypted", "the event came encrypted");
    }));
}

/** The room's m.room.encryption content, read from /state (not from the SDK). */
export async function encryptionState(device, roomId) {
    const state = await device.client.roomState(roomId);
    return state.find((e) => e.type === "m.room.encryption" && e.state_key === "")?.content;
}

// -- verification ---------------------------------------------------------

export const phaseName = (phase) => VerificationPhase[phase] ?? String(phase);

/** Wait until a verification request reaches `phase` (failing early if it is cancelled). */
export function requestPhase(who, request, phase) {
    return waitFor(
        `${who.name}'s verification request to reach phase ${phaseName(phase)}`,
        () => {
            if (request.phase === VerificationPhase.Cancelled && phase !== VerificationPhase.Cancelled) {
                throw new Error(`cancelled: ${request.cancellationCode} (by ${request.cancellingUserId})`);
            }
            return request.phase === phase;
        },
        { timeoutMs: CRYPTO_TIMEOUT_MS, explain: () => `phase ${phaseName(request.phase)}` },
    );
}

/** Start a verifier's verify() and resolve with the SAS it shows. */
export function showSas(who, verifier) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${who.name} was never shown the SAS`)), CRYPTO_TIMEOUT_MS);
        verifier.once(VerifierEvent.ShowSas, (callbacks) => {
            clearTimeout(timer);
            resolve(callbacks);
        });
        verifier.once(VerifierEvent.Cancel, (err) => {
            clearTimeout(timer);
            reject(new Error(`${who.name}'s verifier was cancelled: ${err?.message ?? err?.getContent?.().code ?? err}`));
        });
        who.verifyDone = verifier.verify();
        who.verifyDone.catch(() => {});
    });
}

/** POST /keys/query for one user, as `device`. */
export function queryKeys(device, userId) {
    return device.client.http.authedRequest(sdk.Method.Post, "/keys/query", undefined, { device_keys: { [userId]: [] } });
}

export { describeError, log };
