"""`kith serve` as a user starts it: first start writes its files; SIGTERM is clean."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx

from typing import Any


def test_first_start_writes_config_key_and_wal_database(tmp_path: Path, start_server_fn: Any) -> None:
    start_server = start_server_fn
    data = tmp_path / "data"
    server = start_server(data, "--server-name", "school.example", "--registration", "token")
    try:
        assert httpx.get(server.base_url + "/_matrix/client/versions").status_code == 200
        toml = (data / "kith.toml").read_text()
        assert 'server_name = "school.example"' in toml and "#" in toml
        assert (data / "signing.key").read_text().startswith("ed25519 ")
        assert (data / "kith.db").exists() and (data / "kith.db-wal").exists()
    finally:
        assert server.stop() == 0


def test_sigterm_finishes_inflight_long_poll_and_keeps_data(tmp_path: Path, start_server_fn: Any) -> None:
    start_server = start_server_fn
    data = tmp_path / "data"
    server = start_server(data, "--registration", "open", "--rate-limit", "off")
    base = server.base_url
    reg = httpx.post(base + "/_matrix/client/v3/register", json={
        "username": "alice", "password": "pw", "auth": {"type": "m.login.dummy"}}).json()
    headers = {"Authorization": f"Bearer {reg['access_token']}"}
    room = httpx.post(base + "/_matrix/client/v3/createRoom", json={}, headers=headers).json()["room_id"]
    sent = httpx.put(f"{base}/_matrix/client/v3/rooms/{room}/send/m.room.message/1",
                     json={"msgtype": "m.text", "body": "kept"}, headers=headers)
    assert sent.status_code == 200
    token = httpx.get(base + "/_matrix/client/v3/sync", headers=headers).json()["next_batch"]
    result: dict[str, int] = {}

    def long_poll() -> None:
        response = httpx.get(base + "/_matrix/client/v3/sync", params={"since": token, "timeout": 30000},
                             headers=headers, timeout=40)
        result["status"] = response.status_code

    thread = threading.Thread(target=long_poll)
    thread.start()
    asyncio.run(asyncio.sleep(0.5))
    assert server.stop() == 0
    thread.join(timeout=20)
    assert result.get("status") == 200  # the in-flight request was answered, not cut off
    again = start_server(data, "--registration", "open", "--rate-limit", "off", port=server.port)
    try:
        messages = httpx.get(f"{base}/_matrix/client/v3/rooms/{room}/messages",
                             params={"dir": "b"}, headers=headers).json()
        assert "kept" in [e["content"].get("body") for e in messages["chunk"]]
    finally:
        again.stop()
