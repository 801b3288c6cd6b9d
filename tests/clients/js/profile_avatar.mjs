// A profile picture: uploaded through the media API, set as the avatar,
// and seen by the other member of a room in the member event and profile.
//
// Spec: client-server-api "Profiles" (PUT /profile/{userId}/avatar_url;
// "Events on change of profile information": the server sends an updated
// m.room.member event into every room the user is joined to), "Content
// repository" (POST /_matrix/media/v3/upload, authenticated download).
//
//   node profile_avatar.mjs <base_url>

import { crc32, deflateSync } from "node:zlib";

import { assert, makeUser, scenario, sharedRoom, step, waitFor } from "./lib.mjs";

/** A square PNG (8-bit RGB, filter 0 on every row) of one colour. */
function png(size, [r, g, b]) {
    const chunk = (type, data) => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(data.length);
        const typed = Buffer.concat([Buffer.from(type, "latin1"), data]);
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(typed));
        return Buffer.concat([head, typed, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(size, 0);
    ihdr.writeUInt32BE(size, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, no interlace
    const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => [r, g, b]).flat())]);
    const pixels = Buffer.concat(Array.from({ length: size }, () => row));
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", ihdr),
        chunk("IDAT", deflateSync(pixels)),
        chunk("IEND", Buffer.alloc(0)),
    ]);
}

await scenario("a profile picture", async (baseUrl) => {
    const alice = await step("alice signs up, names herself and starts syncing", async () => {
        const user = await makeUser(baseUrl, "alice");
        await user.client.setDisplayName("Alice Liddell");
        return user;
    });
    const bob = await step("bob signs up and starts syncing", () => makeUser(baseUrl, "bob"));
    const { roomId, guestRoom: bobRoom } = await step("alice creates a room and bob joins it",
        () => sharedRoom(alice, bob, { name: "Portrait gallery" }));

    const picture = png(16, [200, 40, 90]);
    const mxc = await step("alice uploads a PNG and makes it her avatar", async () => {
        const { content_uri: uri } = await alice.client.uploadContent(picture, { type: "image/png", name: "me.png" });
        assert.match(uri, /^mxc:\/\/[^/]+\/[A-Za-z0-9_-]+$/, "the upload returns an mxc URI");
        await alice.client.setAvatarUrl(uri);
        return uri;
    });

    await step("bob's client sees her new member event, with the avatar and her name kept", async () => {
        const member = () => bobRoom.getMember(alice.userId);
        await waitFor("bob to see alice's avatar in the room", () => member()?.getMxcAvatarUrl() === mxc,
            { explain: () => JSON.stringify(member()?.events.member?.getContent()) });
        const event = member().events.member;
        assert.equal(event.getSender(), alice.userId);
        assert.equal(event.getStateKey(), alice.userId);
        assert.deepEqual(event.getContent(), { membership: "join", displayname: "Alice Liddell", avatar_url: mxc },
            "the member event carries the profile as it now is");
        assert.deepEqual(event.getPrevContent(), { membership: "join", displayname: "Alice Liddell" },
            "the member event before it had her name and no avatar");
        assert.equal(member().name, "Alice Liddell");
    });

    await step("the room's state and alice's profile say the same", async () => {
        const state = await bob.client.getStateEvent(roomId, "m.room.member", alice.userId);
        assert.equal(state.avatar_url, mxc);
        const profile = await bob.client.getProfileInfo(alice.userId);
        assert.equal(profile.avatar_url, mxc);
        assert.equal(profile.displayname, "Alice Liddell");
    });

    await step("bob's client downloads the picture, byte for byte", async () => {
        const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        const response = await fetch(url, { headers: { Authorization: `Bearer ${bob.client.getAccessToken()}` } });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "image/png");
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(picture), "the picture's bytes differ");
    });
});
