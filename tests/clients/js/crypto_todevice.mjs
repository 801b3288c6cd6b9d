// Olm-encrypted to-device messages with matrix-js-sdk's Rust crypto: they
// arrive and decrypt, they wait on the server while the receiving device is
// offline, and once every one-time key of a device has been claimed a new
// Olm session is made with its fallback key and still works.
//
//   node crypto_todevice.mjs <base_url>

import "fake-indexeddb/auto";

import {
    CRYPTO_TIMEOUT_MS,
    goOffline,
    newAccount,
    decrypted,
    newDevice,
    restart,
    waitForDevices,
} from "./crypto_lib.mjs";
import { assert, membershipSeen, roomFor, scenario, sdk, step, waitFor } from "./lib.mjs";

const PING = "org.kith.test.ping";
const OLM = "m.olm.v1.curve25519-aes-sha2";

/** Record the decrypted to-device events of PING type a client receives. */
function collectPings(client, into) {
    client.on(sdk.ClientEvent.ToDeviceEvent, (event) => {
        if (event.getType() === PING) into.push({ sender: event.getSender(), content: event.getContent() });
    });
}

/** Wait until `received` holds a ping with each of these sequence numbers. */
function pingsArrived(who, received, seqs, { timeoutMs = CRYPTO_TIMEOUT_MS } = {}) {
    return waitFor(
        `${who.name} to receive pings ${seqs.join(", ")}`,
        () => seqs.every((n) => received.some((p) => p.content.seq === n)),
        { timeoutMs, explain: () => `received ${JSON.stringify(received.map((p) => p.content.seq))}` },
    );
}

/**
 * Send an encrypted PING to one device and check what went over the wire: a
 * PUT /sendToDevice/m.room.encrypted whose content for that device is an
 * Olm message for its curve25519 key, with nothing in the clear.
 */
async function ping(from, to, seq) {
    const before = from.requests.length;
    const payload = { seq, text: `ping ${seq} from ${from.name}` };
    await from.client.encryptAndSendToDevice(PING, [{ userId: to.userId, deviceId: to.deviceId }], payload);
    const sent = await waitFor(`${from.name} to PUT the encrypted to-device message`, () =>
        from.requests.slice(before).find((r) => r.method === "PUT" && r.path.includes("/sendToDevice/")));
    assert.ok(sent.path.includes("/sendToDevice/m.room.encrypted/"), `sent as ${sent.path}`);
    const content = JSON.parse(sent.body).messages?.[to.userId]?.[to.deviceId];
    assert.ok(content, `the message is addressed to ${to.userId} ${to.deviceId}: ${sent.body.slice(0, 200)}`);
    assert.equal(content.algorithm, OLM);
    const theirKey = to.keys.curve25519;
    assert.deepEqual(Object.keys(content.ciphertext), [theirKey], "encrypted for the receiver's identity key");
    assert.ok(!sent.body.includes(payload.text), "nothing in the clear");
}

await scenario("olm-encrypted to-device messages and fallback keys (Rust crypto)", async (baseUrl) => {
    const [aliceAccount, bobAccount] = await step("alice and bob sign up", () =>
        Promise.all([newAccount(baseUrl, "alice"), newAccount(baseUrl, "bob")]));

    const bobPings = [];
    const alicePings = [];
    const [a1, b1] = await step("alice logs in on her laptop, bob on his desktop (crypto store in IndexedDB)", async () => {
        const bob = await newDevice(baseUrl, bobAccount, "desktop", { sync: false, persistent: true });
        collectPings(bob.client, bobPings);
        const { startSyncing } = await import("./lib.mjs");
        await startSyncing(bob.client);
        const alice = await newDevice(baseUrl, aliceAccount, "laptop");
        collectPings(alice.client, alicePings);
        return [alice, bob];
    });

    const roomId = await step("they share an encrypted room, so each device tracks the other's device list", async () => {
        const { room_id: roomId } = await a1.client.createRoom({ preset: "private_chat" });
        await a1.client.invite(roomId, bobAccount.userId);
        await roomFor(b1, roomId, { membership: "invite" });
        await b1.client.joinRoom(roomId);
        await membershipSeen(a1, await roomFor(a1, roomId, { membership: "join" }), bobAccount.userId, "join");
        await waitForDevices(a1, bobAccount.userId, [b1.deviceId]);
        await waitForDevices(b1, aliceAccount.userId, [a1.deviceId]);
        return roomId;
    });

    await step("alice's laptop sends bob's desktop an Olm-encrypted to-device message; it arrives decrypted", async () => {
        await ping(a1, b1, 1);
        await pingsArrived(b1, bobPings, [1]);
        const got = bobPings.find((p) => p.content.seq === 1);
        assert.equal(got.sender, aliceAccount.userId);
        assert.equal(got.content.text, `ping 1 from ${a1.name}`);
        const wire = b1.syncs.flatMap((s) => s.toDevice).find((e) => e.sender === aliceAccount.userId);
        assert.equal(wire?.type, "m.room.encrypted", "the /sync of bob's desktop carried it encrypted");
        assert.equal(wire.content.algorithm, OLM);
        assert.ok(!wire.content.device_id || wire.content.device_id === a1.deviceId);
    });

    await step("bob's desktop answers over Olm; alice's laptop decrypts it", async () => {
        await ping(b1, a1, 101);
        await pingsArrived(a1, alicePings, [101]);
    });

    const a2 = await step("alice logs in on a phone; bob's desktop learns of it (no Olm session between them yet)", async () => {
        const phone = await newDevice(baseUrl, aliceAccount, "phone");
        collectPings(phone.client, alicePings);
        await waitForDevices(phone, bobAccount.userId, [b1.deviceId]);
        await waitForDevices(b1, aliceAccount.userId, [a1.deviceId, phone.deviceId]);
        return phone;
    });

    const bobFullKeys = await step("bob's desktop goes offline (its client and crypto stopped)", async () => {
        await goOffline(b1);
        return b1.keys;
    });

    await step("alice's laptop sends three more while bob's desktop is offline", async () => {
        for (const seq of [2, 3, 4]) await ping(a1, b1, seq);
    });

    const fallbackKey = await step("someone claims every one-time key of bob's desktop; then /keys/claim hands out its fallback key", async () => {
        const claimBody = { one_time_keys: { [bobAccount.userId]: { [b1.deviceId]: "signed_curve25519" } } };
        const seen = new Set();
        let fallback;
        for (let i = 0; i < 200 && !fallback; i++) {
            const reply = await a1.client.http.authedRequest(sdk.Method.Post, "/keys/claim", undefined, claimBody);
            const keys = reply.one_time_keys?.[bobAccount.userId]?.[b1.deviceId];
            assert.ok(keys && Object.keys(keys).length === 1, `claim ${i} returned ${JSON.stringify(reply)}`);
            const [[keyId, key]] = Object.entries(keys);
            assert.match(keyId, /^signed_curve25519:/);
            assert.ok(key.signatures?.[bobAccount.userId]?.[`ed25519:${b1.deviceId}`], "the key is signed by the device");
            if (key.fallback === true) {
                fallback = { keyId, key };
            } else {
                assert.ok(!seen.has(keyId), `one-time key ${keyId} was handed out twice`);
                seen.add(keyId);
            }
        }
        assert.ok(fallback, `no fallback key after ${seen.size} one-time keys`);
        assert.ok(seen.size > 0, "the device had uploaded one-time keys");
        const again = await a1.client.http.authedRequest(sdk.Method.Post, "/keys/claim", undefined, claimBody);
        const [[keyId2, key2]] = Object.entries(again.one_time_keys[bobAccount.userId][b1.deviceId]);
        assert.equal(keyId2, fallback.keyId, "the fallback key is handed out again (not removed)");
        assert.equal(key2.key, fallback.key.key);
        assert.equal(key2.fallback, true);
        return { ...fallback, oneTimeKeysClaimed: seen.size };
    });

    await step("the phone sends bob's desktop a message: its new Olm session is made with the fallback key", async () => {
        await ping(a2, b1, 5);
        const claim = a2.claims.find((c) => c.request.one_time_keys?.[bobAccount.userId]?.[b1.deviceId]);
        assert.ok(claim, `the phone claimed a key of bob's desktop (claims: ${JSON.stringify(a2.claims.map((c) => c.request))})`);
        const keys = claim.response.one_time_keys[bobAccount.userId][b1.deviceId];
        assert.deepEqual(Object.keys(keys), [fallbackKey.keyId], "the claim returned the fallback key");
        assert.equal(keys[fallbackKey.keyId].fallback, true);
    });

    const a3 = await step("alice logs in on a tablet while bob's desktop is offline", async () => {
        const tablet = await newDevice(baseUrl, aliceAccount, "tablet");
        await roomFor(tablet, roomId, { membership: "join" });
        await waitForDevices(tablet, bobAccount.userId, [b1.deviceId]);
        return tablet;
    });

    const tabletMessage = await step("the tablet writes in the room: the room key goes to bob's desktop over a new Olm session, also made with the fallback key", async () => {
        const body = "written on the tablet while bob was away";
        const { event_id: eventId } = await a3.client.sendMessage(roomId, { msgtype: "m.text", body });
        const claim = a3.claims.find((c) => c.request.one_time_keys?.[bobAccount.userId]?.[b1.deviceId]);
        assert.ok(claim, "the tablet claimed a key of bob's desktop");
        assert.deepEqual(Object.keys(claim.response.one_time_keys[bobAccount.userId][b1.deviceId]), [fallbackKey.keyId],
            "the same fallback key again: it stays usable until the device replaces it");
        return { eventId, body };
    });

    let comeback;
    await step("bob's desktop comes back: the four messages sent while it was offline arrive and decrypt", async () => {
        const syncsBefore = b1.syncs.length;
        comeback = syncsBefore;
        const requestsBefore = b1.requests.length;
        await restart(b1, { beforeSync: (client) => collectPings(client, bobPings) });
        assert.equal((await b1.client.getCrypto().getOwnDeviceKeys()).curve25519, bobFullKeys.curve25519,
            "the same device identity, reopened from its store");
        await pingsArrived(b1, bobPings, [2, 3, 4, 5]);
        const fromPhone = bobPings.find((p) => p.content.seq === 5);
        assert.equal(fromPhone.content.text, `ping 5 from ${a2.name}`);
        const order = bobPings.filter((p) => p.sender === aliceAccount.userId && p.content.seq >= 2 && p.content.seq <= 4)
            .map((p) => p.content.seq);
        assert.deepEqual(order, [2, 3, 4], "alice's laptop's messages arrived in the order sent");
        const first = b1.syncs[syncsBefore];
        assert.ok(!first.otkCounts?.signed_curve25519,
            `the first /sync after coming back counts no one-time keys left (${JSON.stringify(first.otkCounts)})`);
        assert.ok(Array.isArray(first.unusedFallbackKeyTypes) && !first.unusedFallbackKeyTypes.includes("signed_curve25519"),
            `and says the fallback key was used (${JSON.stringify(first.unusedFallbackKeyTypes)})`);
        // The device replenishes its one-time keys. (It does not make a new
        // fallback key yet: the Rust crypto rotates fallback keys at most
        // once a week.)
        await waitFor("bob's desktop to upload new one-time keys", () =>
            b1.requests.slice(requestsBefore).some((r) => r.method === "POST" && r.path.endsWith("/keys/upload") &&
                /"one_time_keys":\{"signed_curve25519:/.test(r.body ?? "")));
        await waitFor("a later /sync to count them", () =>
            b1.syncs.slice(syncsBefore).some((s) => s.otkCounts?.signed_curve25519 > 0),
        { explain: () => JSON.stringify(b1.syncs.slice(syncsBefore).map((s) => [s.otkCounts, s.unusedFallbackKeyTypes])) });
    });

    await step("bob's desktop learned of the tablet from device_lists.changed and decrypts its message", async () => {
        const first = b1.syncs[comeback];
        assert.ok(first.since, "bob's desktop synced on from its saved since token");
        assert.ok(first.deviceLists?.changed?.includes(aliceAccount.userId),
            `its first /sync lists alice in device_lists.changed (${JSON.stringify(first.deviceLists)})`);
        await waitForDevices(b1, aliceAccount.userId, [a1.deviceId, a2.deviceId, a3.deviceId]);
        const event = await decrypted(b1, roomId, tabletMessage.eventId);
        assert.equal(event.getContent().body, tabletMessage.body);
    });

    await step("bob's desktop answers the phone over the session made with the fallback key", async () => {
        await ping(b1, a2, 102);
        await pingsArrived(a2, alicePings, [102]);
        assert.ok(alicePings.filter((p) => p.content.seq === 102).length === 1, "delivered once");
    });

    await step("a to-device message is delivered once: a later /sync of bob's desktop does not repeat them", async () => {
        await ping(a1, b1, 6);
        await pingsArrived(b1, bobPings, [6]);
        const counts = new Map();
        for (const p of bobPings) counts.set(p.content.seq, (counts.get(p.content.seq) ?? 0) + 1);
        const repeated = [...counts].filter(([, n]) => n > 1);
        assert.deepEqual(repeated, [], "no ping was delivered twice");
    });
});
