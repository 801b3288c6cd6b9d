"""Accounts per registration.yaml, login.yaml, logout.yaml, whoami.yaml."""

from __future__ import annotations

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


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


V3 = "/_matrix/client/v3"


async def login(client: httpx.AsyncClient, name: str, password: str = "correct horse") -> User:
    response = await client.post(V3 + "/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name},
        "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    return User(client, body["user_id"], body["device_id"], body["access_token"])


async def signed_out(user: User) -> bool:
    response = await user.http.get(V3 + "/account/whoami", headers=user.auth)
    if response.status_code == 401:
        assert response.json()["errcode"] == "M_UNKNOWN_TOKEN"
        return True
    assert response.status_code == 200
    return False


async def device_ids(user: User) -> set[str]:
    return {d["device_id"] for d in (await user.request("GET", "/devices"))["devices"]}


async def test_logout_all_invalidates_every_token(client: httpx.AsyncClient) -> None:
    phone = await register(client, "alice")
    laptop, tablet = await login(client, "alice"), await login(client, "alice")
    bob = await register(client, "bob")
    body = await laptop.request("POST", "/logout/all", {})
    validate_response("logout.yaml", "post", "/logout/all", 200, body)
    assert [await signed_out(u) for u in (phone, laptop, tablet)] == [True, True, True]
    assert not await signed_out(bob)  # other users keep theirs
    again = await login(client, "alice")
    assert await device_ids(again) == {again.device_id}  # the devices went too


async def test_logout_ends_only_that_device(client: httpx.AsyncClient) -> None:
    phone = await register(client, "alice")
    laptop = await login(client, "alice")
    validate_response("logout.yaml", "post", "/logout", 200,
                      await laptop.request("POST", "/logout", {}))
    assert await signed_out(laptop) and not await signed_out(phone)
    assert await device_ids(phone) == {phone.device_id}


async def test_delete_device_needs_the_password(client: httpx.AsyncClient) -> None:
    """device_management.yaml DELETE /devices/{deviceId}: user-interactive auth."""
    phone = await register(client, "alice")
    laptop = await login(client, "alice")
    path = f"/devices/{laptop.device_id}"
    started = await phone.request("DELETE", path, {}, expect=401)
    validate_response("device_management.yaml", "delete", "/devices/{deviceId}", 401, started)
    assert started["flows"] == [{"stages": ["m.login.password"]}]
    session = started["session"]
    wrong = await phone.request("DELETE", path, {"auth": {
        "type": "m.login.password", "session": session, "password": "wrong",
        "identifier": {"type": "m.id.user", "user": phone.user_id}}}, expect=401)
    assert wrong["errcode"] == "M_FORBIDDEN" and wrong["session"] == session
    assert not await signed_out(laptop)
    done = await phone.request("DELETE", path, {"auth": {
        "type": "m.login.password", "session": session, "password": "correct horse",
        "identifier": {"type": "m.id.user", "user": phone.user_id}}})
    validate_response("device_management.yaml", "delete", "/devices/{deviceId}", 200, done)
    assert await signed_out(laptop)
    assert await device_ids(phone) == {phone.device_id}
    await phone.request("GET", path, expect=404)
    gone = await phone.request("DELETE", path, {}, expect=404)
    assert gone["errcode"] == "M_NOT_FOUND"


async def test_delete_devices_needs_the_password(client: httpx.AsyncClient) -> None:
    """device_management.yaml POST /delete_devices: user-interactive auth."""
    phone = await register(client, "alice")
    laptop, tablet = await login(client, "alice"), await login(client, "alice")
    body = {"devices": [laptop.device_id, tablet.device_id]}
    started = await phone.request("POST", "/delete_devices", body, expect=401)
    validate_response("device_management.yaml", "post", "/delete_devices", 401, started)
    wrong = await phone.request("POST", "/delete_devices", {**body, "auth": {
        "type": "m.login.password", "session": started["session"], "password": "nope",
        "identifier": {"type": "m.id.user", "user": phone.user_id}}}, expect=401)
    assert wrong["errcode"] == "M_FORBIDDEN"
    assert await device_ids(phone) == {phone.device_id, laptop.device_id, tablet.device_id}
    done = await phone.request("POST", "/delete_devices", {**body, "auth": {
        "type": "m.login.password", "session": started["session"], "password": "correct horse",
        "identifier": {"type": "m.id.user", "user": phone.user_id}}})
    validate_response("device_management.yaml", "post", "/delete_devices", 200, done)
    assert await signed_out(laptop) and await signed_out(tablet)
    assert not await signed_out(phone)
    assert await device_ids(phone) == {phone.device_id}
