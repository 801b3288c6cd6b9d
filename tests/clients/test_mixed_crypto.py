"""Two end-to-end encryption implementations we did not write, in one room,
through a real `kith serve`: matrix-js-sdk with its Rust crypto
(tests/clients/js/crypto_mixed.mjs, run by node) and matrix-nio (vodozemac
underneath, driven here). The js device creates an encrypted private room and
invites the nio user; each decrypts the other's message.

The node script and this test talk over its stdin/stdout (see the script for
the protocol). The server has the default configuration: new private rooms
are encrypted.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import js_runner  # type: ignore[import-not-found]
import nio_helpers  # type: ignore[import-not-found]
from nio import (
    AsyncClient, AsyncClientConfig, JoinResponse, MegolmEvent, RegisterResponse,
    RoomMessageText, RoomSendResponse, SyncResponse,
)

REPO, JS_DIR = js_runner.REPO, js_runner.JS_DIR
STEP_TIMEOUT_S = 60
PROTOCOL = "@@kith "


class NodeScript:
    """crypto_mixed.mjs as a subprocess: protocol messages from its stdout
    arrive on a queue; the rest of its output is kept for failure reports."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.output.append(line)
            if line.startswith(PROTOCOL):
                await self.messages.put(json.loads(line[len(PROTOCOL):]))

    async def expect(self, event: str) -> dict[str, Any]:
        try:
            message = await asyncio.wait_for(self.messages.get(), STEP_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(f"crypto_mixed.mjs sent no {event!r} in time\n{self.log()}") from None
        assert message.get("event") == event, f"expected {event!r}, got {message}\n{self.log()}"
        return message

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def finish(self) -> int:
        try:
            code = await asyncio.wait_for(self.process.wait(), STEP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        await self._reader
        return code

    def log(self) -> str:
        return "--- crypto_mixed.mjs output ---\n" + "\n".join(self.output[-80:])


async def settle(client: AsyncClient) -> SyncResponse:
    return await nio_helpers.settle(client, timeout_ms=300)


async def wait_decrypted(client: AsyncClient, room_id: str, event_id: str) -> RoomMessageText:
    """Sync until the event arrives decrypted (retrying an event whose room
    key came after it)."""
    pending: MegolmEvent | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT_S
    while loop.time() < deadline:
        response = await settle(client)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if event.event_id != event_id:
                continue
            if isinstance(event, RoomMessageText):
                return event
            if isinstance(event, MegolmEvent):
                pending = event
        if pending is not None:
            retried = client.decrypt_event(pending)
            if isinstance(retried, RoomMessageText):
                return retried
    raise AssertionError(f"nio did not decrypt {event_id} in time (last seen: {pending!r})")


async def test_js_rust_crypto_and_nio_read_each_other(crypto_server: Any, tmp_path: Path,
                                                      js_packages: Path) -> None:
    node = js_runner.node()

    store = tmp_path / "nio-store"
    store.mkdir()
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True, max_timeouts=2,
                               max_limit_exceeded=0, request_timeout=30)
    nora = AsyncClient(crypto_server.base_url, "", store_path=str(store), config=config)
    script: NodeScript | None = None
    try:
        registered = await nora.register(f"nora-{uuid.uuid4().hex[:10]}", "nora's password 1",
                                         device_name="nio")
        assert isinstance(registered, RegisterResponse), registered
        await settle(nora)  # uploads nora's device and one-time keys

        process = await asyncio.create_subprocess_exec(
            node, str((JS_DIR / "crypto_mixed.mjs").relative_to(REPO)), crypto_server.base_url, nora.user_id,
            cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env={"NODE_NO_WARNINGS": "1", "PATH": str(Path(node).parent)},
        )
        script = NodeScript(process)

        # The js device created an encrypted room and invited nora.
        room = await script.expect("room")
        room_id, jess = room["room_id"], room["user_id"]
        for _ in range(20):
            await settle(nora)
            if room_id in nora.invited_rooms:
                break
        assert room_id in nora.invited_rooms, "nio sees the invite"
        assert isinstance(await nora.join(room_id), JoinResponse)
        for _ in range(20):
            await settle(nora)
            if room_id in nora.rooms and nora.rooms[room_id].encrypted and jess in nora.rooms[room_id].users:
                break
        assert nora.rooms[room_id].encrypted, "nio sees m.room.encryption in the room's state"

        # nio -> js
        body = "hello js, this is nio with vodozemac"
        sent = await nora.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body},
                                    ignore_unverified_devices=True)
        assert isinstance(sent, RoomSendResponse), sent
        script.send({"cmd": "expect", "event_id": sent.event_id, "body": body})
        await script.expect("decrypted")

        # js -> nio
        answer = await script.expect("sent")
        event = await wait_decrypted(nora, room_id, answer["event_id"])
        assert event.body == answer["body"]
        assert event.sender == jess
        script.send({"cmd": "done"})
        code = await script.finish()
        assert code == 0, f"crypto_mixed.mjs exited {code}\n{script.log()}"
    except BaseException:
        if script is not None:
            if script.process.returncode is None:
                script.process.kill()
            await script.finish()
            print(script.log())
        raise
    finally:
        await nora.close()
