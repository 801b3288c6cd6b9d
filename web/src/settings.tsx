// Settings: profile (display name, picture), language, security, sign-out.

import { useEffect, useRef, useState } from "preact/hooks";
import type { MatrixClient } from "matrix-js-sdk";
import { deleteCryptoStores, uploadFile } from "./client.ts";
import { LANGUAGES, lang, t, type Lang } from "./i18n.ts";
import { clearSession } from "./session.ts";
import { Avatar, Icon, errorText, useClientUpdates } from "./ui.tsx";
import { navigate } from "./app.tsx";
import { openRecoverySetup, openRestore, useEncryptionState, verifyOwnDevice } from "./security.tsx";

export function SettingsView(props: { client: MatrixClient; onLang: (l: Lang) => void }) {
    const { client } = props;
    useClientUpdates(client, ["User.displayName", "User.avatarUrl"]);
    const userId = client.getUserId()!;
    const user = client.getUser(userId);
    const [name, setName] = useState(user?.displayName ?? "");
    const [avatar, setAvatar] = useState<string | null>(user?.avatarUrl ?? null);
    const [status, setStatus] = useState<string | null>(null);
    const [busy, setBusy] = useState(false);
    const fileInput = useRef<HTMLInputElement>(null);
    // The stored profile arrives asynchronously; it must not overwrite a name
    // the user has already started typing.
    const nameEdited = useRef(false);

    useEffect(() => {
        client.getProfileInfo(userId).then((p) => {
            if (!nameEdited.current) setName(p.displayname ?? "");
            setAvatar(p.avatar_url ?? null);
        }).catch(() => undefined);
    }, []);

    const saveName = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        try {
            await client.setDisplayName(name.trim());
            setStatus(t("saved"));
        } catch (err) {
            setStatus(t("error", { error: errorText(err) }));
        }
        setBusy(false);
    };

    const onAvatar = async (e: Event) => {
        const target = e.target as HTMLInputElement;
        const file = target.files?.[0];
        target.value = "";
        if (!file) return;
        setBusy(true);
        try {
            const { url } = await uploadFile(client, file, file.name, false, () => undefined);
            await client.setAvatarUrl(url!);
            setAvatar(url!);
            setStatus(t("saved"));
        } catch (err) {
            setStatus(t("error", { error: errorText(err) }));
        }
        setBusy(false);
    };

    const signOut = async () => {
        setBusy(true);
        try {
            client.stopClient();
            await client.logout(true).catch(() => undefined);
            await client.clearStores().catch(() => undefined);
        } finally {
            await deleteCryptoStores();
            clearSession();
            navigate("");
            window.location.reload();
        }
    };

    return (
        <section class="settings" aria-label={t("settings")}>
            <header class="room-head">
                <button type="button" class="icon back" onClick={() => navigate("")} aria-label={t("back")}><Icon name="back" /></button>
                <h2>{t("settings")}</h2>
            </header>
            <div class="settings-body">
                <h3>{t("profile")}</h3>
                <div class="profile-row">
                    <Avatar client={client} mxc={avatar} name={name || userId} id={userId} size="l" />
                    <div class="stack">
                        <span class="hint" data-testid="my-user-id">{userId}</span>
                        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy} data-testid="change-avatar">
                            {t("changeAvatar")}</button>
                        <input type="file" accept="image/*" ref={fileInput} class="hidden" onChange={onAvatar}
                            data-testid="avatar-input" tabIndex={-1} />
                    </div>
                </div>
                <form class="row" onSubmit={saveName}>
                    <label class="grow">{t("displayName")}
                        <input name="displayname" value={name} onInput={(e) => { nameEdited.current = true; setName((e.target as HTMLInputElement).value); }}
                            data-testid="displayname" />
                    </label>
                    <button type="submit" class="primary" disabled={busy} data-testid="save-displayname">{t("save")}</button>
                </form>
                {status && <p role="status" data-testid="settings-status">{status}</p>}

                <h3>{t("language")}</h3>
                <select value={lang()} aria-label={t("language")} data-testid="settings-language"
                    onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}>
                    {Object.entries(LANGUAGES).map(([code, label]) => <option value={code}>{label}</option>)}
                </select>

                <SecuritySection client={client} />

                <h3>{t("signOut")}</h3>
                <button type="button" class="danger" onClick={signOut} disabled={busy} data-testid="sign-out">{t("signOut")}</button>
            </div>
        </section>
    );
}

interface DeviceRow { deviceId: string; name: string; verified: boolean }

function SecuritySection(props: { client: MatrixClient }) {
    const { client } = props;
    const state = useEncryptionState(client);
    const [devices, setDevices] = useState<DeviceRow[]>([]);
    useEffect(() => {
        let live = true;
        (async () => {
            const crypto = client.getCrypto()!;
            const userId = client.getUserId()!;
            const map = await crypto.getUserDeviceInfo([userId], true);
            const rows: DeviceRow[] = [];
            for (const device of map.get(userId)?.values() ?? []) {
                const status = await crypto.getDeviceVerificationStatus(userId, device.deviceId);
                rows.push({ deviceId: device.deviceId, name: device.displayName ?? device.deviceId, verified: !!status?.crossSigningVerified });
            }
            if (live) setDevices(rows);
        })().catch(() => undefined);
        return () => { live = false; };
    }, [state]);

    const me = client.getDeviceId();
    return (
        <>
            <h3>{t("security")}</h3>
            {state && (
                <ul class="plain" data-testid="security-status">
                    <li><Icon name={state.deviceVerified ? "check" : "warn"} /> {t("thisDevice")}: {state.deviceVerified ? t("verified") : t("notVerified")}</li>
                    <li><Icon name={state.secretStorageReady ? "check" : "key"} /> {state.secretStorageReady ? t("recoveryReady") : t("recoveryBanner")}</li>
                </ul>
            )}
            <div class="row wrap">
                {state && !state.secretStorageReady && <button type="button" onClick={openRecoverySetup}>{t("setupRecovery")}</button>}
                {state && state.accountHasCrossSigning && !state.deviceVerified &&
                    <button type="button" onClick={() => verifyOwnDevice(client)}>{t("verifyOtherDevice")}</button>}
                {state?.secretStorageReady && <button type="button" onClick={openRestore} data-testid="settings-restore">{t("useRecoveryKey")}</button>}
            </div>
            <h3>{t("devices")}</h3>
            <ul class="devices" data-testid="devices">
                {devices.map((d) => (
                    <li>
                        <span class="grow">{d.name} <span class="hint">({d.deviceId}{d.deviceId === me ? ", " + t("thisDevice") : ""})</span></span>
                        <span class={d.verified ? "ok" : "warn"}>{d.verified ? t("verified") : t("notVerified")}</span>
                        {!d.verified && d.deviceId !== me && state?.deviceVerified &&
                            <button type="button" onClick={() => verifyOwnDevice(client, d.deviceId)}>{t("verify")}</button>}
                    </li>
                ))}
            </ul>
        </>
    );
}
