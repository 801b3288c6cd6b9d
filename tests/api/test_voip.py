"""GET /voip/turnServer per voip.yaml, with and without a TURN server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from kith.app import build_app
from kith.config import Config, ConfigError, load
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

URIS = ("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443?transport=tcp")


async def test_no_turn_server_configured(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    # voip.yaml defines no error for "no TURN server"; an empty object is what
    # clients read as none (see kith.api.voip).
    assert await alice.request("GET", "/voip/turnServer") == {}
    assert (await client.get("/_matrix/client/v3/voip/turnServer")).status_code == 401


async def test_credentials_follow_the_turn_rest_convention(app_config: Config) -> None:
    config = replace(app_config, turn_uris=URIS, turn_shared_secret="s3cret", turn_ttl=3600)
    app = build_app(config)
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
            alice = await register(http, "alice")
            body = await alice.request("GET", "/voip/turnServer")
    finally:
        await app.shutdown()
    validate_response("voip.yaml", "get", "/voip/turnServer", 200, body)
    assert body["uris"] == list(URIS) and body["ttl"] == 3600
    expiry, _, user = body["username"].partition(":")
    assert user == alice.user_id
    assert abs(int(expiry) - (time.time() + 3600)) < 60
    expected = hmac.new(b"s3cret", body["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(body["password"]) == expected


def test_voip_settings_are_read_and_checked(tmp_path: Path) -> None:
    (tmp_path / "kith.toml").write_text(
        '[voip]\nturn_uris = ["turn:t.example.org"]\nturn_shared_secret = "x"\nturn_ttl = 600\n')
    config = load(tmp_path)
    assert (config.turn_uris, config.turn_shared_secret, config.turn_ttl) == \
        (("turn:t.example.org",), "x", 600)
    for bad in ('turn_uris = ["http://t.example.org"]', "turn_ttl = 5",
                "turn_shared_secret = 3"):
        (tmp_path / "kith.toml").write_text(f"[voip]\n{bad}\n")
        with pytest.raises(ConfigError):
            load(tmp_path)
    fresh = tmp_path / "fresh"
    assert load(fresh).turn_uris == ()
