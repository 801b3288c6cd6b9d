// Cross-signing and emoji (SAS) verification with matrix-js-sdk's Rust
// crypto: alice sets up cross-signing on her laptop (uploading the keys takes
// her password, through user-interactive auth), then verifies her phone by
// comparing emoji; at the end each device trusts the other, the phone's
// device keys carry the laptop's self-signing signature on the server, and
// the phone has received the cross-signing secrets.
//
//   node crypto_verification.mjs <base_url>

import { CryptoEvent, VerificationPhase } from "matrix-js-sdk/lib/crypto-api/index.js";

import { randomBytes } from "node:crypto";

import {
    CRYPTO_TIMEOUT_MS, newAccount, newDevice, passwordAuth, phaseName, queryKeys, requestPhase, showSas, waitForDevices,
} from "./crypto_lib.mjs";
import { assert, expectMatrixError, scenario, sdk, step, waitFor } from "./lib.mjs";

await scenario("cross-signing and emoji verification (Rust crypto)", async (baseUrl) => {
    const alice = await step("alice signs up", () => newAccount(baseUrl, "alice"));
    const [laptop, phone] = await step("alice logs in on a laptop and a phone", () =>
        Promise.all([newDevice(baseUrl, alice, "laptop"), newDevice(baseUrl, alice, "phone")]));

    await step("nothing is cross-signed yet", async () => {
        assert.equal(await laptop.client.getCrypto().isCrossSigningReady(), false);
        const status = await laptop.client.getCrypto().getDeviceVerificationStatus(alice.userId, phone.deviceId);
        assert.equal(status?.isVerified() ?? false, false);
    });

    await step("the laptop bootstraps cross-signing, answering the UIA with alice's password", async () => {
        let authAsked = 0;
        const auth = passwordAuth(laptop);
        await laptop.client.getCrypto().bootstrapCrossSigning({
            authUploadDeviceSigningKeys: async (makeRequest) => {
                authAsked++;
                return auth(makeRequest);
            },
        });
        assert.equal(authAsked, 1, "the SDK went through the auth callback once");
        assert.equal(await laptop.client.getCrypto().isCrossSigningReady(), true);
        const status = await laptop.client.getCrypto().getCrossSigningStatus();
        assert.ok(status.publicKeysOnDevice, "the laptop has the public cross-signing keys");
        assert.ok(status.privateKeysCachedLocally.masterKey && status.privateKeysCachedLocally.selfSigningKey &&
            status.privateKeysCachedLocally.userSigningKey, "and the private ones");
        // The SDK records its own device as cross-signed only once a /keys/query
        // returns the signature it uploaded (prompted by device_lists.changed in
        // /sync), so this settles shortly after bootstrapCrossSigning returns.
        await waitFor("the laptop to see its own device signed by its self-signing key", async () =>
            (await laptop.client.getCrypto().getDeviceVerificationStatus(alice.userId, laptop.deviceId))
                ?.crossSigningVerified === true, { timeoutMs: CRYPTO_TIMEOUT_MS });
    });

    await step("replacing the cross-signing keys needs user-interactive auth; re-uploading the same ones does not", async () => {
        const reply = await queryKeys(laptop, alice.userId);
        const current = {
            master_key: reply.master_keys[alice.userId],
            self_signing_key: reply.self_signing_keys[alice.userId],
            user_signing_key: reply.user_signing_keys[alice.userId],
        };
        const fresh = randomBytes(32).toString("base64").replace(/=+$/, "");
        const replacement = { master_key: { user_id: alice.userId, usage: ["master"], keys: { [`ed25519:${fresh}`]: fresh } } };
        const err = await expectMatrixError(
            laptop.client.http.authedRequest(sdk.Method.Post, "/keys/device_signing/upload", undefined, replacement),
            { status: 401 },
        );
        assert.ok((err.data.flows ?? []).some((f) => f.stages?.includes("m.login.password")),
            `an m.login.password flow is offered: ${JSON.stringify(err.data)}`);
        await laptop.client.http.authedRequest(sdk.Method.Post, "/keys/device_signing/upload", undefined, current);
        const after = await queryKeys(laptop, alice.userId);
        assert.deepEqual(Object.keys(after.master_keys[alice.userId].keys), Object.keys(current.master_key.keys),
            "the master key is unchanged");
    });

    await step("the server serves the cross-signing keys: /keys/query lists master and self-signing keys", async () => {
        const reply = await queryKeys(phone, alice.userId);
        const master = reply.master_keys?.[alice.userId];
        const selfSigning = reply.self_signing_keys?.[alice.userId];
        const userSigning = reply.user_signing_keys?.[alice.userId];
        assert.ok(master && master.usage.includes("master"), `master key: ${JSON.stringify(reply.master_keys)}`);
        assert.ok(selfSigning && selfSigning.usage.includes("self_signing"), "self-signing key");
        assert.ok(userSigning && userSigning.usage.includes("user_signing"),
            "the user's own user-signing key (only the owner may see it)");
        const [sskId] = Object.keys(selfSigning.keys);
        const laptopKeys = reply.device_keys[alice.userId][laptop.deviceId];
        assert.ok(laptopKeys.signatures[alice.userId][sskId], "the laptop's device keys carry the self-signing signature");
        const phoneKeys = reply.device_keys[alice.userId][phone.deviceId];
        assert.ok(!phoneKeys.signatures[alice.userId][sskId], "the phone's do not, yet");
    });

    await step("the phone learns of alice's new cross-signing identity through /sync", async () => {
        await waitForDevices(phone, alice.userId, [laptop.deviceId, phone.deviceId]);
        await waitFor("the phone to see alice's cross-signing keys", async () =>
            (await phone.client.getCrypto().getCrossSigningStatus()).publicKeysOnDevice,
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
        const status = await phone.client.getCrypto().getDeviceVerificationStatus(alice.userId, phone.deviceId);
        assert.equal(status.crossSigningVerified, false, "the phone is not verified yet");
    });

    const { phoneRequest, laptopRequest } = await step("the phone asks to verify itself; the laptop receives the request and accepts", async () => {
        const received = new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("the laptop never received the verification request")),
                CRYPTO_TIMEOUT_MS);
            laptop.client.on(CryptoEvent.VerificationRequestReceived, (request) => {
                clearTimeout(timer);
                resolve(request);
            });
        });
        const outgoing = await phone.client.getCrypto().requestOwnUserVerification();
        const incoming = await received;
        assert.equal(incoming.otherUserId, alice.userId);
        assert.equal(incoming.otherDeviceId, phone.deviceId, "the request comes from the phone");
        assert.equal(incoming.initiatedByMe, false);
        await incoming.accept();
        await requestPhase(laptop, incoming, VerificationPhase.Ready);
        await requestPhase(phone, outgoing, VerificationPhase.Ready);
        assert.equal(outgoing.otherDeviceId, laptop.deviceId, "the laptop answered");
        return { phoneRequest: outgoing, laptopRequest: incoming };
    });

    await step("the phone starts SAS; both show the same emoji; both confirm; the verification is done", async () => {
        const phoneVerifier = await phoneRequest.startVerification("m.sas.v1");
        await waitFor("the laptop to see the SAS verification start", () =>
            laptopRequest.phase === VerificationPhase.Started && laptopRequest.verifier,
        { timeoutMs: CRYPTO_TIMEOUT_MS, explain: () => `phase ${phaseName(laptopRequest.phase)}` });
        const laptopVerifier = laptopRequest.verifier;
        const [phoneSas, laptopSas] = await Promise.all([showSas(phone, phoneVerifier), showSas(laptop, laptopVerifier)]);
        const phoneEmoji = phoneSas.sas.emoji?.map(([emoji, name]) => `${emoji} ${name}`);
        const laptopEmoji = laptopSas.sas.emoji?.map(([emoji, name]) => `${emoji} ${name}`);
        assert.equal(phoneEmoji?.length, 7, `seven emoji: ${JSON.stringify(phoneSas.sas)}`);
        assert.deepEqual(phoneEmoji, laptopEmoji, "both devices show the same emoji");
        await Promise.all([phoneSas.confirm(), laptopSas.confirm()]);
        await Promise.all([phone.verifyDone, laptop.verifyDone]);
        await requestPhase(phone, phoneRequest, VerificationPhase.Done);
        await requestPhase(laptop, laptopRequest, VerificationPhase.Done);
    });

    await step("the laptop now trusts the phone as cross-signed, and the phone the laptop", async () => {
        await waitFor("the laptop to consider the phone verified", async () =>
            (await laptop.client.getCrypto().getDeviceVerificationStatus(alice.userId, phone.deviceId))?.crossSigningVerified,
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
        await waitFor("the phone to consider the laptop verified", async () =>
            (await phone.client.getCrypto().getDeviceVerificationStatus(alice.userId, laptop.deviceId))?.isVerified(),
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
    });

    await step("on the server the phone's device keys now carry the self-signing key's signature", async () => {
        let phoneKeys;
        let sskId;
        await waitFor("/keys/query to show the phone signed by alice's self-signing key", async () => {
            const reply = await laptop.client.http.authedRequest(sdk.Method.Post, "/keys/query", undefined,
                { device_keys: { [alice.userId]: [phone.deviceId] } });
            [sskId] = Object.keys(reply.self_signing_keys[alice.userId].keys);
            phoneKeys = reply.device_keys[alice.userId][phone.deviceId];
            return phoneKeys?.signatures?.[alice.userId]?.[sskId];
        }, { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 200, explain: () => JSON.stringify(phoneKeys?.signatures) });
        // The server kept the device's own signature next to the new one.
        assert.ok(phoneKeys.signatures[alice.userId][`ed25519:${phone.deviceId}`], "the self-signature is kept");
    });

    await step("the phone received the cross-signing secrets from the laptop (m.secret.request / m.secret.send)", async () => {
        await waitFor("the phone to hold the private cross-signing keys", async () => {
            const status = await phone.client.getCrypto().getCrossSigningStatus();
            return status.privateKeysCachedLocally.masterKey && status.privateKeysCachedLocally.selfSigningKey &&
                status.privateKeysCachedLocally.userSigningKey;
        }, {
            timeoutMs: CRYPTO_TIMEOUT_MS,
            intervalMs: 100,
            explain: () => "the phone's cross-signing status lacks private keys",
        });
        assert.equal(await phone.client.getCrypto().isCrossSigningReady(), true);
    });

    await step("a new device of alice's is not trusted until verified", async () => {
        const tablet = await newDevice(baseUrl, alice, "tablet");
        await waitForDevices(phone, alice.userId, [laptop.deviceId, phone.deviceId, tablet.deviceId]);
        const status = await phone.client.getCrypto().getDeviceVerificationStatus(alice.userId, tablet.deviceId);
        assert.equal(status.crossSigningVerified, false);
    });
});
