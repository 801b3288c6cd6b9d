// Accounts: what a user expects from registering, logging in and out.
//
//   node accounts.mjs <base_url>

import {
    anonymousClient,
    assert,
    clientFor,
    expectMatrixError,
    login,
    register,
    scenario,
    step,
    uniqueName,
} from "./lib.mjs";

await scenario("accounts", async (baseUrl) => {
    const localpart = uniqueName("alice");
    const password = "correct horse battery staple";

    const registered = await step("alice registers with m.login.dummy and gets a session", async () => {
        const reply = await register(baseUrl, localpart, password);
        assert.match(reply.user_id, new RegExp(`^@${localpart}:.+$`));
        assert.equal(typeof reply.access_token, "string");
        assert.equal(typeof reply.device_id, "string");
        return reply;
    });

    await step("her name is then taken", async () => {
        const anon = anonymousClient(baseUrl);
        // The SDK turns the server's 400 M_USER_IN_USE into `false`.
        assert.equal(await anon.isUsernameAvailable(localpart), false);
        await expectMatrixError(
            anon.registerRequest({ username: localpart, password, auth: { type: "m.login.dummy" } }),
            { status: 400, errcode: "M_USER_IN_USE" },
        );
        assert.equal(await anon.isUsernameAvailable(uniqueName("nobody")), true);
    });

    await step("the server offers password login", async () => {
        const { flows } = await anonymousClient(baseUrl).loginFlows();
        assert.ok(flows.some((f) => f.type === "m.login.password"), JSON.stringify(flows));
    });

    const session = await step("she logs in with an m.id.user identifier on a new device", async () => {
        const reply = await login(baseUrl, localpart, password, "alice's laptop");
        assert.equal(reply.user_id, registered.user_id);
        assert.notEqual(reply.device_id, registered.device_id, "a new device per login");
        assert.notEqual(reply.access_token, registered.access_token);
        return reply;
    });
    const alice = clientFor(baseUrl, {
        userId: session.user_id,
        accessToken: session.access_token,
        deviceId: session.device_id,
    });

    await step("whoami names her and her device", async () => {
        const me = await alice.whoami();
        assert.equal(me.user_id, registered.user_id);
        assert.equal(me.device_id, session.device_id);
    });

    await step("she can also log in the SDK's way (loginWithPassword, full user ID)", async () => {
        const anon = anonymousClient(baseUrl);
        const reply = await anon.login("m.login.password", {
            identifier: { type: "m.id.user", user: registered.user_id },
            password,
        });
        assert.equal(reply.user_id, registered.user_id);
        const legacy = await anonymousClient(baseUrl).loginWithPassword(localpart, password);
        assert.equal(legacy.user_id, registered.user_id);
    });

    await step("a wrong password is refused with M_FORBIDDEN", async () => {
        await expectMatrixError(
            anonymousClient(baseUrl).loginRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: localpart },
                password: "not her password",
            }),
            { status: 403, errcode: "M_FORBIDDEN" },
        );
    });

    await step("she sets a display name and her profile shows it", async () => {
        await alice.setDisplayName("Alice Liddell");
        const profile = await alice.getProfileInfo(registered.user_id);
        assert.equal(profile.displayname, "Alice Liddell");
        const name = await alice.getProfileInfo(registered.user_id, "displayname");
        assert.equal(name.displayname, "Alice Liddell");
    });

    await step("she logs out and that access token is then rejected", async () => {
        await alice.logout();
        await expectMatrixError(alice.whoami(), { status: 401, errcode: "M_UNKNOWN_TOKEN" });
    });

    await step("her other sessions are untouched", async () => {
        const other = clientFor(baseUrl, {
            userId: registered.user_id,
            accessToken: registered.access_token,
            deviceId: registered.device_id,
        });
        const me = await other.whoami();
        assert.equal(me.device_id, registered.device_id);
    });
});
