"""Accounts per registration.yaml, login.yaml, logout.yaml, whoami.yaml."""

from __future__ import annotations

import httpx

from matrix import register  # type: ignore[import-not-found]


async def test_register_with_dummy_auth_in_first_request(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    assert alice.user_id == "@alice:localhost"
    who = await alice.request("GET", "/account/whoami")
    assert who == {"user_id": "@alice:localhost", "device_id": alice.device_id, "is_guest": False}


async def test_register_without_auth_returns_flows(client: httpx.AsyncClient) -> None:
    response = await client.post("/_matrix/client/v3/register", json={"username": "bob", "password": "pw"})
    assert response.status_code == 401
    body = response.json()
    assert body["flows"] == [{"stages": ["m.login.dummy"]}]
    assert isinstance(body["session"], str)
    response = await client.post("/_matrix/client/v3/register", json={
        "username": "bob", "password": "pw", "auth": {"type": "m.login.dummy", "session": body["session"]}})
    assert response.status_code == 200


async def test_username_taken_and_invalid(client: httpx.AsyncClient) -> None:
    await register(client, "carol")
    response = await client.post("/_matrix/client/v3/register", json={
        "username": "carol", "password": "pw", "auth": {"type": "m.login.dummy"}})
    assert response.status_code == 400 and response.json()["errcode"] == "M_USER_IN_USE"
    response = await client.get("/_matrix/client/v3/register/available", params={"username": "bad name"})
    assert response.json()["errcode"] == "M_INVALID_USERNAME"


async def test_login_logout_and_token_hashing(client: httpx.AsyncClient, app) -> None:  # type: ignore[no-untyped-def]
    alice = await register(client, "alice", "s3cret")
    wrong = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"}, "password": "nope"})
    assert wrong.status_code == 403 and wrong.json()["errcode"] == "M_FORBIDDEN"
    ok = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "@alice:localhost"},
        "password": "s3cret"})
    assert ok.status_code == 200
    token = ok.json()["access_token"]
    # The database holds no token in clear.
    rows = app.db.read_sync(lambda cur: cur.execute("SELECT token_hash FROM access_tokens").fetchall())
    assert all(token.encode() not in bytes(r[0]) for r in rows)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/_matrix/client/v3/logout", headers=headers)).status_code == 200
    after = await client.get("/_matrix/client/v3/account/whoami", headers=headers)
    assert after.status_code == 401 and after.json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert (await alice.request("GET", "/account/whoami"))["user_id"] == alice.user_id


async def test_missing_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/_matrix/client/v3/account/whoami")
    assert response.status_code == 401 and response.json()["errcode"] == "M_MISSING_TOKEN"
