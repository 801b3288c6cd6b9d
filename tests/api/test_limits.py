"""Rate limiting (spec: "Rate limiting", 429 M_LIMIT_EXCEEDED with retry_after_ms)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kith.app import build_app
from kith.config import Config
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
