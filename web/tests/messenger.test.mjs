// Browser tests of the web messenger: real Chromium (Debian's, driven by
// playwright-core) against a real `kith serve` in registration-token mode.
//
//   KITH_URL=http://127.0.0.1:8008 KITH_TOKENS=tok1,tok2 node --test web/tests/
//
// tests/web/test_browser.py starts the server, creates the tokens and runs this.
// Screenshots of the main screens go to $KITH_ARTIFACTS (default test-artifacts/web).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const URL_ = process.env.KITH_URL;
const TOKENS = (process.env.KITH_TOKENS ?? "").split(",").filter(Boolean);
const ARTIFACTS = process.env.KITH_ARTIFACTS ?? join(here, "..", "..", "test-artifacts", "web");
const E2EE = process.env.KITH_WEB_E2EE !== "0";
const MEDIA = process.env.KITH_WEB_MEDIA !== "0";
const T = 30_000; // generous per-step timeout for a 2-core machine

if (!URL_ || TOKENS.length < 2) throw new Error("set KITH_URL and KITH_TOKENS (two registration tokens)");
mkdirSync(ARTIFACTS, { recursive: true });

const suffix = Date.now().toString(36);
const alice = { name: `alice${suffix}`, password: "correct horse battery staple 1" };
const bob = { name: `bob${suffix}`, password: "correct horse battery staple 2" };

const userDataDirs = [];
const logs = [];

async function newPage(label, viewport = { width: 1100, height: 800 }) {
    // A fresh profile per context, like a separate browser on another machine.
    const dir = mkdtempSync(join(tmpdir(), `kith-web-${label}-`));
    userDataDirs.push(dir);
    const context = await chromium.launchPersistentContext(dir, {
        executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
        headless: true,
        viewport,
        locale: "en-US",
        acceptDownloads: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(T);
    page.on("console", (msg) => {
        const text = msg.text();
        if (msg.type() === "error" && !/MatrixRTC|Failed to load resource/.test(text)) logs.push(`[${label} ${msg.type()}] ${text}`);
    });
    page.on("pageerror", (err) => logs.push(`[${label} pageerror] ${err.message}`));
    page.on("response", (r) => {
        if (r.status() >= 500) logs.push(`[${label}] ${r.status()} ${r.url()}`);
    });
    page.context_ = context;
    return page;
}

async function shot(page, name) {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function signUp(page, user, token, viaLink) {
    if (viaLink) {
        await page.goto(`${URL_}/#/invite/${token}`);
    } else {
        await page.goto(`${URL_}/`);
        await page.getByText("Have an invitation? Create an account").click();
        await page.fill("input[name=token]", token);
    }
    const form = page.getByTestId("signup-form");
    await form.waitFor();
    assert.equal(await page.inputValue("input[name=token]"), token);
    await page.fill("input[name=username]", user.name);
    await page.fill("input[name=password]", user.password);
    await page.fill("input[name=password2]", user.password);
    await shot(page, viaLink ? "01-signup-invite-link" : "01-signup");
    await page.click("button[type=submit]");
    await page.getByTestId("open-settings").waitFor({ timeout: 60_000 });
}

function timeline(page) {
    return page.getByTestId("timeline");
}

async function openRoom(page, name) {
    await page.locator(`[data-testid=room-item][data-room-name="${name}"]`).first().click();
    await page.getByTestId("composer").or(page.getByTestId("accept-invite")).first().waitFor();
}

async function send(page, text) {
    await page.getByTestId("composer").fill(text);
    await page.getByTestId("composer").press("Enter");
}

async function expectMessage(page, text, timeout = T) {
    await timeline(page).getByTestId("body").filter({ hasText: text }).first().waitFor({ timeout });
}

let A, B, C;
let recoveryKey = null;
let dmName;

after(async () => {
    for (const page of [A, B, C]) await page?.context_.close().catch(() => undefined);
    for (const dir of userDataDirs) rmSync(dir, { recursive: true, force: true });
    if (logs.length) console.log("browser console (errors/warnings):\n" + logs.slice(-80).join("\n"));
});

test("the page is served with a strict CSP and the crypto as application/wasm", async () => {
    const response = await fetch(`${URL_}/`);
    assert.equal(response.status, 200);
    const csp = response.headers.get("content-security-policy");
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    assert.match(csp, /connect-src 'self'/);
    const html = await response.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline scripts");
    const wasm = html.match(/\/assets\/app-[^"]+\.js/);
    assert.ok(wasm, "bundle referenced");
});

test("two people sign up with invitations and chat (encrypted direct chat)", async (t) => {
    A = await newPage("alice");
    B = await newPage("bob", { width: 390, height: 844 }); // a phone-sized screen

    await t.test("sign up: invite link and typed invitation code", async () => {
        await Promise.all([signUp(A, alice, TOKENS[0], true), signUp(B, bob, TOKENS[1], false)]);
    });
    const bobId = `@${bob.name}:${process.env.KITH_SERVER_NAME ?? "localhost"}`;

    if (E2EE) {
        await t.test("alice sets up a recovery key", async () => {
            await A.getByTestId("setup-recovery").click();
            const key = A.getByTestId("recovery-key");
            await key.waitFor({ timeout: 60_000 });
            recoveryKey = (await key.textContent()).trim();
            assert.match(recoveryKey, /^(\w{4} ){11}\w{4}$/);
            await shot(A, "02-recovery-key");
            await A.getByTestId("recovery-saved").click();
            await A.getByTestId("recovery-banner").waitFor({ state: "detached" });
        });
    }

    await t.test("profile: display name", async () => {
        await A.getByTestId("open-settings").click();
        await A.getByTestId("displayname").fill("Alice");
        await A.getByTestId("save-displayname").click();
        await A.getByTestId("settings-status").filter({ hasText: "Saved" }).waitFor();
        await shot(A, "03-settings");
    });

    await t.test("alice starts a direct chat with bob", async () => {
        await A.getByTestId("new-dm").click();
        await A.fill("input[name=user]", bobId);
        await A.getByTestId("new-dm-dialog").locator("button[type=submit]").click();
        await A.getByTestId("composer").waitFor();
        await send(A, "Hello Bob");
        await expectMessage(A, "Hello Bob");
        // bob accepts the invitation
        await B.getByTestId("room-item").first().waitFor();
        await B.getByTestId("room-item").first().click();
        await B.getByTestId("accept-invite").click();
        await B.getByTestId("composer").waitFor();
        await expectMessage(B, "Hello Bob", 60_000);
        await B.getByTestId("room-title").filter({ hasText: /^Alice$/ }).waitFor();
        await B.getByTestId("sender").filter({ hasText: /^Alice$/ }).first().waitFor();
        dmName = (await B.getByTestId("room-title").textContent()).trim();
    });

    await t.test("reply, typing and read receipts", async () => {
        await B.getByTestId("composer").fill("typing");
        await A.getByTestId("typing").filter({ hasText: "is typing" }).waitFor();
        await B.getByTestId("composer").fill("");
        const first = B.getByTestId("message").filter({ hasText: "Hello Bob" }).first();
        await first.hover();
        await first.getByTestId("reply").click();
        await B.getByTestId("composer-context").waitFor();
        await send(B, "Hi Alice");
        await expectMessage(A, "Hi Alice");
        const reply = A.getByTestId("message").filter({ hasText: "Hi Alice" }).first();
        await reply.getByTestId("reply-quote").filter({ hasText: "Hello Bob" }).waitFor();
        await A.getByTestId("read-receipts").first().waitFor();
        if (E2EE) await A.locator(".msg [data-testid=undecryptable]").count().then((n) => assert.equal(n, 0));
        await shot(A, "04-chat-desktop");
        await shot(B, "05-chat-phone");
    });

    await t.test("react and edit", async () => {
        const msg = B.getByTestId("message").filter({ hasText: "Hello Bob" }).first();
        await msg.hover();
        await msg.getByTestId("react").click();
        await B.getByTestId("pick-👍").click();
        await A.getByTestId("message").filter({ hasText: "Hello Bob" }).getByTestId("reaction").filter({ hasText: "👍" }).waitFor();

        const mine = A.getByTestId("message").filter({ hasText: "Hello Bob" }).first();
        await mine.hover();
        await mine.getByTestId("edit").click();
        await A.getByTestId("composer-context").filter({ hasText: "Editing" }).waitFor();
        // the draft starts as the message being edited
        assert.equal(await A.getByTestId("composer").inputValue(), "Hello Bob");
        await A.getByTestId("composer").fill("Hello Bob, edited");
        await A.getByTestId("composer").press("Enter");
        await expectMessage(B, "Hello Bob, edited");
        await B.getByTestId("message").filter({ hasText: "Hello Bob, edited" }).getByTestId("edited").waitFor();
        // the reaction stays on the edited message
        await B.getByTestId("message").filter({ hasText: "Hello Bob, edited" }).getByTestId("reaction").waitFor();
    });

    if (MEDIA) {
        await t.test("send an image with preview", async () => {
            const png = await A.screenshot({ clip: { x: 0, y: 0, width: 64, height: 48 } });
            await A.getByTestId("file-input").setInputFiles({ name: "picture.png", mimeType: "image/png", buffer: png });
            await A.getByTestId("image-preview").waitFor();
            await shot(A, "06-image-preview");
            await A.getByTestId("send-image").click();
            const img = B.getByTestId("image").first();
            await img.waitFor({ timeout: 60_000 });
            await B.waitForFunction(() => {
                const el = document.querySelector("[data-testid=image]");
                return el && el.naturalWidth === 64;
            });
        });

        await t.test("send a file with a progress bar", async () => {
            const bytes = Buffer.alloc(200_000, 7);
            await B.getByTestId("file-input").setInputFiles({ name: "notes.bin", mimeType: "application/octet-stream", buffer: bytes });
            await B.getByTestId("upload-progress").or(B.getByTestId("file-name").filter({ hasText: "notes.bin" })).first().waitFor();
            const card = A.getByTestId("file").filter({ hasText: "notes.bin" }).first();
            await card.waitFor({ timeout: 60_000 });
            const [download] = await Promise.all([
                A.waitForEvent("download"),
                card.getByTestId("file-download").click(),
            ]);
            const path = await download.path();
            const { statSync } = await import("node:fs");
            assert.equal(statSync(path).size, bytes.length);
        });

        await t.test("record and play a voice message", async () => {
            await A.getByTestId("record").click();
            await A.getByTestId("recording").waitFor();
            await A.waitForTimeout(1500);
            await A.getByTestId("stop-recording").click();
            const voice = B.getByTestId("voice").first();
            await voice.waitFor({ timeout: 60_000 });
            await voice.getByTestId("audio-player").waitFor({ timeout: 60_000 });
            const duration = await B.evaluate(async () => {
                const audio = document.querySelector("[data-testid=audio-player]");
                if (!audio) return 0;
                await audio.play().catch(() => undefined);
                await new Promise((r) => setTimeout(r, 300));
                return audio.currentTime + (audio.readyState > 0 ? 1 : 0);
            });
            assert.ok(duration > 0, "voice message loads and plays");
            assert.match(await voice.textContent(), /0:0[1-2]/);
            await shot(B, "07-media-phone");
            await shot(A, "08-media-desktop");
        });
    }

    await t.test("room list shows the last message and unread counts", async () => {
        await A.goto(`${URL_}/#/`);
        await send(B, "unread one").catch(async () => {
            await openRoom(B, dmName);
            await send(B, "unread one");
        });
        const item = A.getByTestId("room-item").first();
        await item.filter({ hasText: "unread one" }).waitFor();
        await item.getByTestId("unread").waitFor();
        await shot(A, "09-room-list");
    });

    await t.test("groups: create (encrypted), invite, leave", async () => {
        await A.getByTestId("new-group").click();
        await A.fill("input[name=name]", "Book club");
        await A.getByTestId("new-group-dialog").locator("button[type=submit]").click();
        await A.getByTestId("room-title").filter({ hasText: "Book club" }).waitFor();
        await A.getByTestId("timeline").getByText("end-to-end encrypted").first().waitFor();
        await A.getByTestId("invite").click();
        await A.fill("input[name=users]", bobId);
        await A.getByTestId("invite-dialog").locator("button[type=submit]").click();
        await B.goto(`${URL_}/#/`);
        await openRoom(B, "Book club");
        await B.getByTestId("accept-invite").click();
        await send(B, "Hello club");
        await expectMessage(A, "Hello club", 60_000);
        await B.getByTestId("leave").click();
        await B.getByTestId("confirm-leave").click();
        await A.getByTestId("timeline").getByText(/left/).first().waitFor();
    });

    await t.test("German interface", async () => {
        await B.goto(`${URL_}/#/settings`);
        await B.getByTestId("settings-language").selectOption("de");
        await B.getByText("Abmelden").first().waitFor();
        await shot(B, "10-settings-german");
        await B.getByTestId("settings-language").selectOption("en");
    });

    await t.test("sign out", async () => {
        await B.getByTestId("sign-out").click();
        await B.getByTestId("signin-form").waitFor();
        assert.equal(await B.evaluate(() => localStorage.getItem("kith.session")), null);
    });
});

test("a new sign-in is verified by emoji and reads history with the recovery key", { skip: !E2EE }, async (t) => {
    C = await newPage("alice-new");
    await t.test("sign in", async () => {
        await C.goto(`${URL_}/`);
        await C.getByTestId("signin-form").waitFor();
        await C.fill("input[name=username]", alice.name);
        await C.fill("input[name=password]", alice.password);
        await C.click("button[type=submit]");
        await C.getByTestId("verify-banner").waitFor({ timeout: 60_000 });
        await shot(C, "11-new-sign-in-unverified");
    });
    await t.test("before verification, history cannot be decrypted yet", async () => {
        await openRoom(C, bob.name);
        await C.getByTestId("undecryptable").first().waitFor({ timeout: 60_000 });
        await shot(C, "12-cannot-decrypt-yet");
    });
    await t.test("emoji verification from the other device", async () => {
        await A.goto(`${URL_}/#/`);
        await C.getByTestId("verify-other-device").click();
        await A.getByTestId("verify-incoming").waitFor({ timeout: 60_000 });
        await A.getByTestId("verify-accept").click();
        const emojiA = A.getByTestId("sas-emoji");
        const emojiC = C.getByTestId("sas-emoji");
        await Promise.all([emojiA.waitFor({ timeout: 60_000 }), emojiC.waitFor({ timeout: 60_000 })]);
        assert.equal(await emojiA.textContent(), await emojiC.textContent());
        await shot(C, "13-verify-emoji");
        await C.getByTestId("sas-match").click();
        await A.getByTestId("sas-match").click();
        await Promise.all([C.getByTestId("verify-done").waitFor({ timeout: 60_000 }), A.getByTestId("verify-done").waitFor({ timeout: 60_000 })]);
        await C.getByTestId("verify-close").click();
        await A.getByTestId("verify-close").click();
        await C.getByTestId("verify-banner").waitFor({ state: "detached" });
    });
    await t.test("restore with the recovery key and read earlier history", async () => {
        await C.goto(`${URL_}/#/settings`);
        await C.getByTestId("settings-restore").click();
        await C.fill("input[name=recovery-key]", recoveryKey);
        await C.getByTestId("restore").click();
        await C.getByTestId("restore-done").waitFor({ timeout: 60_000 });
        await shot(C, "14-recovery-key-restored");
        await C.getByTestId("restore-dialog").getByRole("button", { name: "Close" }).first().click();
        await C.goto(`${URL_}/#/`);
        await openRoom(C, bob.name);
        await expectMessage(C, "Hello Bob, edited", 60_000);
        await expectMessage(C, "Hi Alice", 60_000);
        if (MEDIA) {
            await C.getByTestId("file-name").filter({ hasText: "notes.bin" }).first().waitFor();
            await C.getByTestId("image").first().waitFor();
        }
        await shot(C, "15-history-restored");
    });
});
