// Accounts over the plain Client-Server API: sign-up with an invitation code
// (m.login.registration_token user-interactive auth), sign-in, and the session
// kept in localStorage between page loads.

export interface Session {
    baseUrl: string;
    userId: string;
    deviceId: string;
    accessToken: string;
}

const KEY = "kith.session";

export function loadSession(): Session | null {
    try {
        const raw = localStorage.getItem(KEY);
        if (!raw) return null;
        const value = JSON.parse(raw) as Session;
        return value.accessToken && value.userId && value.deviceId ? value : null;
    } catch {
        return null;
    }
}

export function saveSession(session: Session): void {
    localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
    localStorage.removeItem(KEY);
}

export function serverUrl(): string {
    return window.location.origin;
}

export class ApiError extends Error {
    constructor(readonly status: number, readonly errcode: string, message: string, readonly data: any) {
        super(message);
    }
}

async function api(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(serverUrl() + path, {
        method,
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
        throw new ApiError(response.status, data.errcode ?? "M_UNKNOWN", data.error ?? response.statusText, data);
    }
    return data;
}

function deviceName(): string {
    const ua = navigator.userAgent;
    const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge"
        : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
    const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS/.test(ua) ? "macOS"
        : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
    return `Kith web (${browser}${os ? " on " + os : ""})`;
}

function toSession(data: any): Session {
    return { baseUrl: serverUrl(), userId: data.user_id, deviceId: data.device_id, accessToken: data.access_token };
}

export async function login(username: string, password: string): Promise<Session> {
    const user = username.trim();
    const data = await api("POST", "/_matrix/client/v3/login", {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: user.startsWith("@") ? user : user.toLowerCase() },
        password,
        initial_device_display_name: deviceName(),
    });
    return toSession(data);
}

export async function tokenValid(token: string): Promise<boolean> {
    try {
        const data = await api("GET",
            `/_matrix/client/v1/register/m.login.registration_token/validity?token=${encodeURIComponent(token)}`);
        return data.valid === true;
    } catch {
        return true; // the server does not check tokens up front; registration will tell
    }
}

/** Register with user-interactive auth: the invitation-code stage, or dummy where sign-up is open. */
export async function register(username: string, password: string, token: string): Promise<Session> {
    const body: Record<string, unknown> = {
        username: username.trim().toLowerCase(),
        password,
        initial_device_display_name: deviceName(),
    };
    let session: string | undefined;
    const done: string[] = [];
    for (let round = 0; round < 5; round++) {
        try {
            return toSession(await api("POST", "/_matrix/client/v3/register", body));
        } catch (err) {
            if (!(err instanceof ApiError) || err.status !== 401 || !err.data?.flows) throw err;
            session = err.data.session ?? session;
            const completed: string[] = err.data.completed ?? done;
            const flows: { stages: string[] }[] = err.data.flows;
            const flow = flows.find((f) => f.stages.includes("m.login.registration_token"))
                ?? flows.find((f) => f.stages.every((s) => s === "m.login.dummy"));
            if (!flow) throw new Error("This server offers no sign-up this app supports.");
            const next = flow.stages.find((s) => !completed.includes(s));
            if (!next) throw err;
            if (next === "m.login.registration_token" && done.includes(next)) {
                throw new ApiError(403, "M_FORBIDDEN", "invalid token", err.data);
            }
            body.auth = next === "m.login.registration_token"
                ? { type: next, token: token.trim(), session }
                : { type: next, session };
            done.push(next);
        }
    }
    throw new Error("Sign-up did not complete.");
}
