"""Small helpers so the matrix-nio tests read like the client-server spec.

Everything here drives a real `kith serve` through matrix-nio's AsyncClient;
the only raw requests are for endpoints nio has no method for (password
change), and those still go through nio's own HTTP session.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    MessageDirection,
    RegisterResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)

PASSWORD = "correct horse battery staple"

R = TypeVar("R")


def client_config() -> AsyncClientConfig:
    # No E2EE store: these tests are about the plain client-server API.
    # Bounded retries, so a dead server fails a test instead of hanging it.
    return AsyncClientConfig(
        encryption_enabled=False,
        store_sync_tokens=False,
        max_timeouts=2,
        max_limit_exceeded=0,
        request_timeout=30,
    )


def unique(name: str) -> str:
    """A localpart no other test (or earlier run on the same server) uses."""
    return f"{name}-{uuid.uuid4().hex[:10]}"


def expect(response: Any, kind: type[R]) -> R:
    """The response is a success of the given nio type; otherwise show the error."""
    assert isinstance(response, kind), f"expected {kind.__name__}, got {response!r}"
    return response


def errcode(response: Any) -> str | None:
    """The Matrix errcode of an nio error response (nio calls it status_code)."""
    return getattr(response, "status_code", None)


async def json_body(response: Any) -> dict[str, Any]:
    """The JSON body exactly as the server sent it, for parts nio does not
    parse (aiohttp keeps the body, so it can be read again)."""
    return await response.transport_response.json()  # type: ignore[no-any-return]


def http_status(response: Any) -> int | None:
    transport = getattr(response, "transport_response", None)
    return transport.status if transport is not None else None


class Clients:
    """Creates nio clients against one homeserver and closes them afterwards."""

    def __init__(self, homeserver: str) -> None:
        self.homeserver = homeserver
        self._made: list[AsyncClient] = []

    def new(self, user: str = "") -> AsyncClient:
        client = AsyncClient(self.homeserver, user, config=client_config())
        self._made.append(client)
        return client

    async def register(self, name: str, password: str = PASSWORD) -> AsyncClient:
        """POST /register with m.login.dummy (nio's register()) for a fresh user."""
        client = self.new()
        response = expect(await client.register(unique(name), password, device_name=f"{name}'s nio"),
                          RegisterResponse)
        assert client.access_token == response.access_token
        assert client.user_id == response.user_id
        return client

    async def login(self, user_id: str, password: str = PASSWORD, device_name: str = "") -> AsyncClient:
        client = self.new(user_id)
        expect(await client.login(password, device_name=device_name), LoginResponse)
        return client

    def restore(self, user_id: str, device_id: str, access_token: str) -> AsyncClient:
        client = self.new(user_id)
        client.restore_login(user_id, device_id, access_token)
        return client

    async def close(self) -> None:
        for client in self._made:
            await client.close()
        self._made.clear()


async def request(client: AsyncClient, method: str, path: str,
                  body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """A raw request with the client's token, for endpoints nio does not wrap."""
    headers = {"Content-Type": "application/json"}
    if client.access_token:
        headers["Authorization"] = f"Bearer {client.access_token}"
    response = await client.send(method, path, json.dumps(body) if body is not None else None, headers)
    return response.status, await response.json(content_type=None)


async def change_password(client: AsyncClient, old: str, new: str,
                          logout_devices: bool | None = None) -> tuple[int, dict[str, Any]]:
    """POST /account/password with user-interactive auth, as a client does it:
    first without `auth` to learn the session, then with m.login.password."""
    body: dict[str, Any] = {"new_password": new}
    if logout_devices is not None:
        body["logout_devices"] = logout_devices
    status, first = await request(client, "POST", "/_matrix/client/v3/account/password", body)
    if status == 200:  # server needed no further auth
        return status, first
    assert status == 401, (status, first)
    assert any("m.login.password" in flow["stages"] for flow in first["flows"]), first
    auth = {"type": "m.login.password", "session": first.get("session"),
            "identifier": {"type": "m.id.user", "user": client.user_id}, "password": old}
    return await request(client, "POST", "/_matrix/client/v3/account/password", {**body, "auth": auth})


# --- sync -----------------------------------------------------------------

async def sync(client: AsyncClient, timeout_ms: int = 0, **kwargs: Any) -> SyncResponse:
    return expect(await client.sync(timeout=timeout_ms, **kwargs), SyncResponse)


async def sync_until(client: AsyncClient, done: Callable[[list[SyncResponse]], bool], *,
                     rounds: int = 20, timeout_ms: int = 1000, since: str | None = None) -> list[SyncResponse]:
    """Incremental syncs (long-polling `timeout_ms` each, the first one from
    `since` if given) until `done` holds for everything received so far;
    fails after `rounds` syncs."""
    seen: list[SyncResponse] = []
    for _ in range(rounds):
        seen.append(await sync(client, timeout_ms, since=since))
        since = None  # later syncs continue from nio's next_batch
        if done(seen):
            return seen
    raise AssertionError(f"condition not met after {rounds} syncs of {client.user_id}:\n"
                         + "\n".join(summary(r) for r in seen))


async def settle(client: AsyncClient, timeout_ms: int = 200, since: str | None = None) -> SyncResponse:
    """One sync plus the key maintenance a nio client does between syncs
    (what sync_forever does): upload keys, query changed users, claim keys."""
    response = await sync(client, timeout_ms, since=since)
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    return response


def summary(response: SyncResponse) -> str:
    """One line per sync: what arrived in which room section (for failure messages)."""
    def brief(events: Iterable[Any]) -> list[str]:
        out = []
        for e in events:
            source = getattr(e, "source", None) or {}
            body = source.get("content", {}).get("body") or source.get("content", {}).get("membership")
            out.append(f"{source.get('type', type(e).__name__)}" + (f"({body})" if body else ""))
        return out
    parts = [f"next_batch={response.next_batch}"]
    for room_id, info in response.rooms.invite.items():
        parts.append(f"invite {room_id}: {brief(info.invite_state)}")
    for section in ("join", "leave"):
        for room_id, room in getattr(response.rooms, section).items():
            parts.append(f"{section} {room_id}: timeline={brief(room.timeline.events)}"
                         f" limited={room.timeline.limited} ephemeral={[type(e).__name__ for e in room.ephemeral]}")
    return "; ".join(parts)


def timeline(responses: Iterable[SyncResponse], room_id: str) -> list[Any]:
    """The room's timeline events, in order, across a series of syncs."""
    events: list[Any] = []
    for response in responses:
        room = response.rooms.join.get(room_id)
        if room is not None:
            events.extend(room.timeline.events)
    return events


def ephemeral(responses: Iterable[SyncResponse], room_id: str) -> list[Any]:
    events: list[Any] = []
    for response in responses:
        room = response.rooms.join.get(room_id)
        if room is not None:
            events.extend(room.ephemeral)
    return events


def raw(event: Any) -> dict[str, Any]:
    """The event as the server sent it (nio keeps the original dict in .source)."""
    return event.source  # type: ignore[no-any-return]


def bodies(events: Iterable[Any]) -> list[str]:
    """The `body` of every m.room.message event, in order."""
    return [raw(e)["content"].get("body") for e in events if raw(e).get("type") == "m.room.message"]


def event_ids(events: Iterable[Any]) -> list[str]:
    return [raw(e)["event_id"] for e in events]


def bodies_seen(room_id: str, wanted: list[str]) -> Callable[[list[SyncResponse]], bool]:
    """Sync predicate: every wanted body has arrived in the room's timeline."""
    return lambda seen: set(wanted) <= set(bodies(timeline(seen, room_id)))


def invited_to(room_id: str) -> Callable[[list[SyncResponse]], bool]:
    return lambda seen: any(room_id in r.rooms.invite for r in seen)


def left(room_id: str) -> Callable[[list[SyncResponse]], bool]:
    return lambda seen: any(room_id in r.rooms.leave for r in seen)


def membership_of(events: Iterable[Any], user_id: str) -> list[str]:
    """The memberships a user passed through, as m.room.member events show."""
    return [raw(e)["content"]["membership"] for e in events
            if raw(e).get("type") == "m.room.member" and raw(e).get("state_key") == user_id]


# --- rooms ----------------------------------------------------------------

async def shared_room(alice: AsyncClient, bob: AsyncClient, **create: Any) -> str:
    """Alice creates a private room and invites Bob; Bob joins it by ID."""
    create.setdefault("preset", RoomPreset.private_chat)
    room_id = expect(await alice.room_create(invite=[bob.user_id], **create), RoomCreateResponse).room_id
    expect(await bob.join(room_id), JoinResponse)
    return room_id


async def catch_up(*clients: AsyncClient) -> None:
    """Each client syncs once, so later syncs are incremental from 'now'."""
    for client in clients:
        await sync(client)


async def say(client: AsyncClient, room_id: str, body: str) -> str:
    """Send an m.text message; returns its event ID."""
    response = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    return expect(response, RoomSendResponse).event_id


async def paginate(client: AsyncClient, room_id: str, direction: MessageDirection, *,
                   start: str | None = None, limit: int = 5, max_pages: int = 20) -> list[RoomMessagesResponse]:
    """GET /rooms/{roomId}/messages page after page until the server omits `end`
    (or a page makes no progress); every page must honour `limit`."""
    pages: list[RoomMessagesResponse] = []
    for _ in range(max_pages):
        page = expect(await client.room_messages(room_id, start=start, direction=direction, limit=limit),
                      RoomMessagesResponse)
        assert len(page.chunk) <= limit, f"{len(page.chunk)} events with limit={limit}"
        pages.append(page)
        if not page.end or (not page.chunk and page.end == start):
            return pages
        start = page.end
    raise AssertionError(f"pagination did not end after {max_pages} pages")
