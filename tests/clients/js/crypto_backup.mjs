// Secret storage and server-side key backup with matrix-js-sdk's Rust
// crypto: alice's laptop sets up cross-signing, secret storage (with a
// recovery key) and a key backup; the room keys of an encrypted conversation
// with bob are backed up; a new device of alice's that logs in later, given
// only the recovery key, restores the backup and decrypts the old history.
//
//   node crypto_backup.mjs <base_url>

import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";

import {
    CRYPTO_TIMEOUT_MS,
    decrypted,
    encryptionState,
    newAccount,
    newDevice,
    passwordAuth,
    sayEncrypted,
} from "./crypto_lib.mjs";
import { assert, expectMatrixError, membershipSeen, roomFor, scenario, sdk, step, waitFor } from "./lib.mjs";

const BACKUP_ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2";

/** The sessions of a backup version on the server, as { roomId: [sessionId] }. */
async function backedUpSessions(device, version) {
    const reply = await device.client.http.authedRequest(sdk.Method.Get, "/room_keys/keys", { version });
    return Object.fromEntries(Object.entries(reply.rooms ?? {}).map(([roomId, room]) =>
        [roomId, Object.keys(room.sessions ?? {})]));
}

await scenario("secret storage and key backup (Rust crypto)", async (baseUrl) => {
    const [aliceAccount, bobAccount] = await step("alice and bob sign up", () =>
        Promise.all([newAccount(baseUrl, "alice"), newAccount(baseUrl, "bob")]));
    const [laptop, bob] = await step("alice logs in on her laptop, bob on his desktop", () =>
        Promise.all([newDevice(baseUrl, aliceAccount, "laptop"), newDevice(baseUrl, bobAccount, "desktop")]));

    const recoveryKey = await step("the laptop sets up cross-signing, secret storage with a recovery key, and key backup", async () => {
        const crypto = laptop.client.getCrypto();
        await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordAuth(laptop) });
        const generated = await crypto.createRecoveryKeyFromPassphrase();
        assert.match(generated.encodedPrivateKey, /^E[sStT]/, "a recovery key as users see it");
        await crypto.bootstrapSecretStorage({
            createSecretStorageKey: async () => generated,
            setupNewSecretStorage: true,
            setupNewKeyBackup: true,
        });
        assert.equal(await crypto.isSecretStorageReady(), true);
        const version = await waitFor("the laptop to back up to a backup version", () => crypto.getActiveSessionBackupVersion(),
            { timeoutMs: CRYPTO_TIMEOUT_MS });
        return { encoded: generated.encodedPrivateKey, version };
    });

    await step("the server stores the backup version and the secrets (as encrypted account data)", async () => {
        const info = await laptop.client.http.authedRequest(sdk.Method.Get, "/room_keys/version");
        assert.equal(info.version, recoveryKey.version, "GET /room_keys/version returns the current version");
        assert.equal(info.algorithm, BACKUP_ALGORITHM);
        assert.equal(typeof info.auth_data?.public_key, "string");
        assert.ok(info.auth_data.signatures?.[aliceAccount.userId], "auth_data is signed by alice");
        assert.equal(info.count, 0);
        assert.equal(typeof info.etag, "string");
        const accountData = (type) => laptop.client.http.authedRequest(sdk.Method.Get,
            `/user/${encodeURIComponent(aliceAccount.userId)}/account_data/${type}`);
        const { key: defaultKeyId } = await accountData("m.secret_storage.default_key");
        assert.equal(typeof defaultKeyId, "string");
        const keyInfo = await accountData(`m.secret_storage.key.${defaultKeyId}`);
        assert.equal(keyInfo.algorithm, "m.secret_storage.v1.aes-hmac-sha2");
        for (const secret of ["m.cross_signing.master", "m.cross_signing.self_signing", "m.cross_signing.user_signing",
            "m.megolm_backup.v1"]) {
            const stored = await accountData(secret);
            assert.ok(stored.encrypted?.[defaultKeyId]?.ciphertext, `${secret} is stored encrypted with the default key`);
        }
    });

    const roomId = await step("alice creates a private (encrypted) room and bob joins", async () => {
        const { room_id: id } = await laptop.client.createRoom({ preset: "private_chat", name: "History" });
        assert.ok(await encryptionState(laptop, id), "the room is encrypted");
        await laptop.client.invite(id, bobAccount.userId);
        await roomFor(bob, id, { membership: "invite" });
        await bob.client.joinRoom(id);
        await membershipSeen(laptop, await roomFor(laptop, id, { membership: "join" }), bobAccount.userId, "join");
        return id;
    });

    const history = [];
    await step("they talk: each message decrypts on the other side", async () => {
        for (const [sender, reader, body] of [
            [laptop, bob, "The secret ingredient is cardamom."],
            [bob, laptop, "Noted. And the oven temperature?"],
            [laptop, bob, "180 degrees, for forty minutes."],
        ]) {
            const eventId = await sayEncrypted(sender, roomId, body);
            const event = await decrypted(reader, roomId, eventId);
            assert.equal(event.getContent().body, body);
            history.push({ eventId, body, sessionId: event.getWireContent().session_id });
        }
    });

    await step("the laptop backs up both room keys (alice's and bob's) to the server", async () => {
        const sessionIds = [...new Set(history.map((h) => h.sessionId))];
        assert.equal(sessionIds.length, 2, "one megolm session per sender");
        let stored = {};
        await waitFor("both sessions to be in the backup", async () => {
            stored = await backedUpSessions(laptop, recoveryKey.version);
            return sessionIds.every((id) => stored[roomId]?.includes(id));
        }, { timeoutMs: 30_000, intervalMs: 250, explain: () => JSON.stringify(stored) });
        const info = await laptop.client.http.authedRequest(sdk.Method.Get, "/room_keys/version");
        assert.equal(info.count, 2, "the version's count");
        const one = await laptop.client.http.authedRequest(sdk.Method.Get,
            `/room_keys/keys/${encodeURIComponent(roomId)}/${encodeURIComponent(sessionIds[0])}`, { version: recoveryKey.version });
        assert.equal(typeof one.session_data?.ephemeral, "string", "session_data is encrypted for the backup key");
        assert.equal(typeof one.first_message_index, "number");
        assert.equal(typeof one.forwarded_count, "number");
        assert.equal(typeof one.is_verified, "boolean");
    });

    const tablet = await step("alice logs in on a new tablet: the old messages are there but cannot be decrypted", async () => {
        const device = await newDevice(baseUrl, aliceAccount, "tablet");
        const room = await roomFor(device, roomId, { membership: "join" });
        await waitFor("the tablet to have the old messages, undecryptable", () => history.every(({ eventId }) => {
            const event = room.getLiveTimeline().getEvents().find((e) => e.getId() === eventId);
            return event && !event.isBeingDecrypted() && event.isDecryptionFailure();
        }), { timeoutMs: CRYPTO_TIMEOUT_MS });
        return device;
    });

    await step("given the recovery key, the tablet loads the backup key from secret storage and restores the backup", async () => {
        const crypto = tablet.client.getCrypto();
        const defaultKeyId = await tablet.client.secretStorage.getDefaultKeyId();
        assert.ok(defaultKeyId, "the tablet sees the default secret storage key");
        tablet.secretStorageKeys.set(defaultKeyId, decodeRecoveryKey(recoveryKey.encoded));
        await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
        const check = await crypto.checkKeyBackupAndEnable();
        assert.equal(check?.backupInfo?.version, recoveryKey.version, "the tablet finds the backup version");
        const result = await crypto.restoreKeyBackup();
        assert.equal(result.total, 2, `two keys in the backup (${JSON.stringify(result)})`);
        assert.equal(result.imported, 2, "both imported");
    });

    await step("the tablet now decrypts the whole history", async () => {
        for (const { eventId, body } of history) {
            const event = await decrypted(tablet, roomId, eventId);
            assert.equal(event.getContent().body, body);
        }
    });

    await step("the server keeps the better copy of a backed-up key (spec: is_verified, then first_message_index, then forwarded_count)", async () => {
        const version = recoveryKey.version;
        const probeRoom = roomId;
        const probeSession = "kith-probe-session";
        const path = `/room_keys/keys/${encodeURIComponent(probeRoom)}/${encodeURIComponent(probeSession)}`;
        const put = (meta, tag) => laptop.client.http.authedRequest(sdk.Method.Put, path, { version }, {
            ...meta,
            session_data: { ephemeral: `e-${tag}`, ciphertext: `c-${tag}`, mac: `m-${tag}` },
        });
        const stored = async () => (await laptop.client.http.authedRequest(sdk.Method.Get, path, { version })).session_data.ciphertext;
        const countBefore = (await laptop.client.http.authedRequest(sdk.Method.Get, "/room_keys/version")).count;
        const first = await put({ first_message_index: 5, forwarded_count: 1, is_verified: false }, "A");
        assert.equal(first.count, countBefore + 1, "the reply counts the new key");
        assert.equal(typeof first.etag, "string");
        const cases = [
            [{ first_message_index: 10, forwarded_count: 0, is_verified: false }, "B", "c-A", "a higher first_message_index does not replace"],
            [{ first_message_index: 2, forwarded_count: 3, is_verified: false }, "C", "c-C", "a lower first_message_index replaces"],
            [{ first_message_index: 2, forwarded_count: 4, is_verified: false }, "D", "c-C", "same index, higher forwarded_count does not replace"],
            [{ first_message_index: 2, forwarded_count: 0, is_verified: false }, "E", "c-E", "same index, lower forwarded_count replaces"],
            [{ first_message_index: 9, forwarded_count: 9, is_verified: true }, "F", "c-F", "a verified key replaces an unverified one"],
            [{ first_message_index: 0, forwarded_count: 0, is_verified: false }, "G", "c-F", "an unverified key never replaces a verified one"],
        ];
        for (const [meta, tag, expected, why] of cases) {
            const reply = await put(meta, tag);
            assert.equal(reply.count, countBefore + 1, `still one more key than before (${why})`);
            assert.equal(await stored(), expected, why);
        }
    });

    await step("after a new backup version, writing to the old one is 403 M_WRONG_ROOM_KEYS_VERSION with current_version", async () => {
        const old = recoveryKey.version;
        const current = await laptop.client.http.authedRequest(sdk.Method.Get, "/room_keys/version");
        const { version: fresh } = await laptop.client.http.authedRequest(sdk.Method.Post, "/room_keys/version", undefined,
            { algorithm: current.algorithm, auth_data: current.auth_data });
        assert.notEqual(fresh, old);
        const err = await expectMatrixError(laptop.client.http.authedRequest(sdk.Method.Put,
            `/room_keys/keys/${encodeURIComponent(roomId)}/x`, { version: old },
            { first_message_index: 0, forwarded_count: 0, is_verified: false, session_data: {} }),
        { status: 403, errcode: "M_WRONG_ROOM_KEYS_VERSION" });
        assert.equal(err.data.current_version, fresh);
        const latest = await laptop.client.http.authedRequest(sdk.Method.Get, "/room_keys/version");
        assert.equal(latest.version, fresh);
        assert.equal(latest.count, 0, "the new version starts empty");
    });
});

