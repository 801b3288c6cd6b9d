// Encryption UI: the banner that says what to do next, emoji (SAS)
// verification in both directions, recovery key set-up and restore.

import { useEffect, useState } from "preact/hooks";
import { ClientEvent, type MatrixClient } from "matrix-js-sdk";
import { CryptoEvent, VerificationPhase, VerificationRequestEvent, VerifierEvent, type ShowSasCallbacks,
    type VerificationRequest, type Verifier } from "matrix-js-sdk/lib/crypto-api/index.js";
import { BadRecoveryKey, bootstrapCrossSigning, encryptionState, restoreWithRecoveryKey, retryDecryption,
    setUpRecovery, type EncryptionState } from "./client.ts";
import { t } from "./i18n.ts";
import { Dialog, Icon, errorText } from "./ui.tsx";

// ---- A tiny store for the one security dialog shown at a time ----

type Modal = null | { kind: "recovery" } | { kind: "restore" } | { kind: "verify"; request: VerificationRequest };
let modal: Modal = null;
const listeners = new Set<() => void>();
function setModal(next: Modal): void {
    modal = next;
    listeners.forEach((l) => l());
}
function useModal(): Modal {
    const [, setTick] = useState(0);
    useEffect(() => {
        const l = () => setTick((n) => n + 1);
        listeners.add(l);
        return () => void listeners.delete(l);
    }, []);
    return modal;
}

export function openRecoverySetup(): void { setModal({ kind: "recovery" }); }
export function openRestore(): void { setModal({ kind: "restore" }); }

export async function verifyOwnDevice(client: MatrixClient, deviceId?: string): Promise<void> {
    const crypto = client.getCrypto()!;
    const request = deviceId
        ? await crypto.requestDeviceVerification(client.getUserId()!, deviceId)
        : await crypto.requestOwnUserVerification();
    setModal({ kind: "verify", request });
}

const ENCRYPTION_EVENTS = ["kith.encryption", CryptoEvent.KeysChanged, CryptoEvent.UserTrustStatusChanged,
    CryptoEvent.KeyBackupStatus, CryptoEvent.DevicesUpdated, ClientEvent.AccountData];

export function useEncryptionState(client: MatrixClient): EncryptionState | null {
    const [state, setState] = useState<EncryptionState | null>(null);
    useEffect(() => {
        let live = true;
        let timer = 0;
        const refresh = () => {
            clearTimeout(timer);
            timer = window.setTimeout(() => {
                encryptionState(client).then((s) => live && setState(s)).catch(() => undefined);
            }, 100);
        };
        refresh();
        for (const name of ENCRYPTION_EVENTS) client.on(name as any, refresh);
        return () => {
            live = false;
            for (const name of ENCRYPTION_EVENTS) client.off(name as any, refresh);
        };
    }, [client]);
    return state;
}

let passwordForSetup: string | null = null;

export function EncryptionBanner(props: { client: MatrixClient; password: string | null }) {
    const state = useEncryptionState(props.client);
    const [dismissed, setDismissed] = useState(false);
    if (props.password) passwordForSetup = props.password;
    if (!state || dismissed) return null;
    if (state.accountHasCrossSigning && !state.deviceVerified) {
        return (
            <div class="banner warn-banner" role="region" aria-label={t("verifyThisDevice")} data-testid="verify-banner">
                <p><Icon name="warn" /> {t("verifyBanner")}</p>
                <div class="row">
                    <button type="button" class="primary" onClick={() => verifyOwnDevice(props.client)}
                        data-testid="verify-other-device">{t("verifyOtherDevice")}</button>
                    <button type="button" onClick={openRestore} data-testid="use-recovery-key">{t("useRecoveryKey")}</button>
                </div>
            </div>
        );
    }
    if (!state.secretStorageReady) {
        return (
            <div class="banner" role="region" aria-label={t("setupRecovery")} data-testid="recovery-banner">
                <p><Icon name="key" /> {t("recoveryBanner")}</p>
                <div class="row">
                    <button type="button" class="primary" onClick={openRecoverySetup} data-testid="setup-recovery">{t("setupRecovery")}</button>
                    <button type="button" onClick={() => setDismissed(true)}>{t("dismiss")}</button>
                </div>
            </div>
        );
    }
    return null;
}

/** Renders the current security dialog and listens for incoming verification requests. */
export function VerificationHost(props: { client: MatrixClient }) {
    const { client } = props;
    const current = useModal();
    useEffect(() => {
        const onRequest = (request: VerificationRequest) => {
            if (!request.initiatedByMe && request.phase === VerificationPhase.Requested) setModal({ kind: "verify", request });
        };
        client.on(CryptoEvent.VerificationRequestReceived, onRequest);
        return () => void client.off(CryptoEvent.VerificationRequestReceived, onRequest);
    }, [client]);
    if (!current) return null;
    const close = () => setModal(null);
    if (current.kind === "recovery") return <RecoverySetupDialog client={client} onClose={close} />;
    if (current.kind === "restore") return <RestoreDialog client={client} onClose={close} />;
    return <VerificationDialog key={current.request.transactionId} client={client} request={current.request} onClose={close} />;
}

function VerificationDialog(props: { client: MatrixClient; request: VerificationRequest; onClose: () => void }) {
    const { client, request } = props;
    const [phase, setPhase] = useState(request.phase);
    const [sas, setSas] = useState<ShowSasCallbacks | null>(null);
    const [confirmed, setConfirmed] = useState(false);
    const [deviceName, setDeviceName] = useState(request.otherDeviceId ?? "");
    const [error, setError] = useState<string | null>(null);

    useEffect(() => {
        let verifierStarted = false;
        const run = (verifier: Verifier) => {
            if (verifierStarted) return;
            verifierStarted = true;
            verifier.on(VerifierEvent.ShowSas, (callbacks) => setSas(callbacks));
            const existing = verifier.getShowSasCallbacks();
            if (existing) setSas(existing);
            verifier.verify().catch((err) => setError(errorText(err)));
        };
        const onChange = () => {
            setPhase(request.phase);
            if (request.phase === VerificationPhase.Ready && request.initiatedByMe && !verifierStarted) {
                request.startVerification("m.sas.v1").then(run).catch((err) => setError(errorText(err)));
            }
            if (request.phase === VerificationPhase.Started && request.verifier) run(request.verifier);
            if (request.phase === VerificationPhase.Done) {
                client.emit("kith.encryption" as any);
                void retryDecryption(client);
            }
        };
        request.on(VerificationRequestEvent.Change, onChange);
        onChange();
        if (request.otherDeviceId) {
            client.getCrypto()?.getUserDeviceInfo([client.getUserId()!]).then((map) => {
                const device = map.get(client.getUserId()!)?.get(request.otherDeviceId!);
                if (device?.displayName) setDeviceName(`${device.displayName} (${device.deviceId})`);
            }).catch(() => undefined);
        }
        return () => void request.off(VerificationRequestEvent.Change, onChange);
    }, [request]);

    const cancel = () => {
        if (request.phase !== VerificationPhase.Done && request.phase !== VerificationPhase.Cancelled) {
            request.cancel().catch(() => undefined);
        }
        props.onClose();
    };

    let body;
    if (error) body = <p role="alert" class="error">{t("error", { error })}</p>;
    else if (phase === VerificationPhase.Done) body = <p data-testid="verify-done"><Icon name="check" /> {t("verifyDone")}</p>;
    else if (phase === VerificationPhase.Cancelled) body = <p data-testid="verify-cancelled">{t("verifyCancelled")}</p>;
    else if (sas?.sas.emoji && !confirmed) {
        body = (
            <>
                <p>{t("verifyCompare")}</p>
                <ol class="emoji-grid" data-testid="sas-emoji">
                    {sas.sas.emoji.map(([emoji, name]) => (
                        <li><span class="emoji" aria-hidden="true">{emoji}</span><span class="emoji-name">{name}</span></li>
                    ))}
                </ol>
                <div class="row end">
                    <button type="button" class="danger" onClick={() => { sas.mismatch(); }}>{t("noMatch")}</button>
                    <button type="button" class="primary" data-testid="sas-match"
                        onClick={() => { setConfirmed(true); sas.confirm().catch((err) => setError(errorText(err))); }}>{t("theyMatch")}</button>
                </div>
            </>
        );
    } else if (confirmed) body = <p aria-busy="true">{t("verifyWaiting")}</p>;
    else if (!request.initiatedByMe && phase === VerificationPhase.Requested) {
        body = (
            <>
                <p data-testid="verify-incoming">{t("verifyIncoming", { device: deviceName || request.otherUserId })}</p>
                <div class="row end">
                    <button type="button" onClick={cancel}>{t("decline")}</button>
                    <button type="button" class="primary" data-testid="verify-accept"
                        onClick={() => request.accept().catch((err) => setError(errorText(err)))}>{t("accept")}</button>
                </div>
            </>
        );
    } else body = <p aria-busy="true" data-testid="verify-waiting">{request.initiatedByMe ? t("verifyRequested") : t("verifyWaiting")}</p>;

    const finished = phase === VerificationPhase.Done || phase === VerificationPhase.Cancelled || !!error;
    return (
        <Dialog title={t("verifyThisDevice")} onClose={finished ? props.onClose : cancel} testid="verify-dialog">
            {body}
            {finished && <div class="row end"><button type="button" class="primary" onClick={props.onClose}
                data-testid="verify-close">{t("close")}</button></div>}
        </Dialog>
    );
}

function RecoverySetupDialog(props: { client: MatrixClient; onClose: () => void }) {
    const { client } = props;
    const [password, setPassword] = useState(passwordForSetup ?? "");
    const [needPassword, setNeedPassword] = useState(false);
    const [busy, setBusy] = useState(false);
    const [key, setKey] = useState<string | null>(null);
    const [copied, setCopied] = useState(false);
    const [error, setError] = useState<string | null>(null);

    const run = async () => {
        setBusy(true);
        setError(null);
        try {
            const crypto = client.getCrypto()!;
            if (!(await crypto.isCrossSigningReady())) {
                const hasKeys = await crypto.userHasCrossSigningKeys(client.getUserId()!, true);
                if (!hasKeys) {
                    if (!password) {
                        setNeedPassword(true);
                        setBusy(false);
                        return;
                    }
                    await bootstrapCrossSigning(client, password);
                }
            }
            setKey(await setUpRecovery(client));
        } catch (err) {
            setError(errorText(err));
            if ((err as any)?.httpStatus === 401) setNeedPassword(true);
        }
        setBusy(false);
    };

    useEffect(() => { void run(); }, []);

    const finish = () => {
        client.emit("kith.encryption" as any);
        props.onClose();
    };

    return (
        <Dialog title={t("setupRecovery")} onClose={key ? finish : props.onClose} testid="recovery-dialog">
            <p>{t("recoveryIntro")}</p>
            {needPassword && !key && (
                <form class="stack" onSubmit={(e) => { e.preventDefault(); void run(); }}>
                    <p>{t("passwordNeeded")}</p>
                    <label>{t("password")}
                        <input type="password" autocomplete="current-password" value={password} autofocus
                            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
                    </label>
                    <button type="submit" class="primary" disabled={busy}>{t("setupRecovery")}</button>
                </form>
            )}
            {busy && <p aria-busy="true">{t("working")}</p>}
            {key && (
                <>
                    <p>{t("recoveryKeyIs")}</p>
                    <code class="recovery-key" data-testid="recovery-key">{key}</code>
                    <div class="row end">
                        <button type="button" onClick={() => navigator.clipboard?.writeText(key).then(() => setCopied(true))}>
                            {copied ? t("copied") : t("copy")}</button>
                        <button type="button" class="primary" onClick={finish} data-testid="recovery-saved">{t("recoverySaved")}</button>
                    </div>
                </>
            )}
            {error && <p role="alert" class="error">{t("error", { error })}</p>}
        </Dialog>
    );
}

function RestoreDialog(props: { client: MatrixClient; onClose: () => void }) {
    const [text, setText] = useState("");
    const [busy, setBusy] = useState(false);
    const [result, setResult] = useState<number | null>(null);
    const [error, setError] = useState<string | null>(null);
    const submit = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
            setResult(await restoreWithRecoveryKey(props.client, text));
            props.client.emit("kith.encryption" as any);
        } catch (err) {
            setError(err instanceof BadRecoveryKey ? t("badRecoveryKey") : t("error", { error: errorText(err) }));
        }
        setBusy(false);
    };
    return (
        <Dialog title={t("enterRecoveryKey")} onClose={props.onClose} testid="restore-dialog">
            {result === null ? (
                <form class="stack" onSubmit={submit}>
                    <label>{t("recoveryKey")}
                        <input name="recovery-key" value={text} autofocus autocomplete="off" spellcheck={false}
                            onInput={(e) => setText((e.target as HTMLInputElement).value)} />
                    </label>
                    {busy && <p aria-busy="true">{t("restoring")}</p>}
                    {error && <p role="alert" class="error">{error}</p>}
                    <div class="row end">
                        <button type="button" onClick={props.onClose}>{t("cancel")}</button>
                        <button type="submit" class="primary" disabled={busy || !text.trim()} data-testid="restore">{t("restore")}</button>
                    </div>
                </form>
            ) : (
                <>
                    <p data-testid="restore-done"><Icon name="check" /> {t("restored", { count: result })}</p>
                    <div class="row end"><button type="button" class="primary" onClick={props.onClose}>{t("close")}</button></div>
                </>
            )}
        </Dialog>
    );
}
