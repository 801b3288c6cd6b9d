// The matrix-js-sdk (Rust crypto) half of tests/clients/test_mixed_crypto.py:
// a js device and a matrix-nio device in one encrypted room, each decrypting
// the other's messages.
//
//   node crypto_mixed.mjs <base_url> <nio user ID>
//
// The Python test drives it over stdin/stdout: this script prints protocol
// lines starting with "@@kith " followed by JSON, and reads JSON commands,
// one per line, from stdin. Everything else it prints is its usual log.
//
//   js -> py  {"event": "room", "room_id", "user_id", "device_id"}   room created, nio user invited
//   py -> js  {"cmd": "expect", "event_id", "body"}                  nio sent this; decrypt it
//   js -> py  {"event": "decrypted", "event_id"}
//   js -> py  {"event": "sent", "event_id", "body"}                  js sent this encrypted
//   py -> js  {"cmd": "done"}

import { createInterface } from "node:readline";

import { decrypted, encryptionState, newAccount, newDevice, sayEncrypted } from "./crypto_lib.mjs";
import { assert, membershipSeen, roomFor, scenario, step } from "./lib.mjs";

const COMMAND_TIMEOUT_MS = 60_000;

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextCommand() {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no command from the Python test in time")), COMMAND_TIMEOUT_MS);
    });
    try {
        const { value, done } = await Promise.race([lines.next(), timeout]);
        if (done) throw new Error("the Python test closed stdin");
        return JSON.parse(value);
    } finally {
        clearTimeout(timer);
    }
}

function tell(message) {
    console.log(`@@kith ${JSON.stringify(message)}`);
}

await scenario("js (Rust crypto) and matrix-nio in one encrypted room", async (baseUrl) => {
    const nioUserId = process.argv[3];
    assert.ok(nioUserId, "usage: crypto_mixed.mjs <base_url> <nio user ID>");
    const jess = await step("jess signs up and logs in with Rust crypto", async () =>
        newDevice(baseUrl, await newAccount(baseUrl, "jess"), "js"));

    const roomId = await step("jess creates a private (encrypted) room and invites the nio user", async () => {
        const { room_id: id } = await jess.client.createRoom({ preset: "private_chat", invite: [nioUserId] });
        assert.ok(await encryptionState(jess, id), "the room is encrypted");
        tell({ event: "room", room_id: id, user_id: jess.userId, device_id: jess.deviceId });
        return id;
    });

    const fromNio = await step("the nio user joins and sends an encrypted message", async () => {
        const command = await nextCommand();
        assert.equal(command.cmd, "expect", JSON.stringify(command));
        return command;
    });

    await step("jess decrypts the nio device's message", async () => {
        const room = await roomFor(jess, roomId, { membership: "join" });
        await membershipSeen(jess, room, nioUserId, "join");
        const event = await decrypted(jess, roomId, fromNio.event_id, { timeoutMs: 30_000 });
        assert.equal(event.getContent().body, fromNio.body);
        assert.equal(event.getSender(), nioUserId);
        tell({ event: "decrypted", event_id: fromNio.event_id });
    });

    await step("jess answers, encrypted for the nio device too", async () => {
        const body = "hello nio, this is js with Rust crypto";
        const eventId = await sayEncrypted(jess, roomId, body);
        tell({ event: "sent", event_id: eventId, body });
    });

    await step("the nio device decrypted it", async () => {
        const command = await nextCommand();
        assert.equal(command.cmd, "done", JSON.stringify(command));
    });
});
