"""OpenID tokens: client-server openid.yaml and server-server openid.yaml."""

from __future__ import annotations

import httpx
import pytest

from kith.api import openid as openid_api
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

USERINFO = "/_matrix/federation/v1/openid/userinfo"


async def test_token_proves_who_asked_for_it(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    body = await alice.request("POST", f"/user/{alice.user_id}/openid/request_token", {})
    validate_response("openid.yaml", "post", "/user/{userId}/openid/request_token", 200, body)
    assert body["token_type"] == "Bearer" and body["matrix_server_name"] == "localhost"
    assert body["expires_in"] > 0
    info = await client.get(USERINFO, params={"access_token": body["access_token"]})
    assert info.status_code == 200
    validate_response("server-server/openid.yaml", "get", "/openid/userinfo", 200, info.json())
    assert info.json() == {"sub": alice.user_id}
    # The OpenID token is not an access token.
    whoami = await client.get("/_matrix/client/v3/account/whoami",
                              headers={"Authorization": f"Bearer {body['access_token']}"})
    assert whoami.status_code == 401
    # And an access token is not an OpenID token.
    wrong = await client.get(USERINFO, params={"access_token": alice.token})
    assert wrong.status_code == 401
    validate_response("server-server/openid.yaml", "get", "/openid/userinfo", 401, wrong.json())
    assert wrong.json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert (await client.get(USERINFO)).status_code == 401


async def test_only_for_oneself(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    err = await alice.request("POST", f"/user/{bob.user_id}/openid/request_token", {},
                              expect=403)
    assert err["errcode"] == "M_FORBIDDEN"


async def test_tokens_expire(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = await register(client, "alice")
    monkeypatch.setattr(openid_api, "EXPIRES_IN_S", 0)
    body = await alice.request("POST", f"/user/{alice.user_id}/openid/request_token", {})
    info = await client.get(USERINFO, params={"access_token": body["access_token"]})
    assert info.status_code == 401


async def test_deactivation_ends_the_tokens(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    body = await alice.request("POST", f"/user/{alice.user_id}/openid/request_token", {})
    await alice.request("POST", "/account/deactivate", {"auth": {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse"}})
    info = await client.get(USERINFO, params={"access_token": body["access_token"]})
    assert info.status_code == 401
