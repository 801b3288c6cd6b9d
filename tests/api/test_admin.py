"""admin.yaml (whois), refresh.yaml and support.yaml."""

from __future__ import annotations

from dataclasses import replace

import httpx

from kith.app import App, build_app
from kith.auth.service import Session
from kith.config import Config
from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_whois_for_oneself_or_an_admin(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    body = await alice.request("GET", f"/admin/whois/{alice.user_id}")
    validate_response("admin.yaml", "get", "/v3/admin/whois/{userId}", 200, body)
    assert body["user_id"] == alice.user_id
    assert list(body["devices"]) == [alice.device_id]
    [session] = body["devices"][alice.device_id]["sessions"]
    assert session["connections"][0]["last_seen"] > 0
    err = await bob.request("GET", f"/admin/whois/{alice.user_id}", expect=403)
    assert err["errcode"] == "M_FORBIDDEN"
    session_of_admin = await app.accounts.register("root", None, is_admin=True)
    assert isinstance(session_of_admin, Session)
    root = User(client, session_of_admin.user_id, session_of_admin.device_id,
                session_of_admin.access_token)
    assert (await root.request("GET", f"/admin/whois/{bob.user_id}"))["user_id"] == bob.user_id
    missing = await root.request("GET", "/admin/whois/@nobody:localhost", expect=404)
    assert missing["errcode"] == "M_NOT_FOUND"


async def test_refresh_tokens_are_never_issued(client: httpx.AsyncClient) -> None:
    response = await client.post("/_matrix/client/v3/refresh", json={"refresh_token": "abc"})
    assert response.status_code == 401
    validate_response("refresh.yaml", "post", "/refresh", 401, response.json())
    assert response.json()["errcode"] == "M_UNKNOWN_TOKEN"
    login = await client.post("/_matrix/client/v3/register", json={
        "username": "carol", "password": "pw pw pw", "refresh_token": True,
        "auth": {"type": "m.login.dummy"}})
    assert "refresh_token" not in login.json()
    missing = await client.post("/_matrix/client/v3/refresh", json={})
    assert missing.status_code == 400


async def test_support_information(client: httpx.AsyncClient, app_config: Config) -> None:
    none = await client.get("/.well-known/matrix/support")
    assert none.status_code == 404 and none.json()["errcode"] == "M_NOT_FOUND"
    config = replace(app_config, support_page="https://help.example.org",
                     support_admin="@admin:example.org", data_dir=app_config.data_dir / "s")
    app = build_app(config)
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
            body = (await http.get("/.well-known/matrix/support")).json()
    finally:
        await app.shutdown()
    validate_response("support.yaml", "get", "/matrix/support", 200, body)
    assert body == {"contacts": [{"matrix_id": "@admin:example.org", "role": "m.role.admin"}],
                    "support_page": "https://help.example.org"}
