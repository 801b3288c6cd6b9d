"""Rate limiting (spec: "Rate limiting", 429 M_LIMIT_EXCEEDED with retry_after_ms)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kith.app import build_app
from kith.config import Config
from kith.http import ratelimit
from kith.http.ratelimit import RateLimiter


@pytest.fixture
async def limited_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(Config(data_dir=tmp_path / "data", registration="open", rate_limit=True))
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield http
    app.db.close()


async def test_login_flood_gets_429_with_retry_after(limited_client: httpx.AsyncClient) -> None:
    statuses = []
    body = {}
    for _ in range(60):
        response = await limited_client.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "nobody"},
            "password": "x"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            body = response.json()
            break
    assert 429 in statuses
    assert body["errcode"] == "M_LIMIT_EXCEEDED"
    assert isinstance(body["retry_after_ms"], int) and body["retry_after_ms"] > 0


def test_token_bucket_refills() -> None:
    limiter = RateLimiter(rate_per_second=1.0, burst=2)
    assert limiter.check("k", now=0.0) == 0
    assert limiter.check("k", now=0.0) == 0
    assert limiter.check("k", now=0.0) > 0
    assert limiter.check("k", now=1.01) == 0
    assert limiter.check("other", now=0.0) == 0


async def test_every_other_endpoint_has_a_generous_budget(limited_client: httpx.AsyncClient,
                                                          ) -> None:
    # Not only logins: a flood of any request is stopped too, while a
    # client's ordinary burst (a screen of thumbnails, say) is not.
    reg = await limited_client.post("/_matrix/client/v3/register", json={
        "username": "flood", "password": "correct horse", "auth": {"type": "m.login.dummy"}})
    auth = {"Authorization": f"Bearer {reg.json()['access_token']}"}
    _, burst = ratelimit.EVERYDAY
    statuses = []
    for _ in range(burst + 50):
        response = await limited_client.get("/_matrix/client/v3/account/whoami", headers=auth)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["errcode"] == "M_LIMIT_EXCEEDED"
            assert response.json()["retry_after_ms"] > 0
            break
    assert statuses[:100] == [200] * 100
    assert statuses[-1] == 429
