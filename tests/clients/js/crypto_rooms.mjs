// Encrypted rooms with matrix-js-sdk's Rust crypto: three devices (alice on
// two, bob on one) in a private room that the server encrypts by default;
// every message is decrypted by every other device, a device that logs in
// later decrypts new messages, and deleting a device reaches the other user's
// device list.
//
//   node crypto_rooms.mjs <base_url>

import {
    allDecrypt,
    encryptionState,
    knownDevices,
    newAccount,
    newDevice,
    passwordAuth,
    sayEncrypted,
    waitForDevices,
} from "./crypto_lib.mjs";
import { assert, membershipSeen, roomFor, scenario, step, waitFor } from "./lib.mjs";

await scenario("encrypted rooms (Rust crypto)", async (baseUrl) => {
    const aliceAccount = await step("alice and bob sign up", async () => newAccount(baseUrl, "alice"));
    const bobAccount = await newAccount(baseUrl, "bob");

    const [a1, a2, b1] = await step("alice logs in on two devices, bob on one; each starts Rust crypto and syncs", () =>
        Promise.all([
            newDevice(baseUrl, aliceAccount, "laptop"),
            newDevice(baseUrl, aliceAccount, "phone"),
            newDevice(baseUrl, bobAccount, "desktop"),
        ]));

    await step("each device uploaded its identity keys: /keys/query lists them all", async () => {
        const untracked = { tracked: false };
        await waitForDevices(a1, aliceAccount.userId, [a1.deviceId, a2.deviceId], untracked);
        await waitForDevices(a1, bobAccount.userId, [b1.deviceId], untracked);
        await waitForDevices(b1, aliceAccount.userId, [a1.deviceId, a2.deviceId], untracked);
        const info = await b1.client.getCrypto().getUserDeviceInfo([aliceAccount.userId], true);
        const phone = info.get(aliceAccount.userId).get(a2.deviceId);
        const uploaded = await a2.client.getCrypto().getOwnDeviceKeys();
        assert.equal(phone.getIdentityKey(), uploaded.curve25519, "bob sees the curve25519 key alice's phone uploaded");
        assert.equal(phone.getFingerprint(), uploaded.ed25519, "and its ed25519 key");
    });

    const roomId = await step("alice creates a private room: the server makes it encrypted", async () => {
        const { room_id: id } = await a1.client.createRoom({ preset: "private_chat", name: "Secrets" });
        const content = await encryptionState(a1, id);
        assert.ok(content, "m.room.encryption is in the new private room's state");
        assert.equal(content.algorithm, "m.megolm.v1.aes-sha2");
        await roomFor(a1, id, { membership: "join" });
        await waitFor("alice's laptop to consider the room encrypted", () => a1.client.getCrypto().isEncryptionEnabledInRoom(id));
        return id;
    });

    await step("alice invites bob, bob joins; alice's phone sees the room too", async () => {
        await a1.client.invite(roomId, bobAccount.userId);
        await roomFor(b1, roomId, { membership: "invite" });
        await b1.client.joinRoom(roomId);
        for (const device of [a1, a2, b1]) {
            const room = await roomFor(device, roomId, { membership: "join" });
            await membershipSeen(device, room, bobAccount.userId, "join");
        }
    });

    const everyone = [a1, a2, b1];
    let n = 0;
    for (const sender of everyone) {
        await step(`${sender.name} sends; the other two devices decrypt it`, async () => {
            const body = `message ${++n} from ${sender.name}`;
            const eventId = await sayEncrypted(sender, roomId, body);
            await allDecrypt(everyone.filter((d) => d !== sender), roomId, eventId, body);
        });
    }

    const a3 = await step("alice logs in on a third device; the others learn of it through /sync", async () => {
        const device = await newDevice(baseUrl, aliceAccount, "tablet");
        await roomFor(device, roomId, { membership: "join" });
        const all = [a1.deviceId, a2.deviceId, device.deviceId];
        for (const observer of everyone) await waitForDevices(observer, aliceAccount.userId, all);
        return device;
    });

    for (const sender of [b1, a1]) {
        await step(`${sender.name} sends a new message; the new device decrypts it (as do the others)`, async () => {
            const body = `message ${++n} from ${sender.name}, after the tablet joined`;
            const eventId = await sayEncrypted(sender, roomId, body);
            await allDecrypt([a1, a2, a3, b1].filter((d) => d !== sender), roomId, eventId, body);
        });
    }

    await step("the new device sends; all three others decrypt it", async () => {
        const body = `message ${++n} from ${a3.name}`;
        const eventId = await sayEncrypted(a3, roomId, body);
        await allDecrypt([a1, a2, b1], roomId, eventId, body);
    });

    await step("alice deletes her phone (UIA with her password); bob's crypto no longer lists it", async () => {
        a2.client.stopClient();
        await passwordAuth(a1)((auth) => a1.client.deleteDevice(a2.deviceId, auth ?? undefined));
        const { devices } = await a1.client.getDevices();
        assert.ok(!devices.some((d) => d.device_id === a2.deviceId), "the phone is gone from /devices");
        await waitForDevices(b1, aliceAccount.userId, [a1.deviceId, a3.deviceId]);
        await waitForDevices(a3, aliceAccount.userId, [a1.deviceId, a3.deviceId]);
    });

    await step("bob sends again: the remaining devices decrypt it, and no room key went to the deleted phone", async () => {
        const before = b1.requests.length;
        const body = `message ${++n} from ${b1.name}, after the phone was deleted`;
        const eventId = await sayEncrypted(b1, roomId, body);
        await allDecrypt([a1, a3], roomId, eventId, body);
        for (const request of b1.requests.slice(before)) {
            if (request.method !== "PUT" || !request.path.includes("/sendToDevice/")) continue;
            const messages = JSON.parse(request.body).messages ?? {};
            assert.ok(!(a2.deviceId in (messages[aliceAccount.userId] ?? {})),
                `bob sent a to-device message to the deleted device: ${request.path}`);
        }
        assert.deepEqual(await knownDevices(b1, aliceAccount.userId), [a1.deviceId, a3.deviceId].sort());
    });

    await step("bob leaves: now sharing no encrypted room, each side's /sync lists the other in device_lists.left", async () => {
        const aliceBefore = a1.syncs.length;
        const bobBefore = b1.syncs.length;
        await b1.client.leave(roomId);
        await waitFor("alice's laptop to get bob in device_lists.left", () =>
            a1.syncs.slice(aliceBefore).some((x) => x.deviceLists?.left?.includes(bobAccount.userId)),
        { explain: () => JSON.stringify(a1.syncs.slice(aliceBefore).map((x) => x.deviceLists)) });
        await waitFor("bob's desktop to get alice in device_lists.left", () =>
            b1.syncs.slice(bobBefore).some((x) => x.deviceLists?.left?.includes(aliceAccount.userId)),
        { explain: () => JSON.stringify(b1.syncs.slice(bobBefore).map((x) => x.deviceLists)) });
    });
});
