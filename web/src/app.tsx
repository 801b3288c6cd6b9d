// The application shell: sign-in/sign-up, the room list, routing by URL hash.

import { useEffect, useState } from "preact/hooks";
import { ClientEvent, EventType, KnownMembership, NotificationCountType, RoomEvent, RoomMemberEvent,
    MatrixEventEvent, type MatrixClient, type Room, type MatrixEvent, Preset, Visibility } from "matrix-js-sdk";
import { CryptoEvent } from "matrix-js-sdk/lib/crypto-api/index.js";
import { bootstrapCrossSigning, startClient } from "./client.ts";
import { LANGUAGES, lang, setLang, t, type Lang } from "./i18n.ts";
import { ApiError, clearSession, loadSession, login, register, saveSession, tokenValid, type Session } from "./session.ts";
import { Avatar, FormDialog, Icon, errorText, useClientUpdates } from "./ui.tsx";
import { RoomView, eventSummary } from "./room.tsx";
import { EncryptionBanner, VerificationHost } from "./security.tsx";
import { SettingsView } from "./settings.tsx";

export type Route = { kind: "home" } | { kind: "room"; roomId: string } | { kind: "settings" }
    | { kind: "invite"; token: string } | { kind: "signup" };

export function parseRoute(): Route {
    const hash = decodeURIComponent(window.location.hash.replace(/^#\/?/, ""));
    if (hash.startsWith("invite/")) return { kind: "invite", token: hash.slice(7) };
    if (hash === "signup") return { kind: "signup" };
    if (hash.startsWith("room/")) return { kind: "room", roomId: hash.slice(5) };
    if (hash === "settings") return { kind: "settings" };
    return { kind: "home" };
}

export function navigate(path: string): void {
    window.location.hash = "#/" + path;
}

function useRoute(): Route {
    const [route, setRoute] = useState(parseRoute());
    useEffect(() => {
        const onHash = () => setRoute(parseRoute());
        window.addEventListener("hashchange", onHash);
        return () => window.removeEventListener("hashchange", onHash);
    }, []);
    return route;
}

export function App() {
    const route = useRoute();
    const [, setLangTick] = useState(0);
    const [client, setClient] = useState<MatrixClient | null>(null);
    const [starting, setStarting] = useState<boolean>(!!loadSession());
    const [fatal, setFatal] = useState<string | null>(null);
    const [password, setPassword] = useState<string | null>(null);

    const begin = async (session: Session, fresh: boolean, newAccountPassword: string | null) => {
        setStarting(true);
        try {
            const started = await startClient(session, fresh);
            (window as any).kithClient = started; // for debugging from the console
            setPassword(newAccountPassword);
            setClient(started);
            if (newAccountPassword !== null) {
                // A new account: create its cross-signing identity while we have the password.
                await waitForSync(started);
                await bootstrapCrossSigning(started, newAccountPassword).catch((err) => console.warn("cross-signing", err));
                started.emit("kith.encryption" as any);
            }
        } catch (err) {
            setFatal(errorText(err));
        } finally {
            setStarting(false);
        }
    };

    useEffect(() => {
        const session = loadSession();
        if (session) void begin(session, false, null);
    }, []);

    const onSignedIn = (session: Session, newAccountPassword: string | null) => {
        saveSession(session);
        navigate("");
        void begin(session, true, newAccountPassword);
    };

    const onLangChange = (next: Lang) => {
        setLang(next);
        setLangTick((n) => n + 1);
    };

    if (fatal) {
        return (
            <main class="center-page">
                <div class="card">
                    <h1>{t("appName")}</h1>
                    <p role="alert" class="error">{t("error", { error: fatal })}</p>
                    <button type="button" onClick={() => { clearSession(); window.location.reload(); }}>{t("signOut")}</button>
                </div>
            </main>
        );
    }
    if (starting && !client) {
        return <main class="center-page" aria-busy="true"><p class="loading">{t("loading")}</p></main>;
    }
    if (!client) return <AuthScreen route={route} onSignedIn={onSignedIn} onLang={onLangChange} />;
    return <Main client={client} route={route} password={password} onLang={onLangChange} />;
}

function waitForSync(client: MatrixClient): Promise<void> {
    if (client.isInitialSyncComplete()) return Promise.resolve();
    return new Promise((resolve) => {
        const onSync = (state: string) => {
            if (state === "PREPARED" || state === "SYNCING") {
                client.off(ClientEvent.Sync, onSync);
                resolve();
            }
        };
        client.on(ClientEvent.Sync, onSync);
    });
}

function LanguageSwitch(props: { onLang: (l: Lang) => void }) {
    return (
        <label class="lang-switch">
            <span class="sr-only">{t("language")}</span>
            <select value={lang()} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}
                aria-label={t("language")} data-testid="language">
                {Object.entries(LANGUAGES).map(([code, name]) => <option value={code}>{name}</option>)}
            </select>
        </label>
    );
}

function AuthScreen(props: { route: Route; onSignedIn: (s: Session, pw: string | null) => void; onLang: (l: Lang) => void }) {
    const inviteToken = props.route.kind === "invite" ? props.route.token : "";
    const [mode, setMode] = useState<"signin" | "signup">(
        props.route.kind === "invite" || props.route.kind === "signup" ? "signup" : "signin");
    const [username, setUsername] = useState("");
    const [password, setPassword] = useState("");
    const [password2, setPassword2] = useState("");
    const [token, setToken] = useState(inviteToken);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<string | null>(null);

    useEffect(() => {
        if (inviteToken) {
            setMode("signup");
            setToken(inviteToken);
        }
    }, [inviteToken]);

    const submit = async (e: Event) => {
        e.preventDefault();
        setError(null);
        if (mode === "signup" && password !== password2) {
            setError(t("passwordsDiffer"));
            return;
        }
        setBusy(true);
        try {
            if (mode === "signin") {
                props.onSignedIn(await login(username, password), null);
            } else {
                if (!(await tokenValid(token.trim()))) throw new ApiError(403, "M_FORBIDDEN", t("invalidToken"), {});
                props.onSignedIn(await register(username, password, token), password);
            }
        } catch (err) {
            if (err instanceof ApiError && err.errcode === "M_FORBIDDEN" && mode === "signup") setError(t("invalidToken"));
            else setError(errorText(err));
            setBusy(false);
        }
    };

    return (
        <main class="center-page">
            <form class="card auth" onSubmit={submit} data-testid={mode === "signin" ? "signin-form" : "signup-form"}>
                <div class="auth-head">
                    <h1><img src="/favicon.svg" alt="" class="logo" /> {t("appName")}</h1>
                    <LanguageSwitch onLang={props.onLang} />
                </div>
                <h2>{mode === "signin" ? t("signIn") : t("signUp")}</h2>
                {mode === "signup" && <p class="hint">{t("inviteHint")}</p>}
                <label>{t("username")}
                    <input name="username" autocomplete="username" required value={username}
                        onInput={(e) => setUsername((e.target as HTMLInputElement).value)} autofocus />
                </label>
                <label>{t("password")}
                    <input name="password" type="password" required
                        autocomplete={mode === "signin" ? "current-password" : "new-password"} value={password}
                        onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
                </label>
                {mode === "signup" && (
                    <>
                        <label>{t("passwordRepeat")}
                            <input name="password2" type="password" required autocomplete="new-password" value={password2}
                                onInput={(e) => setPassword2((e.target as HTMLInputElement).value)} />
                        </label>
                        <label>{t("inviteToken")}
                            <input name="token" required value={token} autocomplete="off"
                                onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
                        </label>
                    </>
                )}
                {error && <p role="alert" class="error">{error}</p>}
                <button type="submit" class="primary" disabled={busy}>
                    {busy ? t("signingIn") : mode === "signin" ? t("signIn") : t("signUp")}
                </button>
                <button type="button" class="link" onClick={() => { setError(null); setMode(mode === "signin" ? "signup" : "signin"); }}>
                    {mode === "signin" ? t("needAccount") : t("haveAccount")}
                </button>
            </form>
        </main>
    );
}

const UPDATE_EVENTS = [
    ClientEvent.Sync, ClientEvent.Room, ClientEvent.DeleteRoom, ClientEvent.AccountData,
    RoomEvent.Timeline, RoomEvent.Name, RoomEvent.MyMembership, RoomEvent.Receipt, RoomEvent.LocalEchoUpdated,
    RoomEvent.Redaction, RoomEvent.UnreadNotifications, RoomEvent.TimelineReset,
    RoomMemberEvent.Typing, RoomMemberEvent.Name, RoomMemberEvent.Membership,
    MatrixEventEvent.Decrypted, MatrixEventEvent.Replaced, "kith.encryption",
    CryptoEvent.UserTrustStatusChanged, CryptoEvent.DevicesUpdated, CryptoEvent.KeysChanged,
];

function Main(props: { client: MatrixClient; route: Route; password: string | null; onLang: (l: Lang) => void }) {
    const { client, route } = props;
    useClientUpdates(client, UPDATE_EVENTS);
    const [dialog, setDialog] = useState<null | "dm" | "group">(null);
    const [syncError, setSyncError] = useState(false);
    useEffect(() => {
        const onSync = (state: string) => setSyncError(state === "ERROR" || state === "RECONNECTING");
        client.on(ClientEvent.Sync, onSync);
        return () => void client.off(ClientEvent.Sync, onSync);
    }, [client]);

    const roomId = route.kind === "room" ? route.roomId : null;
    const room = roomId ? client.getRoom(roomId) : null;
    const showPane = route.kind === "room" || route.kind === "settings";
    const me = client.getUser(client.getUserId()!);
    const myName = me?.displayName || client.getUserId()!;

    return (
        <div class={`layout ${showPane ? "pane-open" : ""}`}>
            <aside class="sidebar" aria-label={t("chats")}>
                <header class="side-head">
                    <button type="button" class="me" onClick={() => navigate("settings")} aria-label={t("settings")}
                        data-testid="open-settings">
                        <Avatar client={client} mxc={me?.avatarUrl} name={myName} id={client.getUserId()!} size="s" />
                        <span class="me-name">{myName}</span>
                    </button>
                    <div class="side-actions">
                        <button type="button" class="icon" onClick={() => setDialog("dm")} aria-label={t("newChat")}
                            title={t("newChat")} data-testid="new-dm"><Icon name="chat" /></button>
                        <button type="button" class="icon" onClick={() => setDialog("group")} aria-label={t("newGroup")}
                            title={t("newGroup")} data-testid="new-group"><Icon name="group" /></button>
                    </div>
                </header>
                {syncError && <p class="offline" role="status">{t("offline")}</p>}
                <RoomList client={client} activeRoomId={roomId} />
            </aside>
            <main class="pane">
                <EncryptionBanner client={client} password={props.password} />
                {route.kind === "settings" ? <SettingsView client={client} onLang={props.onLang} />
                    : room ? <RoomView key={room.roomId} client={client} room={room} />
                        : <div class="empty-pane"><img src="/favicon.svg" alt="" class="logo-big" /><p>{t("appName")}</p></div>}
            </main>
            {dialog === "dm" && <NewChatDialog client={client} onClose={() => setDialog(null)} />}
            {dialog === "group" && <NewGroupDialog client={client} onClose={() => setDialog(null)} />}
            <VerificationHost client={client} />
        </div>
    );
}

function lastVisibleEvent(room: Room): MatrixEvent | null {
    const events = room.getLiveTimeline().getEvents();
    for (let i = events.length - 1; i >= 0; i--) {
        const ev = events[i];
        const type = ev.getType();
        if ((type === EventType.RoomMessage || type === EventType.RoomMessageEncrypted) && !ev.isRelation("m.replace")
            && !ev.isRedacted()) return ev;
    }
    return null;
}

export function isDirect(client: MatrixClient, room: Room): boolean {
    const direct = client.getAccountData(EventType.Direct)?.getContent() ?? {};
    return Object.values(direct).some((ids) => Array.isArray(ids) && ids.includes(room.roomId));
}

function RoomList(props: { client: MatrixClient; activeRoomId: string | null }) {
    const { client } = props;
    const rooms = client.getRooms()
        .filter((r) => r.getMyMembership() === KnownMembership.Join || r.getMyMembership() === KnownMembership.Invite)
        .sort((a, b) => {
            const inv = Number(b.getMyMembership() === KnownMembership.Invite) - Number(a.getMyMembership() === KnownMembership.Invite);
            return inv || b.getLastActiveTimestamp() - a.getLastActiveTimestamp();
        });
    if (!rooms.length) return <p class="hint pad">{t("noRooms")}</p>;
    return (
        <ul class="room-list" data-testid="room-list">
            {rooms.map((room) => {
                const last = lastVisibleEvent(room);
                const unread = room.getMyMembership() === KnownMembership.Join
                    ? room.getUnreadNotificationCount(NotificationCountType.Total) : 0;
                const invited = room.getMyMembership() === KnownMembership.Invite;
                const avatarMember = room.getAvatarFallbackMember();
                return (
                    <li>
                        <a href={`#/room/${encodeURIComponent(room.roomId)}`}
                            class={`room-item ${room.roomId === props.activeRoomId ? "active" : ""} ${unread ? "has-unread" : ""}`}
                            aria-current={room.roomId === props.activeRoomId ? "page" : undefined}
                            data-testid="room-item" data-room-name={room.name}>
                            <Avatar client={client} mxc={room.getMxcAvatarUrl() ?? avatarMember?.getMxcAvatarUrl()}
                                name={room.name} id={room.roomId} />
                            <span class="room-text">
                                <span class="room-name">{room.name}</span>
                                <span class="room-last">
                                    {invited ? t("invitedYou", { name: inviterName(client, room) })
                                        : last ? eventSummary(client, last, true) : ""}
                                </span>
                            </span>
                            {unread > 0 && room.roomId !== props.activeRoomId && <span class="badge" aria-label={t("unread", { count: unread })}
                                data-testid="unread">{unread}</span>}
                        </a>
                    </li>
                );
            })}
        </ul>
    );
}

export function inviterName(client: MatrixClient, room: Room): string {
    const member = room.getMember(client.getUserId()!);
    const sender = member?.events.member?.getSender();
    return sender ? room.getMember(sender)?.name ?? sender : "";
}

const ENCRYPTION_STATE = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

async function markDirect(client: MatrixClient, userId: string, roomId: string): Promise<void> {
    const direct = { ...(client.getAccountData(EventType.Direct)?.getContent() ?? {}) } as Record<string, string[]>;
    const list = new Set(direct[userId] ?? []);
    list.add(roomId);
    direct[userId] = [...list];
    await client.setAccountData(EventType.Direct, direct as any);
}

export async function joinInvite(client: MatrixClient, room: Room): Promise<void> {
    const member = room.getMember(client.getUserId()!);
    const wasDirect = member?.events.member?.getContent().is_direct;
    const inviter = member?.events.member?.getSender();
    await client.joinRoom(room.roomId);
    if (wasDirect && inviter) await markDirect(client, inviter, room.roomId);
}

function parseUserIds(text: string, client: MatrixClient): string[] {
    const server = client.getDomain();
    return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean)
        .map((s) => (s.startsWith("@") ? s : `@${s}`)).map((s) => (s.includes(":") ? s : `${s}:${server}`));
}

function NewChatDialog(props: { client: MatrixClient; onClose: () => void }) {
    const { client } = props;
    const [userId, setUserId] = useState("");
    const start = async () => {
        const [target] = parseUserIds(userId, client);
        if (!target) return;
        await client.getProfileInfo(target).catch((err) => {
            if (err?.httpStatus === 404) throw err;
        });
        const direct = (client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, string[]>;
        const existing = (direct[target] ?? []).find((id) => client.getRoom(id)?.getMyMembership() === KnownMembership.Join);
        if (existing) {
            props.onClose();
            navigate(`room/${encodeURIComponent(existing)}`);
            return;
        }
        const { room_id } = await client.createRoom({
            preset: Preset.TrustedPrivateChat, is_direct: true, invite: [target], visibility: Visibility.Private,
            initial_state: [ENCRYPTION_STATE],
        });
        await markDirect(client, target, room_id);
        props.onClose();
        navigate(`room/${encodeURIComponent(room_id)}`);
    };
    return (
        <FormDialog title={t("newChat")} onClose={props.onClose} testid="new-dm-dialog" submitLabel={t("start")} action={start}>
            <label>{t("userIdPrompt")}
                <input name="user" required value={userId} autofocus autocomplete="off"
                    onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
            </label>
            <p class="hint"><Icon name="lock" /> {t("encrypted")}</p>
        </FormDialog>
    );
}

function NewGroupDialog(props: { client: MatrixClient; onClose: () => void }) {
    const { client } = props;
    const [name, setName] = useState("");
    const [invites, setInvites] = useState("");
    const [encrypted, setEncrypted] = useState(true);
    const create = async () => {
        const { room_id } = await client.createRoom({
            name: name.trim(), preset: Preset.PrivateChat, visibility: Visibility.Private,
            invite: parseUserIds(invites, client),
            initial_state: encrypted ? [ENCRYPTION_STATE] : [],
        });
        props.onClose();
        navigate(`room/${encodeURIComponent(room_id)}`);
    };
    return (
        <FormDialog title={t("newGroup")} onClose={props.onClose} testid="new-group-dialog" submitLabel={t("create")} action={create}>
            <label>{t("groupName")}
                <input name="name" required value={name} autofocus
                    onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
            <label>{t("inviteUsers")}
                <input name="invites" value={invites} autocomplete="off"
                    onInput={(e) => setInvites((e.target as HTMLInputElement).value)} />
            </label>
            <label class="check">
                <input type="checkbox" checked={encrypted} onChange={(e) => setEncrypted((e.target as HTMLInputElement).checked)} />
                {t("encrypted")}
            </label>
        </FormDialog>
    );
}

export function InviteDialog(props: { client: MatrixClient; room: Room; onClose: () => void }) {
    const [users, setUsers] = useState("");
    const invite = async () => {
        for (const userId of parseUserIds(users, props.client)) await props.client.invite(props.room.roomId, userId);
        props.onClose();
    };
    return (
        <FormDialog title={t("invite")} onClose={props.onClose} testid="invite-dialog" submitLabel={t("invite")} action={invite}>
            <label>{t("inviteUsers")}
                <input name="users" required value={users} autofocus autocomplete="off"
                    onInput={(e) => setUsers((e.target as HTMLInputElement).value)} />
            </label>
        </FormDialog>
    );
}
