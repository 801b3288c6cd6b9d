// Two users with three devices each, all with matrix-js-sdk's Rust crypto, in
// one private room that the server encrypts by default: every device decrypts
// every message sent from every other device, first one sender at a time,
// then with all six sending at once (each sender shares its room key with the
// five other devices through to-device messages).
//
//   node crypto_many_devices.mjs <base_url>

import { allDecrypt, encryptionState, newAccount, newDevice, sayEncrypted, waitForDevices } from "./crypto_lib.mjs";
import { assert, membershipSeen, roomFor, scenario, step, waitFor } from "./lib.mjs";

const LABELS = ["laptop", "phone", "tablet"];

await scenario("two users, three devices each (Rust crypto)", async (baseUrl) => {
    const accounts = await step("alice and bob sign up", () =>
        Promise.all([newAccount(baseUrl, "alice"), newAccount(baseUrl, "bob")]));
    const [alice, bob] = accounts;

    const devices = await step("each logs in on three devices; each device starts Rust crypto and syncs", () =>
        Promise.all(accounts.flatMap((account) => LABELS.map((label) => newDevice(baseUrl, account, label)))));
    const [a1, , , b1] = devices;
    const idsOf = (account) => devices.filter((d) => d.userId === account.userId).map((d) => d.deviceId);
    assert.equal(new Set(devices.map((d) => d.deviceId)).size, 6, "six distinct devices");

    const roomId = await step("alice creates a private room, encrypted by the server, and invites bob", async () => {
        const { room_id: id } = await a1.client.createRoom({ preset: "private_chat", name: "Six devices", invite: [bob.userId] });
        assert.equal((await encryptionState(a1, id))?.algorithm, "m.megolm.v1.aes-sha2");
        return id;
    });

    await step("bob joins; all six devices see him joined and the room encrypted", async () => {
        await roomFor(b1, roomId, { membership: "invite" });
        await b1.client.joinRoom(roomId);
        for (const device of devices) {
            const room = await roomFor(device, roomId, { membership: "join" });
            await membershipSeen(device, room, bob.userId, "join");
            await waitFor(`${device.name} to consider the room encrypted`,
                () => device.client.getCrypto().isEncryptionEnabledInRoom(roomId));
        }
    });

    await step("every device's crypto tracks all six devices (device lists through /sync)", async () => {
        for (const observer of devices) {
            for (const account of accounts) await waitForDevices(observer, account.userId, idsOf(account));
        }
    });

    for (const sender of devices) {
        await step(`${sender.name} sends; the five other devices decrypt it`, async () => {
            const body = `one at a time, from ${sender.name}`;
            const eventId = await sayEncrypted(sender, roomId, body);
            await allDecrypt(devices.filter((d) => d !== sender), roomId, eventId, body);
        });
    }

    await step("all six send at once; every device decrypts the other five's messages", async () => {
        const sent = await Promise.all(devices.map(async (sender) => {
            const body = `all at once, from ${sender.name}`;
            return { sender, body, eventId: await sayEncrypted(sender, roomId, body) };
        }));
        await Promise.all(sent.map(({ sender, body, eventId }) =>
            allDecrypt(devices.filter((d) => d !== sender), roomId, eventId, body)));
    });
});
