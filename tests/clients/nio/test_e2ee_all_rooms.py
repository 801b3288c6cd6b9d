"""`encryption = "all"` in kith.toml, on a real `kith serve` with matrix-nio:
a public room (preset public_chat) is end-to-end encrypted from its creation
(m.room.encryption in its initial state), so what members send goes over the
wire and into the room as m.room.encrypted, and each member's client decrypts
the others' messages, including one who joined later through the public join
rule (end_to_end_encryption.md; the room's key reaches them by to-device)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import (
    AsyncClient, AsyncClientConfig, JoinResponse, MegolmEvent, RegisterResponse,
    RoomCreateResponse, RoomMessageText, RoomPreset, RoomSendResponse, RoomVisibility,
)

from nio_helpers import PASSWORD, expect, request, settle, unique  # type: ignore[import-not-found]


@pytest.fixture
def all_encrypted_server(start_server: Callable[..., Any], tmp_path: Path) -> Iterator[Any]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text('encryption = "all"\n')
    running = start_server(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


async def new_user(base_url: str, name: str, store: Path) -> AsyncClient:
    store.mkdir()
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True, max_timeouts=2,
                               max_limit_exceeded=0, request_timeout=30)
    client = AsyncClient(base_url, "", store_path=str(store), config=config)
    expect(await client.register(unique(name), PASSWORD, device_name=name), RegisterResponse)
    return client


async def send(client: AsyncClient, room_id: str, body: str) -> None:
    expect(await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body},
                                  ignore_unverified_devices=True), RoomSendResponse)


async def decrypted_bodies(client: AsyncClient, room_id: str, want: str, rounds: int = 15
                           ) -> list[str]:
    """Sync until `want` arrives decrypted; the bodies decrypted meanwhile."""
    texts: list[str] = []
    undecryptable: list[Any] = []
    for _ in range(rounds):
        room = (await settle(client)).rooms.join.get(room_id)
        events = room.timeline.events if room is not None else []
        texts += [e.body for e in events if isinstance(e, RoomMessageText)]
        undecryptable += [e for e in events if isinstance(e, MegolmEvent)]
        if want in texts:
            return texts
    raise AssertionError(f"{client.user_id} never decrypted {want!r}: got {texts}, "
                         f"undecryptable {undecryptable}")


async def test_a_public_room_is_encrypted_and_members_decrypt(
        all_encrypted_server: Any, tmp_path: Path) -> None:
    base_url = all_encrypted_server.base_url
    alice = await new_user(base_url, "alice", tmp_path / "alice")
    bob = await new_user(base_url, "bob", tmp_path / "bob")
    carol = await new_user(base_url, "carol", tmp_path / "carol")
    try:
        for client in (alice, bob, carol):
            await settle(client)
        created = expect(await alice.room_create(
            visibility=RoomVisibility.public, preset=RoomPreset.public_chat, name="Town square"),
            RoomCreateResponse)
        room_id = created.room_id
        status, encryption = await request(
            alice, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.encryption/")
        assert (status, encryption.get("algorithm")) == (200, "m.megolm.v1.aes-sha2")
        status, rules = await request(
            alice, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.join_rules/")
        assert (status, rules["join_rule"]) == (200, "public")

        expect(await bob.join(room_id), JoinResponse)  # no invite: the room is public
        for _ in range(3):
            await settle(alice)
            await settle(bob)
        assert alice.rooms[room_id].encrypted and bob.rooms[room_id].encrypted

        await send(alice, room_id, "welcome to the square")
        assert "welcome to the square" in await decrypted_bodies(bob, room_id,
                                                                 "welcome to the square")
        await send(bob, room_id, "thanks alice")
        assert "thanks alice" in await decrypted_bodies(alice, room_id, "thanks alice")

        # A later joiner decrypts what is sent after they joined.
        expect(await carol.join(room_id), JoinResponse)
        for _ in range(3):
            for client in (alice, bob, carol):
                await settle(client)
        await send(alice, room_id, "hello carol")
        assert "hello carol" in await decrypted_bodies(carol, room_id, "hello carol")
        assert "hello carol" in await decrypted_bodies(bob, room_id, "hello carol")

        # What the server stored is ciphertext only.
        status, raw = await request(
            carol, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=100")
        assert status == 200
        sent = [e for e in raw["chunk"] if e["type"] in ("m.room.encrypted", "m.room.message")]
        assert len(sent) == 3 and all(e["type"] == "m.room.encrypted" for e in sent), sent
        assert all(e["content"]["algorithm"] == "m.megolm.v1.aes-sha2" for e in sent)
    finally:
        for client in (alice, bob, carol):
            await client.close()
