// Small shared pieces: re-render on client events, avatars, dialogs, media.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { MatrixClient } from "matrix-js-sdk";
import { mediaBlobUrl, type EncryptedFile } from "./client.ts";
import { t } from "./i18n.ts";

/** Re-render whenever one of the client's events fires (batched per animation frame). */
export function useClientUpdates(client: MatrixClient, events: string[]): number {
    const [tick, setTick] = useState(0);
    useEffect(() => {
        let pending = 0;
        const bump = () => {
            if (pending) return;
            pending = requestAnimationFrame(() => {
                pending = 0;
                setTick((n) => n + 1);
            });
        };
        for (const name of events) client.on(name as any, bump);
        return () => {
            for (const name of events) client.off(name as any, bump);
            if (pending) cancelAnimationFrame(pending);
        };
    }, [client]);
    return tick;
}

export function hashCode(text: string): number {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(h);
}

export function initials(name: string): string {
    const clean = name.replace(/^[@#!]/, "").trim();
    return (clean[0] ?? "?").toUpperCase();
}

export function useBlobUrl(client: MatrixClient, source: { url?: string; file?: EncryptedFile } | null,
    mimetype?: string): { url: string | null; error: boolean } {
    const [state, setState] = useState<{ url: string | null; error: boolean }>({ url: null, error: false });
    const key = source?.file?.url ?? source?.url ?? "";
    useEffect(() => {
        if (!source || !key) {
            setState({ url: null, error: false });
            return;
        }
        let live = true;
        mediaBlobUrl(client, source, mimetype).then(
            (url) => live && setState({ url, error: false }),
            () => live && setState({ url: null, error: true }),
        );
        return () => {
            live = false;
        };
    }, [key]);
    return state;
}

export function Avatar(props: { client: MatrixClient; mxc?: string | null; name: string; id: string; size?: "s" | "m" | "l" }) {
    const { url } = useBlobUrl(props.client, props.mxc ? { url: props.mxc } : null);
    const cls = `avatar avatar-${props.size ?? "m"} c${hashCode(props.id) % 8}`;
    if (url) return <img class={cls} src={url} alt="" aria-hidden="true" />;
    return <span class={cls} aria-hidden="true">{initials(props.name)}</span>;
}

export function Dialog(props: { title: string; onClose?: () => void; children: ComponentChildren; testid?: string }) {
    const ref = useRef<HTMLDivElement>(null);
    useEffect(() => {
        const previous = document.activeElement as HTMLElement | null;
        const first = ref.current?.querySelector<HTMLElement>("[autofocus], input, textarea, select, button");
        first?.focus();
        return () => previous?.focus?.();
    }, []);
    const onKey = (e: KeyboardEvent) => {
        if (e.key === "Escape" && props.onClose) {
            e.stopPropagation();
            props.onClose();
        }
        if (e.key === "Tab" && ref.current) {
            // Keep keyboard focus inside the dialog.
            const items = [...ref.current.querySelectorAll<HTMLElement>("button, input, textarea, select, a[href], [tabindex='0']")]
                .filter((el) => !el.hasAttribute("disabled"));
            if (!items.length) return;
            const first = items[0], last = items[items.length - 1];
            if (e.shiftKey && document.activeElement === first) {
                e.preventDefault();
                last.focus();
            } else if (!e.shiftKey && document.activeElement === last) {
                e.preventDefault();
                first.focus();
            }
        }
    };
    return (
        <div class="backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose?.()}>
            <div class="dialog" role="dialog" aria-modal="true" aria-label={props.title} ref={ref} onKeyDown={onKey}
                data-testid={props.testid}>
                <div class="dialog-head">
                    <h2>{props.title}</h2>
                    {props.onClose && (
                        <button class="icon" type="button" onClick={props.onClose} aria-label={t("close")}><Icon name="close" /></button>
                    )}
                </div>
                {props.children}
            </div>
        </div>
    );
}

/** A dialog around a form: runs `action` on submit with a busy state, shows
 * its error and keeps the dialog open if it fails; Cancel and submit buttons. */
export function FormDialog(props: {
    title: string; testid: string; submitLabel: string; onClose: () => void;
    action: () => Promise<void>; children: ComponentChildren;
}) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<string | null>(null);
    const submit = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
            await props.action();
        } catch (err) {
            setError(errorText(err));
        }
        setBusy(false);
    };
    return (
        <Dialog title={props.title} onClose={props.onClose} testid={props.testid}>
            <form onSubmit={submit} class="stack">
                {props.children}
                {error && <p role="alert" class="error">{error}</p>}
                <div class="row end">
                    <button type="button" onClick={props.onClose}>{t("cancel")}</button>
                    <button type="submit" class="primary" disabled={busy}>{props.submitLabel}</button>
                </div>
            </form>
        </Dialog>
    );
}

export function errorText(err: unknown): string {
    if (err && typeof err === "object") {
        const anyErr = err as any;
        return anyErr.data?.error ?? anyErr.message ?? String(err);
    }
    return String(err);
}

export function formatDuration(ms: number): string {
    const total = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export function formatSize(bytes?: number): string {
    if (bytes === undefined) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// Line icons (24×24, drawn with strokes), so the interface does not depend on emoji fonts.
const ICONS: Record<string, string> = {
    chat: "M4 5h16v11H9l-5 4z",
    group: "M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM3 19c0-3 3-5 6-5s6 2 6 5M16 5a3 3 0 0 1 0 6M18 14c2 .5 3 2.5 3 5",
    attach: "M20 11l-8 8a5 5 0 0 1-7-7l8-8a3.5 3.5 0 0 1 5 5l-8 8a2 2 0 0 1-3-3l7-7",
    mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
    smile: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8 14c1 1.5 2.5 2 4 2s3-.5 4-2M9 9.5h.01M15 9.5h.01",
    reply: "M10 8L5 12l5 4M5 12h9a5 5 0 0 1 5 5v1",
    edit: "M4 20h4L19 9l-4-4L4 16zM13 7l4 4",
    invite: "M10 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM3 20c0-3.5 3-6 7-6s7 2.5 7 6M19 8v6M16 11h6",
    leave: "M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10",
    back: "M15 5l-7 7 7 7",
    close: "M6 6l12 12M18 6L6 18",
    lock: "M6 11h12v9H6zM8.5 11V8a3.5 3.5 0 0 1 7 0v3",
    warn: "M12 4l9 16H3zM12 10v4M12 17h.01",
    key: "M8 15a4 4 0 1 1 3.5-6H21v3h-2v3h-3v-3h-4.5A4 4 0 0 1 8 15z",
    check: "M5 12l5 5L20 7",
    file: "M6 3h8l4 4v14H6zM14 3v4h4",
    send: "M4 12l16-8-6 16-2-7z",
};

export function Icon(props: { name: keyof typeof ICONS | string; label?: string }) {
    return (
        <svg class="icon-svg" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.8"
            stroke-linecap="round" stroke-linejoin="round" aria-hidden={props.label ? undefined : "true"}
            role={props.label ? "img" : undefined} aria-label={props.label}>
            <path d={ICONS[props.name] ?? ""} />
        </svg>
    );
}
