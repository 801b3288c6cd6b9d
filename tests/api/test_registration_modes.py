"""Registration as the server's `registration` mode allows (registration.yaml,
registration_tokens.yaml, client-server-api "Token-authenticated registration"):
closed refuses with 403, token mode needs the m.login.registration_token stage."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from kith.app import App, build_app
from kith.config import Config
from spec_schema import validate_response  # type: ignore[import-not-found]

V3 = "/_matrix/client/v3"
VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity"
TOKEN_STAGE = "m.login.registration_token"


@pytest.fixture
async def token_app(app_config: Config) -> AsyncIterator[App]:
    built = build_app(replace(app_config, registration="token"))
    await built.startup()
    yield built
    await built.shutdown()


@pytest.fixture
async def token_client(token_app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=token_app.asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield http


async def register(http: httpx.AsyncClient, name: str, auth: dict[str, Any] | None = None
                   ) -> httpx.Response:
    body: dict[str, Any] = {"username": name, "password": "pw"}
    if auth is not None:
        body["auth"] = auth
    return await http.post(V3 + "/register", json=body)


async def validity(http: httpx.AsyncClient, token: str, expect: int = 200) -> Any:
    response = await http.get(VALIDITY, params={"token": token})
    assert response.status_code == expect, response.text
    body = response.json()
    validate_response("registration_tokens.yaml", "get",
                      "/register/m.login.registration_token/validity", expect, body)
    return body


async def test_closed_registration_is_forbidden(app_config: Config) -> None:
    app = build_app(replace(app_config, registration="closed"))
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
            for auth in (None, {"type": "m.login.dummy"}, {"type": TOKEN_STAGE, "token": "x"}):
                response = await register(http, "alice", auth)
                assert response.status_code == 403, auth
                validate_response("registration.yaml", "post", "/register", 403, response.json())
                assert response.json()["errcode"] == "M_FORBIDDEN"
            # No tokens are in use either (registration_tokens.yaml 403).
            assert (await validity(http, "x", expect=403))["errcode"] == "M_FORBIDDEN"
            login = await http.post(V3 + "/login", json={
                "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "pw"})
            assert login.status_code == 403  # and no account was made
    finally:
        await app.shutdown()


async def test_token_mode_offers_only_the_token_stage(token_client: httpx.AsyncClient) -> None:
    first = await register(token_client, "alice")
    assert first.status_code == 401
    body = first.json()
    validate_response("registration.yaml", "post", "/register", 401, body)
    assert body["flows"] == [{"stages": [TOKEN_STAGE]}]
    dummy = await register(token_client, "alice", {"type": "m.login.dummy",
                                                    "session": body["session"]})
    assert dummy.status_code == 401 and "completed" not in dummy.json()
    wrong = await register(token_client, "alice", {"type": TOKEN_STAGE, "token": "nope",
                                                    "session": body["session"]})
    assert wrong.status_code == 401 and wrong.json()["errcode"] == "M_FORBIDDEN"


async def test_a_single_use_token_is_spent_by_one_sign_up(token_client: httpx.AsyncClient,
                                                           token_app: App) -> None:
    await token_app.accounts.store.create_registration_token("onlyonce", 1, None)
    assert await validity(token_client, "onlyonce") == {"valid": True}
    assert await validity(token_client, "unknown") == {"valid": False}
    started = (await register(token_client, "alice")).json()["session"]
    done = await register(token_client, "alice", {"type": TOKEN_STAGE, "token": "onlyonce",
                                                   "session": started})
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == "@alice:localhost"
    assert await validity(token_client, "onlyonce") == {"valid": False}
    again = await register(token_client, "bob", {"type": TOKEN_STAGE, "token": "onlyonce"})
    assert again.status_code == 401 and again.json()["errcode"] == "M_FORBIDDEN"


async def test_a_token_with_more_uses_counts_them(token_client: httpx.AsyncClient,
                                                  token_app: App) -> None:
    await token_app.accounts.store.create_registration_token("twice", 2, None)
    for name in ("alice", "bob"):
        response = await register(token_client, name, {"type": TOKEN_STAGE, "token": "twice"})
        assert response.status_code == 200, response.text
    carol = await register(token_client, "carol", {"type": TOKEN_STAGE, "token": "twice"})
    assert carol.status_code == 401


async def test_an_expired_token_is_refused(token_client: httpx.AsyncClient,
                                           token_app: App) -> None:
    past = int(time.time() * 1000) - 1000
    future = int(time.time() * 1000) + 3_600_000
    await token_app.accounts.store.create_registration_token("stale", None, past)
    await token_app.accounts.store.create_registration_token("fresh", None, future)
    assert await validity(token_client, "stale") == {"valid": False}
    assert await validity(token_client, "fresh") == {"valid": True}
    stale = await register(token_client, "alice", {"type": TOKEN_STAGE, "token": "stale"})
    assert stale.status_code == 401 and stale.json()["errcode"] == "M_FORBIDDEN"
    fresh = await register(token_client, "alice", {"type": TOKEN_STAGE, "token": "fresh"})
    assert fresh.status_code == 200, fresh.text


async def test_validity_needs_a_token_parameter(token_client: httpx.AsyncClient) -> None:
    response = await token_client.get(VALIDITY)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_MISSING_PARAM"
