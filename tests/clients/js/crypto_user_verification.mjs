// Verifying another user with matrix-js-sdk's Rust crypto: alice and bob
// both set up cross-signing, then verify each other by emoji in their
// encrypted room (in-room verification: the m.key.verification.* events
// travel as room events). Afterwards each trusts the other's
// identity, the server keeps alice's user-signing signature on bob's master
// key, and shows it only to alice (spec: users will not be able to see
// signatures made by other users' user-signing keys).
//
//   node crypto_user_verification.mjs <base_url>

import { CryptoEvent, VerificationPhase } from "matrix-js-sdk/lib/crypto-api/index.js";

import {
    CRYPTO_TIMEOUT_MS, encryptionState, newAccount, newDevice, passwordAuth, phaseName, queryKeys, requestPhase, showSas,
} from "./crypto_lib.mjs";
import { assert, membershipSeen, roomFor, scenario, step, waitFor } from "./lib.mjs";

await scenario("verifying another user in an encrypted room (Rust crypto)", async (baseUrl) => {
    const [aliceAccount, bobAccount, carolAccount] = await step("alice, bob and carol sign up", () =>
        Promise.all([newAccount(baseUrl, "alice"), newAccount(baseUrl, "bob"), newAccount(baseUrl, "carol")]));
    const [alice, bob, carol] = await step("each logs in on one device", () => Promise.all([
        newDevice(baseUrl, aliceAccount, "laptop"),
        newDevice(baseUrl, bobAccount, "desktop"),
        newDevice(baseUrl, carolAccount, "phone"),
    ]));

    await step("alice and bob set up cross-signing", async () => {
        for (const device of [alice, bob]) {
            await device.client.getCrypto().bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordAuth(device) });
            assert.equal(await device.client.getCrypto().isCrossSigningReady(), true);
        }
    });

    const roomId = await step("alice creates a private (encrypted) room with bob", async () => {
        const { room_id: id } = await alice.client.createRoom({ preset: "private_chat" });
        assert.ok(await encryptionState(alice, id));
        await alice.client.invite(id, bobAccount.userId);
        await roomFor(bob, id, { membership: "invite" });
        await bob.client.joinRoom(id);
        await membershipSeen(alice, await roomFor(alice, id, { membership: "join" }), bobAccount.userId, "join");
        await waitFor("alice's crypto to know bob's cross-signing identity", async () =>
            await alice.client.getCrypto().getUserVerificationStatus(bobAccount.userId) &&
            (await alice.client.getCrypto().getUserDeviceInfo([bobAccount.userId])).get(bobAccount.userId)?.size === 1,
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
        const status = await alice.client.getCrypto().getUserVerificationStatus(bobAccount.userId);
        assert.equal(status.isCrossSigningVerified(), false, "bob is not verified yet");
        return id;
    });

    const { aliceRequest, bobRequest } = await step("alice asks bob to verify in the room; bob accepts", async () => {
        const received = new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("bob never received the verification request")),
                CRYPTO_TIMEOUT_MS);
            bob.client.on(CryptoEvent.VerificationRequestReceived, (request) => {
                clearTimeout(timer);
                resolve(request);
            });
        });
        const outgoing = await alice.client.getCrypto().requestVerificationDM(bobAccount.userId, roomId);
        const incoming = await received;
        assert.equal(incoming.otherUserId, aliceAccount.userId);
        assert.equal(incoming.roomId, roomId, "an in-room request");
        await incoming.accept();
        await requestPhase(bob, incoming, VerificationPhase.Ready);
        await requestPhase(alice, outgoing, VerificationPhase.Ready);
        return { aliceRequest: outgoing, bobRequest: incoming };
    });

    await step("SAS: both see the same emoji, both confirm, done", async () => {
        const aliceVerifier = await aliceRequest.startVerification("m.sas.v1");
        await waitFor("bob to see the verification start", () =>
            bobRequest.phase === VerificationPhase.Started && bobRequest.verifier,
        { timeoutMs: CRYPTO_TIMEOUT_MS, explain: () => `phase ${phaseName(bobRequest.phase)}` });
        const [aliceSas, bobSas] = await Promise.all([showSas(alice, aliceVerifier), showSas(bob, bobRequest.verifier)]);
        const emoji = (sas) => sas.sas.emoji?.map(([e, name]) => `${e} ${name}`);
        assert.equal(emoji(aliceSas)?.length, 7);
        assert.deepEqual(emoji(aliceSas), emoji(bobSas), "both see the same emoji");
        await Promise.all([aliceSas.confirm(), bobSas.confirm()]);
        await Promise.all([alice.verifyDone, bob.verifyDone]);
        await requestPhase(alice, aliceRequest, VerificationPhase.Done);
        await requestPhase(bob, bobRequest, VerificationPhase.Done);
    });

    await step("the verification events went through the room (as m.key.verification.* room events)", async () => {
        // (matrix-js-sdk sends them unencrypted, even in an encrypted room.)
        for (const device of [alice, bob]) {
            const sends = device.requests.filter((r) => r.method === "PUT" && r.path.includes(`/rooms/${roomId}/send/`));
            assert.ok(sends.some((r) => r.path.includes("/send/m.key.verification.mac/")),
                `${device.name} sent its MAC into the room: ${JSON.stringify(sends.map((r) => r.path))}`);
        }
    });

    await step("each now trusts the other's cross-signing identity", async () => {
        await waitFor("alice to consider bob verified", async () =>
            (await alice.client.getCrypto().getUserVerificationStatus(bobAccount.userId)).isCrossSigningVerified(),
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
        await waitFor("bob to consider alice verified", async () =>
            (await bob.client.getCrypto().getUserVerificationStatus(aliceAccount.userId)).isCrossSigningVerified(),
        { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
        const bobsDevice = await alice.client.getCrypto().getDeviceVerificationStatus(bobAccount.userId, bob.deviceId);
        assert.ok(bobsDevice.crossSigningVerified, "and through it, bob's cross-signed device");
    });

    await step("alice's user-signing signature on bob's master key is on the server, visible to alice only", async () => {
        const aliceUsk = Object.keys((await queryKeys(alice, aliceAccount.userId)).user_signing_keys[aliceAccount.userId].keys)[0];
        let asAlice;
        await waitFor("alice's /keys/query to show her signature on bob's master key", async () => {
            asAlice = await queryKeys(alice, bobAccount.userId);
            return asAlice.master_keys?.[bobAccount.userId]?.signatures?.[aliceAccount.userId]?.[aliceUsk];
        }, { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 200, explain: () => JSON.stringify(asAlice?.master_keys) });
        const asCarol = await queryKeys(carol, bobAccount.userId);
        assert.ok(asCarol.master_keys?.[bobAccount.userId], "carol sees bob's master key");
        assert.equal(asCarol.master_keys[bobAccount.userId].signatures?.[aliceAccount.userId], undefined,
            `carol does not see alice's user-signing signature (${JSON.stringify(asCarol.master_keys[bobAccount.userId].signatures)})`);
        const asBob = await queryKeys(bob, bobAccount.userId);
        assert.equal(asBob.master_keys[bobAccount.userId].signatures?.[aliceAccount.userId], undefined,
            "nor does bob");
        assert.equal(asCarol.user_signing_keys?.[bobAccount.userId], undefined, "nobody else sees bob's user-signing key");
    });

    await step("alice resets her cross-signing identity (UIA required now); bob's crypto notices the change through /sync", async () => {
        const bobSyncsBefore = bob.syncs.length;
        let asked = 0;
        const auth = passwordAuth(alice);
        const oldMaster = Object.keys((await queryKeys(alice, aliceAccount.userId)).master_keys[aliceAccount.userId].keys)[0];
        await alice.client.getCrypto().bootstrapCrossSigning({
            setupNewCrossSigning: true,
            authUploadDeviceSigningKeys: async (makeRequest) => {
                asked++;
                return auth(makeRequest);
            },
        });
        assert.equal(asked, 1);
        const uploads = alice.requests.filter((r) => r.method === "POST" && r.path.endsWith("/keys/device_signing/upload"));
        assert.ok(uploads.length >= 2, "the SDK retried the upload with auth after a 401");
        const newMaster = Object.keys((await queryKeys(carol, aliceAccount.userId)).master_keys[aliceAccount.userId].keys)[0];
        assert.notEqual(newMaster, oldMaster, "the server now serves the new master key");
        await waitFor("bob's /sync to list alice in device_lists.changed", () =>
            bob.syncs.slice(bobSyncsBefore).some((x) => x.deviceLists?.changed?.includes(aliceAccount.userId)),
        { timeoutMs: CRYPTO_TIMEOUT_MS, explain: () => JSON.stringify(bob.syncs.slice(bobSyncsBefore).map((x) => x.deviceLists)) });
        await waitFor("bob's crypto to see that alice's verified identity changed", async () => {
            const status = await bob.client.getCrypto().getUserVerificationStatus(aliceAccount.userId);
            return !status.isCrossSigningVerified() && status.wasCrossSigningVerified();
        }, { timeoutMs: CRYPTO_TIMEOUT_MS, intervalMs: 100 });
    });
});

