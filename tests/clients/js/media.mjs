// Media: what a user expects when sending photos, files and voice messages
// with matrix-js-sdk (authenticated media, Matrix 1.11).
//
//   node media.mjs <base_url> <path of a PNG to upload>
//       against a server with a 4 MiB upload limit and legacy media off
//   node media.mjs <base_url> <path of a PNG to upload> legacy
//       against a server started with --legacy-media: what old clients
//       fetch from the deprecated unauthenticated /_matrix/media/v3 paths

import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

import { assert, expectMatrixError, makeUser, scenario, step } from "./lib.mjs";

const pngPath = process.argv[3];
const mode = process.argv[4] ?? "authenticated";
const MiB = 1024 * 1024;
const PRIVATE_CACHE = "private, max-age=31536000, immutable";
const PUBLIC_CACHE = "public, max-age=31536000, immutable";

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
    assert.equal(bytes.subarray(1, 4).toString("latin1"), "PNG", "not a PNG");
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

async function get(url, token, headers = {}) {
    const auth = token ? { Authorization: `Bearer ${token}` } : {};
    const response = await fetch(url, { headers: { ...auth, ...headers } });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
}

async function authenticatedMedia(baseUrl) {
    const alice = await makeUser(baseUrl, "alice", { sync: false });
    const bob = await makeUser(baseUrl, "bob", { sync: false });
    const bobToken = bob.client.getAccessToken();

    await step("the server speaks Matrix 1.11 and advertises its upload limit", async () => {
        assert.ok(await alice.client.isVersionSupported("v1.11"), "v1.11 in /versions");
        const config = await alice.client.getMediaConfig(true);
        assert.equal(typeof config["m.upload.size"], "number");
        assert.ok(config["m.upload.size"] >= 1024 * 1024);
    });

    const binary = randomBytes(256 * 1024 + 3);
    const fileMxc = await step("alice uploads a file and bob downloads it byte for byte", async () => {
        const { content_uri: mxc } = await alice.client.uploadContent(binary, {
            type: "application/octet-stream",
            name: "report.bin",
        });
        assert.match(mxc, /^mxc:\/\/[^/]+\/[A-Za-z0-9_-]+$/);
        const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        assert.match(url, /\/_matrix\/client\/v1\/media\/download\//);
        const { response, body } = await get(url, bobToken);
        assert.equal(response.status, 200);
        assert.ok(body.equals(binary), "downloaded bytes differ");
        assert.equal(response.headers.get("content-type"), "application/octet-stream");
        assert.equal(response.headers.get("content-disposition"), 'attachment; filename="report.bin"');
        assert.equal(response.headers.get("x-content-type-options"), "nosniff");
        // Fetched with an access token: no shared cache may keep it for others.
        assert.equal(response.headers.get("cache-control"), PRIVATE_CACHE);
        return mxc;
    });

    const photo = readFileSync(pngPath);
    const photoMxc = await step("alice sends a photo; it comes back exactly, shown inline", async () => {
        const { content_uri: mxc } = await alice.client.uploadContent(photo, { type: "image/png", name: "cat.png" });
        const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        const { response, body } = await get(url, bobToken);
        assert.equal(response.status, 200);
        assert.ok(body.equals(photo), "photo bytes differ");
        assert.equal(response.headers.get("content-type"), "image/png");
        assert.equal(response.headers.get("content-disposition"), 'inline; filename="cat.png"');
        return mxc;
    });

    await step("bob's client shows a thumbnail within the size it asked for", async () => {
        const original = pngSize(photo);
        for (const [width, height, method] of [[320, 240, "scale"], [96, 96, "crop"]]) {
            const url = bob.client.mxcUrlToHttp(photoMxc, width, height, method, false, true, true);
            assert.match(url, /\/_matrix\/client\/v1\/media\/thumbnail\//);
            const { response, body } = await get(url, bobToken);
            assert.equal(response.status, 200, body.toString());
            assert.equal(response.headers.get("content-type"), "image/png");
            const size = pngSize(body);
            assert.ok(size.width <= width && size.height <= height, JSON.stringify({ size, width, height }));
            assert.ok(size.width < original.width);
        }
    });

    await step("a voice message can be played from the middle (Range)", async () => {
        const voice = Buffer.concat([Buffer.from("OggS"), randomBytes(40_000)]);
        const { content_uri: mxc } = await alice.client.uploadContent(voice, { type: "audio/ogg", name: "voice.ogg" });
        const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        const { response, body } = await get(url, bobToken, { Range: "bytes=100-4099" });
        assert.equal(response.status, 206);
        assert.equal(response.headers.get("content-type"), "audio/ogg");
        assert.equal(response.headers.get("content-range"), `bytes 100-4099/${voice.length}`);
        assert.ok(body.equals(voice.subarray(100, 4100)), "range bytes differ");
        const beyond = await get(url, bobToken, { Range: `bytes=${voice.length}-` });
        assert.equal(beyond.response.status, 416);
    });

    await step("without an access token media is not served (401 M_MISSING_TOKEN)", async () => {
        const url = bob.client.mxcUrlToHttp(fileMxc, undefined, undefined, undefined, false, true, true);
        const { response, body } = await get(url, null);
        assert.equal(response.status, 401);
        assert.equal(JSON.parse(body.toString()).errcode, "M_MISSING_TOKEN");
    });

    await step("unknown media is 404 M_NOT_FOUND", async () => {
        const server = fileMxc.split("/")[2];
        const url = bob.client.mxcUrlToHttp(`mxc://${server}/doesNotExist42`, undefined, undefined, undefined,
            false, true, true);
        const { response, body } = await get(url, bobToken);
        assert.equal(response.status, 404);
        assert.equal(JSON.parse(body.toString()).errcode, "M_NOT_FOUND");
    });

    await step("the deprecated unauthenticated download is frozen", async () => {
        const url = bob.client.mxcUrlToHttp(fileMxc, undefined, undefined, undefined, false, true, false);
        assert.match(url, /\/_matrix\/media\/v3\/download\//);
        const { response } = await get(url, null);
        assert.equal(response.status, 404);
    });

    await step("an upload over the limit is refused with 413 M_TOO_LARGE", async () => {
        const { "m.upload.size": limit } = await alice.client.getMediaConfig(true);
        assert.equal(limit, 4 * MiB, "the test server's kith.toml sets a 4 MiB limit");
        await expectMatrixError(alice.client.uploadContent(randomBytes(limit + 1), { type: "application/zip" }),
            { status: 413, errcode: "M_TOO_LARGE" });
        const { content_uri: mxc } = await alice.client.uploadContent(randomBytes(limit), { type: "application/zip" });
        assert.match(mxc, /^mxc:\/\//, "exactly the limit is accepted");
    });
}

async function legacyMedia(baseUrl) {
    const alice = await makeUser(baseUrl, "alice", { sync: false });
    const bob = await makeUser(baseUrl, "bob", { sync: false });
    const bobToken = bob.client.getAccessToken();
    const photo = readFileSync(pngPath);

    const uploads = await step("an old client downloads byte for byte from /_matrix/media/v3, without a token",
        async () => {
            const uploaded = [];
            for (const [data, type, name] of [[randomBytes(300 * 1024 + 5), "application/octet-stream", "old.bin"],
                [photo, "image/png", "cat.png"]]) {
                const { content_uri: mxc } = await alice.client.uploadContent(data, { type, name });
                const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, false);
                assert.match(url, /\/_matrix\/media\/v3\/download\//);
                const { response, body } = await get(url, null);
                assert.equal(response.status, 200, body.toString());
                assert.ok(body.equals(data), `${name}: downloaded bytes differ`);
                assert.equal(response.headers.get("content-type"), type);
                assert.equal(response.headers.get("cache-control"), PUBLIC_CACHE);
                uploaded.push({ mxc, data });
            }
            return uploaded;
        });

    await step("the same content from the authenticated endpoint is cached privately", async () => {
        for (const { mxc, data } of uploads) {
            const url = bob.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
            const { response, body } = await get(url, bobToken);
            assert.equal(response.status, 200);
            assert.ok(body.equals(data), "downloaded bytes differ");
            assert.equal(response.headers.get("cache-control"), PRIVATE_CACHE);
        }
    });

    await step("an old client gets a thumbnail from /_matrix/media/v3, without a token", async () => {
        const url = bob.client.mxcUrlToHttp(uploads[1].mxc, 96, 96, "crop", false, true, false);
        assert.match(url, /\/_matrix\/media\/v3\/thumbnail\//);
        const { response, body } = await get(url, null);
        assert.equal(response.status, 200, body.toString());
        assert.equal(response.headers.get("content-type"), "image/png");
        assert.deepEqual(pngSize(body), { width: 96, height: 96 });
    });
}

if (mode === "legacy") {
    await scenario("legacy media", legacyMedia);
} else {
    await scenario("media", authenticatedMedia);
}
