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
                        <button class="icon" type="button" onClick={props.onClose} aria-label={t("close")}>✕</button>
                    )}
                </div>
                {props.children}
            </div>
        </div>
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
