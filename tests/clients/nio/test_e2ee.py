"""End-to-end encryption with matrix-nio (vodozemac/olm underneath) against a
real `kith serve`: two users, an encrypted room, each decrypts the other's
messages. The server only relays keys and ciphertext (spec:
end_to_end_encryption.md)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote
from typing import Any

from nio import (
    AsyncClient, AsyncClientConfig, JoinResponse, MegolmEvent, RegisterResponse,
    RoomCreateResponse, RoomMessageText, RoomSendResponse,
)

from nio_helpers import PASSWORD, expect, request, settle, unique  # type: ignore[import-not-found]


def e2ee_config() -> AsyncClientConfig:
    return AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True, max_timeouts=2,
                             max_limit_exceeded=0, request_timeout=30)


async def new_user(base_url: str, name: str, store: Path) -> AsyncClient:
    store.mkdir()
    client = AsyncClient(base_url, "", store_path=str(store), config=e2ee_config())
    expect(await client.register(unique(name), PASSWORD, device_name=name), RegisterResponse)
    return client


async def receive(client: AsyncClient, room_id: str, rounds: int = 15) -> list[Any]:
    events: list[Any] = []
    for _ in range(rounds):
        response = await settle(client)
        room = response.rooms.join.get(room_id)
        if room is not None:
            events += room.timeline.events
        if any(isinstance(e, RoomMessageText) for e in events):
            break
    return events


async def send(client: AsyncClient, room_id: str, body: str) -> None:
    expect(await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body},
                                  ignore_unverified_devices=True), RoomSendResponse)


async def test_two_users_exchange_encrypted_messages(server: Any, tmp_path: Path) -> None:
    alice = await new_user(server.base_url, "alice", tmp_path / "alice")
    bob = await new_user(server.base_url, "bob", tmp_path / "bob")
    try:
        await settle(alice)
        await settle(bob)
        created = expect(await alice.room_create(invite=[bob.user_id], is_direct=True),
                         RoomCreateResponse)
        room_id = created.room_id
        await settle(bob)
        expect(await bob.join(room_id), JoinResponse)
        for _ in range(3):
            await settle(alice)
            await settle(bob)
        assert alice.rooms[room_id].encrypted and bob.rooms[room_id].encrypted

        await send(alice, room_id, "hello bob, this is secret")
        got = await receive(bob, room_id)
        texts = [e.body for e in got if isinstance(e, RoomMessageText)]
        assert texts == ["hello bob, this is secret"], got
        assert not any(isinstance(e, MegolmEvent) for e in got)  # none left undecrypted

        await send(bob, room_id, "hi alice, got it")
        got = await receive(alice, room_id)
        texts = [e.body for e in got if isinstance(e, RoomMessageText)]
        assert "hi alice, got it" in texts, got

        # The server saw only ciphertext.
        status, raw = await request(
            alice, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=100")
        assert status == 200
        types = {e["type"] for e in raw["chunk"]}
        assert "m.room.encrypted" in types and "m.room.message" not in types
    finally:
        await alice.close()
        await bob.close()
