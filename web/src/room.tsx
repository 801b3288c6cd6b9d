// One room: header, timeline (scroll-back, day separators, senders, replies,
// edits, reactions, media, receipts) and the composer.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { EventType, KnownMembership, MsgType, RelationType, type MatrixClient, type MatrixEvent, type Room,
    type RoomMember } from "matrix-js-sdk";
import { CryptoEvent, EventShieldColour, EventShieldReason } from "matrix-js-sdk/lib/crypto-api/index.js";
import { isEncryptedRoom, uploadFile, type EncryptedFile } from "./client.ts";
import { lang, t } from "./i18n.ts";
import { Avatar, Dialog, Icon, errorText, formatDuration, formatSize, useBlobUrl } from "./ui.tsx";
import { InviteDialog, inviterName, joinInvite, navigate } from "./app.tsx";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"];

function senderName(room: Room | null, event: MatrixEvent): string {
    const id = event.getSender() ?? "";
    return room?.getMember(id)?.name ?? event.sender?.name ?? id;
}

function stripReplyFallback(body: string): string {
    if (!body.startsWith("> ")) return body;
    const lines = body.split("\n");
    let i = 0;
    while (i < lines.length && lines[i].startsWith("> ")) i++;
    if (lines[i] === "") i++;
    return lines.slice(i).join("\n");
}

/** One line describing an event, for the room list and reply previews. */
export function eventSummary(client: MatrixClient, event: MatrixEvent, withSender: boolean): string {
    const room = client.getRoom(event.getRoomId()!);
    let text: string;
    if (event.isDecryptionFailure() || event.getType() === EventType.RoomMessageEncrypted) text = t("undecryptable").split(".")[0];
    else {
        const content = event.getContent();
        switch (content.msgtype) {
            case MsgType.Image: text = t("image"); break;
            case MsgType.File: text = `${t("file")}: ${content.body ?? ""}`; break;
            case MsgType.Audio: text = content["org.matrix.msc3245.voice"] ? t("voiceMessage") : t("audio"); break;
            case MsgType.Video: text = t("video"); break;
            default: text = stripReplyFallback(String(content.body ?? ""));
        }
    }
    if (!withSender) return text;
    const who = event.getSender() === client.getUserId() ? t("you") : senderName(room, event);
    return `${who}: ${text}`;
}

function isShown(event: MatrixEvent): boolean {
    const type = event.getType();
    if (event.isRelation(RelationType.Replace)) return false;
    if (type === EventType.RoomMessage || type === EventType.RoomMessageEncrypted) return !event.isRedacted();
    if (type === EventType.RoomMember || type === EventType.RoomCreate || type === EventType.RoomName
        || type === EventType.RoomEncryption) return true;
    return false;
}

function dayLabel(ts: number): string {
    const date = new Date(ts);
    const today = new Date();
    const yesterday = new Date(Date.now() - 86400000);
    if (date.toDateString() === today.toDateString()) return t("today");
    if (date.toDateString() === yesterday.toDateString()) return t("yesterday");
    return date.toLocaleDateString(lang(), { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

function timeLabel(ts: number): string {
    return new Date(ts).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit" });
}

export function RoomView(props: { client: MatrixClient; room: Room }) {
    const { client, room } = props;
    const [replyTo, setReplyTo] = useState<MatrixEvent | null>(null);
    const [editing, setEditing] = useState<MatrixEvent | null>(null);
    const [dialog, setDialog] = useState<null | "invite" | "leave">(null);
    const encrypted = isEncryptedRoom(client, room.roomId);
    const membership = room.getMyMembership();
    useEffect(() => {
        room.loadMembersIfNeeded().catch(() => undefined);
    }, [room.roomId, membership]);
    useEffect(() => {
        const bump = () => { trustEpoch++; };
        const names = [CryptoEvent.UserTrustStatusChanged, CryptoEvent.DevicesUpdated, CryptoEvent.KeysChanged];
        for (const name of names) client.on(name as any, bump);
        return () => { for (const name of names) client.off(name as any, bump); };
    }, [client]);

    if (membership === KnownMembership.Invite) {
        return (
            <section class="room">
                <RoomHeader client={client} room={room} encrypted={encrypted} />
                <div class="invite-card card">
                    <Avatar client={client} mxc={room.getMxcAvatarUrl()} name={room.name} id={room.roomId} size="l" />
                    <p>{t("invitedYou", { name: inviterName(client, room) })}</p>
                    <div class="row">
                        <button type="button" class="primary" data-testid="accept-invite"
                            onClick={() => joinInvite(client, room).catch((e) => alert(errorText(e)))}>{t("accept")}</button>
                        <button type="button" onClick={() => client.leave(room.roomId).then(() => navigate(""))}>{t("decline")}</button>
                    </div>
                </div>
            </section>
        );
    }

    return (
        <section class="room" aria-label={room.name}>
            <RoomHeader client={client} room={room} encrypted={encrypted}
                onInvite={() => setDialog("invite")} onLeave={() => setDialog("leave")} />
            <Timeline client={client} room={room} onReply={(ev) => { setEditing(null); setReplyTo(ev); }}
                onEdit={(ev) => { setReplyTo(null); setEditing(ev); }} />
            <TypingLine client={client} room={room} />
            <Composer client={client} room={room} encrypted={encrypted} replyTo={replyTo} editing={editing}
                onDone={() => { setReplyTo(null); setEditing(null); }} onEdit={(ev) => setEditing(ev)} />
            {dialog === "invite" && <InviteDialog client={client} room={room} onClose={() => setDialog(null)} />}
            {dialog === "leave" && (
                <Dialog title={t("leave")} onClose={() => setDialog(null)}>
                    <p>{t("leaveConfirm")}</p>
                    <div class="row end">
                        <button type="button" onClick={() => setDialog(null)}>{t("cancel")}</button>
                        <button type="button" class="danger" data-testid="confirm-leave"
                            onClick={async () => { await client.leave(room.roomId); setDialog(null); navigate(""); }}>{t("leave")}</button>
                    </div>
                </Dialog>
            )}
        </section>
    );
}

function RoomHeader(props: { client: MatrixClient; room: Room; encrypted: boolean; onInvite?: () => void; onLeave?: () => void }) {
    const { client, room } = props;
    const members = room.getJoinedMemberCount();
    return (
        <header class="room-head">
            <button type="button" class="icon back" onClick={() => navigate("")} aria-label={t("back")}><Icon name="back" /></button>
            <Avatar client={client} mxc={room.getMxcAvatarUrl() ?? room.getAvatarFallbackMember()?.getMxcAvatarUrl()}
                name={room.name} id={room.roomId} />
            <div class="room-title">
                <h2 data-testid="room-title">{room.name}</h2>
                <span class="hint">{props.encrypted && <><Icon name="lock" /> {t("encrypted")} · </>}{members} {t("members")}</span>
            </div>
            {props.onInvite && <button type="button" class="icon" onClick={props.onInvite} aria-label={t("invite")}
                title={t("invite")} data-testid="invite"><Icon name="invite" /></button>}
            {props.onLeave && <button type="button" class="icon" onClick={props.onLeave} aria-label={t("leave")}
                title={t("leave")} data-testid="leave"><Icon name="leave" /></button>}
        </header>
    );
}

function TypingLine(props: { client: MatrixClient; room: Room }) {
    const typing = props.room.getMembers().filter((m) => m.typing && m.userId !== props.client.getUserId());
    const text = typing.length === 0 ? "" : typing.length === 1 ? t("typing1", { a: typing[0].name })
        : typing.length === 2 ? t("typing2", { a: typing[0].name, b: typing[1].name }) : t("typingMany");
    return <div class="typing" aria-live="polite" data-testid="typing">{text}</div>;
}

function Timeline(props: { client: MatrixClient; room: Room; onReply: (e: MatrixEvent) => void; onEdit: (e: MatrixEvent) => void }) {
    const { client, room } = props;
    const scroller = useRef<HTMLDivElement>(null);
    const inner = useRef<HTMLDivElement>(null);
    const atBottom = useRef(true);
    const prevHeight = useRef(0);
    const [loading, setLoading] = useState(false);
    const [atStart, setAtStart] = useState(false);
    const events = room.getLiveTimeline().getEvents();
    const shown = events.filter(isShown);
    const lastId = events.length ? events[events.length - 1].getId() : "";

    // Keep the view pinned to the newest message, or steady while older ones load above.
    useLayoutEffect(() => {
        const el = scroller.current;
        if (!el) return;
        if (atBottom.current) el.scrollTop = el.scrollHeight;
        else if (prevHeight.current && el.scrollHeight > prevHeight.current && el.scrollTop < 50) {
            el.scrollTop += el.scrollHeight - prevHeight.current;
        }
        prevHeight.current = el.scrollHeight;
    });

    // Media loads after layout: stay pinned to the bottom while it grows.
    useEffect(() => {
        if (!inner.current || typeof ResizeObserver === "undefined") return;
        const observer = new ResizeObserver(() => {
            const el = scroller.current;
            if (el && atBottom.current) el.scrollTop = el.scrollHeight;
        });
        observer.observe(inner.current);
        return () => observer.disconnect();
    }, []);

    const loadOlder = async () => {
        if (loading || atStart) return;
        setLoading(true);
        try {
            const before = room.getLiveTimeline().getEvents().length;
            await client.scrollback(room, 30);
            const token = room.getLiveTimeline().getPaginationToken("b" as any);
            if (room.getLiveTimeline().getEvents().length === before || !token) setAtStart(true);
        } finally {
            setLoading(false);
        }
    };

    useEffect(() => {
        // Fill the screen: fetch older events while there is nothing to scroll.
        const el = scroller.current;
        if (el && el.scrollHeight <= el.clientHeight + 20 && !atStart && !loading) void loadOlder();
    });

    // Read receipt for the newest event while the room is open and the window visible.
    useEffect(() => {
        const me = client.getUserId()!;
        const markRead = () => {
            const last = [...room.getLiveTimeline().getEvents()].reverse().find((e) => !e.status && e.getId()?.startsWith("$"));
            if (!last || document.visibilityState !== "visible") return;
            if (last.getSender() === me || room.getEventReadUpTo(me) === last.getId()) return;
            client.sendReadReceipt(last).catch(() => undefined);
        };
        markRead();
        document.addEventListener("visibilitychange", markRead);
        return () => document.removeEventListener("visibilitychange", markRead);
    }, [lastId]);

    const onScroll = () => {
        const el = scroller.current!;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        prevHeight.current = el.scrollHeight;
        if (el.scrollTop < 200) void loadOlder();
    };

    // Who has read up to which event (shown under that event).
    const readers = new Map<string, RoomMember[]>();
    for (const member of room.getJoinedMembers()) {
        if (member.userId === client.getUserId()) continue;
        const upTo = room.getEventReadUpTo(member.userId);
        if (upTo) readers.set(upTo, [...(readers.get(upTo) ?? []), member]);
    }
    // Attach readers of hidden events to the previous shown event.
    const shownIds = new Set(shown.map((e) => e.getId()));
    let carry: RoomMember[] = [];
    const readersShown = new Map<string, RoomMember[]>();
    for (let i = events.length - 1; i >= 0; i--) {
        const id = events[i].getId()!;
        carry = [...carry, ...(readers.get(id) ?? [])];
        if (shownIds.has(id) && carry.length) {
            readersShown.set(id, carry);
            carry = [];
        }
    }

    let lastDay = "";
    let lastSender = "";
    let lastTs = 0;
    return (
        <div class="timeline" ref={scroller} onScroll={onScroll} role="log" aria-live="polite" data-testid="timeline" tabIndex={0}>
          <div class="timeline-inner" ref={inner}>
            {loading && <p class="hint center">{t("loadOlder")}</p>}
            {atStart && <p class="hint center">{t("startOfChat")}</p>}
            {!shown.length && !loading && <p class="hint center">{t("noMessages")}</p>}
            {shown.map((event) => {
                const ts = event.getTs();
                const day = new Date(ts).toDateString();
                const separator = day !== lastDay ? <div class="day-sep" role="separator" data-testid="day-separator"><span>{dayLabel(ts)}</span></div> : null;
                const isMessage = event.getType() === EventType.RoomMessage || event.getType() === EventType.RoomMessageEncrypted;
                const continued = isMessage && !separator && lastSender === event.getSender() && ts - lastTs < 5 * 60000;
                lastDay = day;
                lastSender = isMessage ? event.getSender() ?? "" : "";
                lastTs = ts;
                return (
                    <>
                        {separator}
                        {isMessage
                            ? <MessageTile client={client} room={room} event={event} continued={continued}
                                readers={readersShown.get(event.getId()!) ?? []} onReply={props.onReply} onEdit={props.onEdit} />
                            : <StateTile client={client} room={room} event={event} />}
                    </>
                );
            })}
          </div>
        </div>
    );
}

function StateTile(props: { client: MatrixClient; room: Room; event: MatrixEvent }) {
    const { room, event } = props;
    const name = senderName(room, event);
    const content = event.getContent();
    let text = "";
    switch (event.getType()) {
        case EventType.RoomCreate: text = t("roomCreated", { name }); break;
        case EventType.RoomEncryption: return <div class="state-event"><Icon name="lock" /> {t("roomEncryption")}</div>;
        case EventType.RoomName: text = t("roomNamed", { name, room: content.name ?? "" }); break;
        case EventType.RoomMember: {
            const target = content.displayname ?? event.getStateKey() ?? "";
            const prev = event.getPrevContent().membership;
            if (content.membership === "join" && prev === "join") text = t("memberOther", { name: target });
            else if (content.membership === "join") text = t("memberJoined", { name: target });
            else if (content.membership === "invite") text = t("memberInvited", { name, target });
            else if (content.membership === "leave") text = t("memberLeft", { name: room.getMember(event.getStateKey()!)?.name ?? event.getStateKey()! });
            else return null;
        }
    }
    return <div class="state-event">{text}</div>;
}

// Bumped when anyone's keys or trust change, so message shields are looked up again.
let trustEpoch = 0;

function useEncryptionWarning(client: MatrixClient, event: MatrixEvent): string | null {
    const [warning, setWarning] = useState<string | null>(null);
    const decrypted = event.isEncrypted() && !event.isDecryptionFailure() && !event.isBeingDecrypted();
    useEffect(() => {
        if (!decrypted) return;
        let live = true;
        client.getCrypto()?.getEncryptionInfoForEvent(event).then((info) => {
            if (!live) return;
            if (!info || info.shieldColour === EventShieldColour.NONE) setWarning(null);
            else if (info.shieldReason === EventShieldReason.AUTHENTICITY_NOT_GUARANTEED) setWarning(t("authenticityUnknown"));
            else if (info.shieldReason === EventShieldReason.UNKNOWN_DEVICE) setWarning(t("unknownDevice"));
            else setWarning(t("unverifiedSender"));
        }).catch(() => undefined);
        return () => { live = false; };
    }, [decrypted, event.getId(), trustEpoch]);
    return warning;
}

function MessageTile(props: {
    client: MatrixClient; room: Room; event: MatrixEvent; continued: boolean; readers: RoomMember[];
    onReply: (e: MatrixEvent) => void; onEdit: (e: MatrixEvent) => void;
}) {
    const { client, room, event } = props;
    const [picker, setPicker] = useState(false);
    const mine = event.getSender() === client.getUserId();
    const warning = useEncryptionWarning(client, event);
    const failed = event.isDecryptionFailure();
    const pendingDecrypt = event.getType() === EventType.RoomMessageEncrypted && !failed;
    const content = event.getContent();
    const replyId = event.getWireContent()["m.relates_to"]?.["m.in_reply_to"]?.event_id ?? content["m.relates_to"]?.["m.in_reply_to"]?.event_id;
    const replyEvent = replyId ? room.findEventById(replyId) : undefined;
    const member = room.getMember(event.getSender()!);
    const name = senderName(room, event);
    const annotations = event.getId() ? room.relations.getChildEventsForEvent(event.getId()!, RelationType.Annotation, EventType.Reaction)
        ?.getSortedAnnotationsByKey() ?? [] : [];
    const canEdit = mine && !failed && !pendingDecrypt && (content.msgtype === MsgType.Text || content.msgtype === MsgType.Emote);

    const toggleReaction = async (key: string) => {
        setPicker(false);
        const existing = annotations.find(([k]) => k === key)?.[1];
        const own = existing ? [...existing].find((e) => e.getSender() === client.getUserId() && !e.isRedacted()) : undefined;
        if (own) await client.redactEvent(room.roomId, own.getId()!);
        else await client.sendEvent(room.roomId, EventType.Reaction, {
            "m.relates_to": { rel_type: RelationType.Annotation, event_id: event.getId()!, key },
        } as any);
    };

    return (
        <article class={`msg ${mine ? "mine" : ""} ${props.continued ? "continued" : ""} ${event.status ? "pending" : ""}`}
            data-testid="message" data-event-id={event.getId()} data-sender={event.getSender()} tabIndex={0}
            aria-label={`${name}, ${timeLabel(event.getTs())}`}>
            <div class="msg-avatar">
                {!props.continued && <Avatar client={client} mxc={member?.getMxcAvatarUrl()} name={name} id={event.getSender()!} />}
            </div>
            <div class="msg-main">
                {!props.continued && (
                    <div class="msg-head">
                        <span class="sender" data-testid="sender">{name}</span>
                        <time dateTime={new Date(event.getTs()).toISOString()}>{timeLabel(event.getTs())}</time>
                    </div>
                )}
                {replyId && (
                    <blockquote class="reply-quote" data-testid="reply-quote">
                        <span class="sender">{replyEvent ? senderName(room, replyEvent) : ""}</span>
                        <span>{replyEvent ? eventSummary(client, replyEvent, false) : "…"}</span>
                    </blockquote>
                )}
                {failed || pendingDecrypt ? (
                    <p class="body undecryptable" data-testid="undecryptable" title={t("undecryptable")}>
                        <Icon name="lock" /> {t("undecryptable").split(".")[0]}.</p>
                ) : (
                    <MessageBody client={client} event={event} />
                )}
                {event.replacingEventId() && <span class="edited" data-testid="edited">{t("edited")}</span>}
                {warning && <span class="warn" title={warning} data-testid="unverified-warning"><Icon name="warn" /> {warning}</span>}
                {annotations.length > 0 && (
                    <div class="reactions" data-testid="reactions">
                        {annotations.map(([key, set]) => {
                            const live = [...set].filter((e) => !e.isRedacted());
                            if (!live.length) return null;
                            const mineToo = live.some((e) => e.getSender() === client.getUserId());
                            return (
                                <button type="button" class={`reaction ${mineToo ? "own" : ""}`} aria-pressed={mineToo}
                                    title={live.map((e) => senderName(room, e)).join(", ")} onClick={() => toggleReaction(key)}
                                    data-testid="reaction">
                                    {key} <span>{live.length}</span>
                                </button>
                            );
                        })}
                    </div>
                )}
                {props.readers.length > 0 && (
                    <div class="readers" title={t("seenBy", { names: props.readers.map((m) => m.name).join(", ") })}
                        data-testid="read-receipts">
                        {props.readers.slice(0, 5).map((m) => <Avatar client={client} mxc={m.getMxcAvatarUrl()} name={m.name} id={m.userId} size="s" />)}
                        <span class="sr-only">{t("seenBy", { names: props.readers.map((m) => m.name).join(", ") })}</span>
                    </div>
                )}
            </div>
            {!event.status && event.getId()?.startsWith("$") && (
                <div class="msg-actions" role="toolbar" aria-label={t("messageActions")}>
                    <button type="button" class="icon" onClick={() => setPicker(!picker)} aria-label={t("react")}
                        title={t("react")} data-testid="react"><Icon name="smile" /></button>
                    <button type="button" class="icon" onClick={() => props.onReply(event)} aria-label={t("reply")}
                        title={t("reply")} data-testid="reply"><Icon name="reply" /></button>
                    {canEdit && <button type="button" class="icon" onClick={() => props.onEdit(event)} aria-label={t("edit")}
                        title={t("edit")} data-testid="edit"><Icon name="edit" /></button>}
                </div>
            )}
            {picker && (
                <div class="picker" role="menu" aria-label={t("emojiPicker")}>
                    {QUICK_REACTIONS.map((key) => (
                        <button type="button" role="menuitem" class="icon" onClick={() => toggleReaction(key)}
                            data-testid={`pick-${key}`}>{key}</button>
                    ))}
                </div>
            )}
        </article>
    );
}

function mediaSource(content: any): { url?: string; file?: EncryptedFile } | null {
    if (content.file?.url) return { file: content.file };
    if (typeof content.url === "string") return { url: content.url };
    return null;
}

function MessageBody(props: { client: MatrixClient; event: MatrixEvent }) {
    const content = props.event.getContent();
    switch (content.msgtype) {
        case MsgType.Image: return <ImageBody client={props.client} content={content} />;
        case MsgType.Audio: return <AudioBody client={props.client} content={content} />;
        case MsgType.File:
        case MsgType.Video: return <FileBody client={props.client} content={content} />;
        case MsgType.Emote: return <p class="body emote" data-testid="body">* {content.body}</p>;
        default: return <p class="body" data-testid="body">{stripReplyFallback(String(content.body ?? ""))}</p>;
    }
}

function ImageBody(props: { client: MatrixClient; content: any }) {
    const { content } = props;
    const { url, error } = useBlobUrl(props.client, mediaSource(content), content.info?.mimetype);
    const w = content.info?.w, h = content.info?.h;
    if (error) return <p class="body hint">{t("mediaFailed")}</p>;
    if (!url) return <div class="img-placeholder" aria-busy="true">{t("loadingMedia")}</div>;
    return (
        <a href={url} target="_blank" rel="noopener" class="img-link">
            <img class="msg-image" src={url} alt={content.body ?? t("image")} width={w} height={h} data-testid="image" />
        </a>
    );
}

function FileBody(props: { client: MatrixClient; content: any }) {
    const { content } = props;
    const [want, setWant] = useState(false);
    const { url, error } = useBlobUrl(props.client, want ? mediaSource(content) : null, content.info?.mimetype);
    const linkRef = useRef<HTMLAnchorElement>(null);
    useEffect(() => {
        if (url && want) linkRef.current?.click();
    }, [url]);
    return (
        <div class="file-card" data-testid="file">
            <span class="file-icon"><Icon name="file" /></span>
            <span class="file-meta">
                <span class="file-name" data-testid="file-name">{content.body}</span>
                <span class="hint">{formatSize(content.info?.size)}</span>
            </span>
            {url ? <a ref={linkRef} href={url} download={content.body} class="button" data-testid="file-download">{t("download")}</a>
                : <button type="button" onClick={() => setWant(true)} data-testid="file-download">{want && !error ? t("loadingMedia") : t("download")}</button>}
            {error && <span class="error">{t("mediaFailed")}</span>}
        </div>
    );
}

function AudioBody(props: { client: MatrixClient; content: any }) {
    const { content } = props;
    const { url, error } = useBlobUrl(props.client, mediaSource(content), content.info?.mimetype);
    const duration = content.info?.duration ?? content["org.matrix.msc1767.audio"]?.duration;
    const voice = !!content["org.matrix.msc3245.voice"];
    return (
        <div class="audio-card" data-testid={voice ? "voice" : "audio"}>
            <Icon name="mic" />
            <span class="hint">{voice ? t("voiceMessage") : content.body}{duration ? ` · ${formatDuration(duration)}` : ""}</span>
            {url ? <audio controls src={url} preload="metadata" data-testid="audio-player" />
                : error ? <span class="error">{t("mediaFailed")}</span> : <span class="hint">{t("loadingMedia")}</span>}
        </div>
    );
}

interface Upload { id: number; name: string; progress: number; error?: string }

function Composer(props: {
    client: MatrixClient; room: Room; encrypted: boolean; replyTo: MatrixEvent | null; editing: MatrixEvent | null;
    onDone: () => void; onEdit: (e: MatrixEvent) => void;
}) {
    const { client, room } = props;
    const [text, setText] = useState("");
    const [uploads, setUploads] = useState<Upload[]>([]);
    const [preview, setPreview] = useState<{ file: File; url: string } | null>(null);
    const [recording, setRecording] = useState<{ started: number; recorder: MediaRecorder; chunks: Blob[] } | null>(null);
    const [, setNow] = useState(0);
    const input = useRef<HTMLTextAreaElement>(null);
    const fileInput = useRef<HTMLInputElement>(null);
    const lastTyping = useRef(0);

    // A layout effect, not a plain one: the draft must hold the message being
    // edited before the "Editing" bar is on screen. A deferred effect could
    // land after the user has already typed the new text and overwrite it.
    useLayoutEffect(() => {
        if (props.editing) {
            setText(String(props.editing.getContent().body ?? ""));
        }
        input.current?.focus();
    }, [props.editing, props.replyTo]);

    useEffect(() => {
        if (!recording) return;
        const timer = setInterval(() => setNow(Date.now()), 250);
        return () => clearInterval(timer);
    }, [recording]);

    const setTyping = (typing: boolean) => {
        const now = Date.now();
        if (typing && now - lastTyping.current < 3000) return;
        lastTyping.current = typing ? now : 0;
        client.sendTyping(room.roomId, typing, 5000).catch(() => undefined);
    };

    const relation = () => props.replyTo ? { "m.relates_to": { "m.in_reply_to": { event_id: props.replyTo.getId()! } } } : {};

    const send = async () => {
        const body = text.trim();
        if (!body) return;
        setText("");
        setTyping(false);
        const editing = props.editing;
        const extra = relation();
        props.onDone();
        if (editing) {
            await client.sendMessage(room.roomId, {
                msgtype: MsgType.Text, body: `* ${body}`,
                "m.new_content": { msgtype: MsgType.Text, body },
                "m.relates_to": { rel_type: RelationType.Replace, event_id: editing.getId()! },
            } as any);
        } else {
            await client.sendMessage(room.roomId, { msgtype: MsgType.Text, body, ...extra } as any);
        }
    };

    const onKeyDown = (e: KeyboardEvent) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void send();
        } else if (e.key === "Escape" && (props.editing || props.replyTo)) {
            setText("");
            props.onDone();
        } else if (e.key === "ArrowUp" && !text) {
            const mine = [...room.getLiveTimeline().getEvents()].reverse().find((ev) =>
                ev.getSender() === client.getUserId() && ev.getType() === EventType.RoomMessage
                && !ev.isRelation(RelationType.Replace) && ev.getContent().msgtype === MsgType.Text && !ev.status);
            if (mine) {
                e.preventDefault();
                props.onEdit(mine);
            }
        }
    };

    const startUpload = async (blob: Blob, name: string, content: (source: { url?: string; file?: EncryptedFile }) => any) => {
        const id = Date.now() + Math.random();
        setUploads((u) => [...u, { id, name, progress: 0 }]);
        const extra = relation();
        props.onDone();
        try {
            const source = await uploadFile(client, blob, name, props.encrypted, (progress) =>
                setUploads((u) => u.map((x) => (x.id === id ? { ...x, progress } : x))));
            await client.sendMessage(room.roomId, { ...content(source), ...extra });
            setUploads((u) => u.filter((x) => x.id !== id));
        } catch (err) {
            setUploads((u) => u.map((x) => (x.id === id ? { ...x, error: errorText(err) } : x)));
        }
    };

    const sendImage = async (file: File) => {
        const url = preview?.url ?? URL.createObjectURL(file);
        const size = await new Promise<{ w: number; h: number }>((resolve) => {
            const img = new Image();
            img.onload = () => resolve({ w: img.naturalWidth, h: img.naturalHeight });
            img.onerror = () => resolve({ w: 0, h: 0 });
            img.src = url;
        });
        setPreview(null);
        await startUpload(file, file.name, (source) => ({
            msgtype: MsgType.Image, body: file.name, ...source,
            info: { mimetype: file.type, size: file.size, ...(size.w ? size : {}) },
        }));
    };

    const sendFile = (file: File) => startUpload(file, file.name, (source) => ({
        msgtype: MsgType.File, body: file.name, filename: file.name, ...source,
        info: { mimetype: file.type || "application/octet-stream", size: file.size },
    }));

    const onFile = (e: Event) => {
        const target = e.target as HTMLInputElement;
        const file = target.files?.[0];
        target.value = "";
        if (!file) return;
        if (file.type.startsWith("image/")) setPreview({ file, url: URL.createObjectURL(file) });
        else void sendFile(file);
    };

    const startRecording = async () => {
        try {
            const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
            const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"]
                .find((m) => MediaRecorder.isTypeSupported(m));
            const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
            const chunks: Blob[] = [];
            recorder.ondataavailable = (ev) => ev.data.size && chunks.push(ev.data);
            recorder.start(250);
            setRecording({ started: Date.now(), recorder, chunks });
        } catch (err) {
            setUploads((u) => [...u, { id: Date.now(), name: t("voiceMessage"), progress: 0, error: errorText(err) }]);
        }
    };

    const stopRecording = (sendIt: boolean) => {
        if (!recording) return;
        const { recorder, chunks, started } = recording;
        setRecording(null);
        recorder.onstop = () => {
            recorder.stream.getTracks().forEach((track) => track.stop());
            if (!sendIt) return;
            const duration = Date.now() - started;
            const mimetype = (recorder.mimeType || "audio/webm").split(";")[0];
            const blob = new Blob(chunks, { type: mimetype });
            const ext = mimetype.includes("ogg") ? "ogg" : mimetype.includes("mp4") ? "m4a" : "webm";
            const name = `voice-message.${ext}`;
            void startUpload(blob, name, (source) => ({
                msgtype: MsgType.Audio, body: t("voiceMessage"), filename: name, ...source,
                info: { mimetype, size: blob.size, duration },
                "org.matrix.msc1767.audio": { duration, waveform: [] },
                "org.matrix.msc3245.voice": {},
            }));
        };
        recorder.stop();
    };

    return (
        <div class="composer-wrap">
            {uploads.map((u) => (
                <div class="upload" data-testid="upload">
                    <span>{u.error ? t("uploadFailed", { error: u.error }) : t("uploading", { name: u.name })}</span>
                    {!u.error && <progress max={1} value={u.progress} data-testid="upload-progress" />}
                    {u.error && <button type="button" class="icon" aria-label={t("dismiss")}
                        onClick={() => setUploads((all) => all.filter((x) => x.id !== u.id))}><Icon name="close" /></button>}
                </div>
            ))}
            {(props.replyTo || props.editing) && (
                <div class="composer-context" data-testid="composer-context">
                    <span>{props.editing ? t("editing") : t("replyingTo", { name: senderName(room, props.replyTo!) })}</span>
                    <span class="hint ellipsis">{eventSummary(client, (props.editing ?? props.replyTo)!, false)}</span>
                    <button type="button" class="icon" aria-label={t("cancel")} onClick={() => { setText(""); props.onDone(); }}><Icon name="close" /></button>
                </div>
            )}
            {recording ? (
                <div class="composer recording" data-testid="recording">
                    <span class="rec-dot" aria-hidden="true" />
                    <span>{t("recording", { time: formatDuration(Date.now() - recording.started) })}</span>
                    <button type="button" onClick={() => stopRecording(false)}>{t("cancel")}</button>
                    <button type="button" class="primary" onClick={() => stopRecording(true)} data-testid="stop-recording">{t("stopRecording")}</button>
                </div>
            ) : (
                <form class="composer" onSubmit={(e) => { e.preventDefault(); void send(); }}>
                    <button type="button" class="icon" onClick={() => fileInput.current?.click()} aria-label={t("attach")}
                        title={t("attach")} data-testid="attach"><Icon name="attach" /></button>
                    <input type="file" ref={fileInput} class="hidden" onChange={onFile} data-testid="file-input" tabIndex={-1} />
                    <textarea ref={input} rows={1} value={text} placeholder={t("typeMessage")} aria-label={t("typeMessage")}
                        data-testid="composer"
                        onInput={(e) => { const v = (e.target as HTMLTextAreaElement).value; setText(v); setTyping(v.length > 0); }}
                        onKeyDown={onKeyDown} onBlur={() => text && setTyping(false)} />
                    {text.trim() ? (
                        <button type="submit" class="primary" data-testid="send">{t("send")}</button>
                    ) : (
                        <button type="button" class="icon" onClick={startRecording} aria-label={t("recordVoice")}
                            title={t("recordVoice")} data-testid="record"><Icon name="mic" /></button>
                    )}
                </form>
            )}
            {preview && (
                <Dialog title={t("sendImage")} onClose={() => setPreview(null)} testid="image-preview">
                    <img src={preview.url} alt={preview.file.name} class="preview-image" />
                    <p class="hint">{preview.file.name} · {formatSize(preview.file.size)}</p>
                    <div class="row end">
                        <button type="button" onClick={() => setPreview(null)}>{t("cancel")}</button>
                        <button type="button" class="primary" onClick={() => sendImage(preview.file)} data-testid="send-image">{t("send")}</button>
                    </div>
                </Dialog>
            )}
        </div>
    );
}
