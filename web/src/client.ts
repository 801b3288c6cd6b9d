// The Matrix client: matrix-js-sdk with its Rust crypto (WebAssembly, keys in
// IndexedDB), plus the encryption flows the UI offers: cross-signing set-up,
// recovery key (secret storage + key backup), restore, emoji verification.

import { initAsync } from "@matrix-org/matrix-sdk-crypto-wasm";
import { createClient, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import type { CryptoCallbacks } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { Session } from "./session.ts";

declare const KITH_WASM_URL: string;

const CRYPTO_PREFIX = "matrix-js-sdk"; // matrix-js-sdk's fixed IndexedDB prefix for the Rust crypto store

/** Secret-storage keys known in this page: created here or typed in as a recovery key. */
const secretStorageKeys = new Map<string, Uint8Array>();

const cryptoCallbacks: CryptoCallbacks = {
    async getSecretStorageKey({ keys }) {
        for (const keyId of Object.keys(keys)) {
            const key = secretStorageKeys.get(keyId);
            if (key) return [keyId, key];
        }
        return null;
    },
    cacheSecretStorageKey(keyId, _info, key) {
        secretStorageKeys.set(keyId, key);
    },
};

export async function deleteCryptoStores(): Promise<void> {
    for (const name of [`${CRYPTO_PREFIX}::matrix-sdk-crypto`, `${CRYPTO_PREFIX}::matrix-sdk-crypto-meta`]) {
        await new Promise<void>((resolve) => {
            const request = indexedDB.deleteDatabase(name);
            request.onsuccess = request.onerror = request.onblocked = () => resolve();
        });
    }
}

export async function startClient(session: Session, fresh: boolean): Promise<MatrixClient> {
    if (fresh) await deleteCryptoStores();
    const client = createClient({
        baseUrl: session.baseUrl,
        userId: session.userId,
        deviceId: session.deviceId,
        accessToken: session.accessToken,
        cryptoCallbacks,
        timelineSupport: true,
    });
    await initAsync(KITH_WASM_URL);
    await client.initRustCrypto({ useIndexedDB: true });
    // Kith serves organisations, whose rooms are small: full member lists keep
    // names and avatars right without extra requests.
    await client.startClient({ initialSyncLimit: 30, lazyLoadMembers: false });
    return client;
}

/** Create the cross-signing keys for a new account (needs the password for the upload). */
export async function bootstrapCrossSigning(client: MatrixClient, password: string | null): Promise<void> {
    const crypto = client.getCrypto()!;
    await crypto.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
            try {
                await makeRequest(null);
            } catch (err: any) {
                if (err?.httpStatus !== 401 || password === null) throw err;
                await makeRequest({
                    type: "m.login.password",
                    identifier: { type: "m.id.user", user: client.getUserId()! },
                    password,
                    session: err.data?.session,
                } as any);
            }
        },
    });
}

/** Secret storage plus a new key backup; returns the recovery key to show once. */
export async function setUpRecovery(client: MatrixClient): Promise<string> {
    const crypto = client.getCrypto()!;
    const generated = await crypto.createRecoveryKeyFromPassphrase();
    await crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => generated,
        setupNewSecretStorage: true,
        setupNewKeyBackup: true,
    });
    return generated.encodedPrivateKey!;
}

export class BadRecoveryKey extends Error {}

/** Unlock secret storage with a recovery key: trust this device and restore the key backup. */
export async function restoreWithRecoveryKey(client: MatrixClient, text: string): Promise<number> {
    let key: Uint8Array;
    try {
        key = decodeRecoveryKey(text.trim());
    } catch {
        throw new BadRecoveryKey();
    }
    const keyId = await client.secretStorage.getDefaultKeyId();
    if (!keyId) throw new BadRecoveryKey();
    const found = await client.secretStorage.getKey(keyId);
    if (!found || !(await client.secretStorage.checkKey(key, found[1]))) throw new BadRecoveryKey();
    secretStorageKeys.set(keyId, key);
    const crypto = client.getCrypto()!;
    await crypto.bootstrapCrossSigning({}); // imports the cross-signing keys and signs this device
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    await retryDecryption(client);
    return result.imported;
}

/** Ask every event that failed to decrypt to try again (keys may have arrived). */
export async function retryDecryption(client: MatrixClient): Promise<void> {
    const crypto = client.getCrypto();
    if (!crypto) return;
    for (const room of client.getRooms()) {
        for (const event of room.getLiveTimeline().getEvents()) {
            if (event.isDecryptionFailure()) {
                await event.attemptDecryption(crypto as any, { isRetry: true }).catch(() => undefined);
            }
        }
    }
}

export interface EncryptionState {
    crossSigningReady: boolean;
    accountHasCrossSigning: boolean;
    deviceVerified: boolean;
    secretStorageReady: boolean;
    backupVersion: string | null;
}

export async function encryptionState(client: MatrixClient): Promise<EncryptionState> {
    const crypto = client.getCrypto()!;
    const userId = client.getUserId()!;
    const [accountHasCrossSigning, crossSigningReady, device, secretStorageReady, backupVersion] = await Promise.all([
        crypto.userHasCrossSigningKeys(userId, true),
        crypto.isCrossSigningReady(),
        crypto.getDeviceVerificationStatus(userId, client.getDeviceId()!),
        crypto.isSecretStorageReady(),
        crypto.getActiveSessionBackupVersion(),
    ]);
    return {
        accountHasCrossSigning,
        crossSigningReady,
        deviceVerified: !!device?.crossSigningVerified,
        secretStorageReady,
        backupVersion,
    };
}

// ---- Media: authenticated download, encrypted attachments ----

const blobUrls = new Map<string, Promise<string>>();

function b64(bytes: ArrayBuffer | Uint8Array): string {
    const array = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let text = "";
    for (const byte of array) text += String.fromCharCode(byte);
    return btoa(text).replace(/=+$/, "");
}

function unb64(text: string): Uint8Array<ArrayBuffer> {
    const normal = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = normal + "===".slice((normal.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export interface EncryptedFile {
    url: string;
    key: { kty: "oct"; key_ops: string[]; alg: "A256CTR"; k: string; ext: true };
    iv: string;
    hashes: { sha256: string };
    v: "v2";
}

export async function encryptAttachment(data: ArrayBuffer): Promise<{ data: ArrayBuffer; file: Omit<EncryptedFile, "url"> }> {
    const keyBytes = crypto.getRandomValues(new Uint8Array(32));
    const iv = new Uint8Array(16);
    crypto.getRandomValues(iv.subarray(0, 8)); // the counter half stays zero
    const key = await crypto.subtle.importKey("raw", keyBytes, "AES-CTR", true, ["encrypt", "decrypt"]);
    const ciphertext = await crypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, data);
    const digest = await crypto.subtle.digest("SHA-256", ciphertext);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    return {
        data: ciphertext,
        file: {
            key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: jwk.k!, ext: true },
            iv: b64(iv),
            hashes: { sha256: b64(digest) },
            v: "v2",
        },
    };
}

async function decryptAttachment(data: ArrayBuffer, file: EncryptedFile): Promise<ArrayBuffer> {
    const digest = await crypto.subtle.digest("SHA-256", data);
    if (b64(digest) !== file.hashes.sha256.replace(/=+$/, "")) throw new Error("attachment hash mismatch");
    const key = await crypto.subtle.importKey("jwk", { ...file.key, ext: true }, "AES-CTR", false, ["decrypt"]);
    return crypto.subtle.decrypt({ name: "AES-CTR", counter: unb64(file.iv) as Uint8Array<ArrayBuffer>, length: 64 }, key, data);
}

function downloadUrl(client: MatrixClient, mxc: string): string {
    const match = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
    if (!match) throw new Error("not an mxc URL");
    return `${client.baseUrl}/_matrix/client/v1/media/download/${encodeURIComponent(match[1])}/${encodeURIComponent(match[2])}`;
}

async function fetchMedia(client: MatrixClient, mxc: string): Promise<ArrayBuffer> {
    const response = await fetch(downloadUrl(client, mxc), {
        headers: { Authorization: `Bearer ${client.getAccessToken()}` },
    });
    if (!response.ok) throw new Error(`download failed (${response.status})`);
    return response.arrayBuffer();
}

/** A blob: URL for an mxc:// URL, or for an encrypted file; cached for the page's life. */
export function mediaBlobUrl(client: MatrixClient, source: { url?: string; file?: EncryptedFile }, mimetype?: string): Promise<string> {
    const mxc = source.file?.url ?? source.url;
    if (!mxc) return Promise.reject(new Error("no media"));
    let cached = blobUrls.get(mxc);
    if (!cached) {
        cached = (async () => {
            let data = await fetchMedia(client, mxc);
            if (source.file) data = await decryptAttachment(data, source.file);
            return URL.createObjectURL(new Blob([data], mimetype ? { type: mimetype } : {}));
        })();
        cached.catch(() => blobUrls.delete(mxc));
        blobUrls.set(mxc, cached);
    }
    return cached;
}

export interface UploadResult {
    url?: string;
    file?: EncryptedFile;
}

/** Upload a file (encrypted first in encrypted rooms), reporting progress 0..1. */
export async function uploadFile(
    client: MatrixClient, blob: Blob, name: string, encrypt: boolean, progress: (fraction: number) => void,
): Promise<UploadResult> {
    if (encrypt) {
        const encrypted = await encryptAttachment(await blob.arrayBuffer());
        const uploaded = await client.uploadContent(new Blob([encrypted.data]), {
            name, type: "application/octet-stream", includeFilename: false,
            progressHandler: ({ loaded, total }) => progress(total ? loaded / total : 0),
        });
        return { file: { ...encrypted.file, url: uploaded.content_uri } };
    }
    const uploaded = await client.uploadContent(blob, {
        name, type: blob.type || "application/octet-stream",
        progressHandler: ({ loaded, total }) => progress(total ? loaded / total : 0),
    });
    return { url: uploaded.content_uri };
}

export function isEncryptedRoom(client: MatrixClient, roomId: string): boolean {
    const room = client.getRoom(roomId);
    return !!room?.currentState.getStateEvents("m.room.encryption", "")?.getContent()?.algorithm;
}

export type { MatrixEvent };
