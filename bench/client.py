"""A minimal Matrix Client-Server API client for load generation (aiohttp).

One aiohttp session (one connection pool, keep-alive) is shared by all
simulated users; each user is just an access token. Only the endpoints the
benchmark needs are here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

PASSWORD = "bench-password-1234"
C = "/_matrix/client/v3"


class ApiError(Exception):
    def __init__(self, status: int, body: Any, what: str) -> None:
        super().__init__(f"{what}: HTTP {status} {str(body)[:300]}")
        self.status = status
        self.body = body


@dataclass
class User:
    name: str
    user_id: str = ""
    token: str = ""
    rooms: list[str] = field(default_factory=list)


def q(value: str) -> str:
    return quote(value, safe="")


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session: aiohttp.ClientSession | None = None
        self._txn = itertools.count()
        self._run = uuid.uuid4().hex[:8]

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None, force_close=False)
        self.session = aiohttp.ClientSession(
            self.base_url, connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            json_serialize=json.dumps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def call(self, method: str, path: str, token: str | None = None,
                   body: Any = None, params: dict[str, str] | None = None,
                   timeout: float = 120.0, ok: tuple[int, ...] = (200,)) -> Any:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        for attempt in (1, 2):
            try:
                async with self.session.request(
                        method, path, json=body, params=params, headers=headers,
                        timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                    data = await resp.read()
                    status = resp.status
                break
            except aiohttp.ServerDisconnectedError:
                # A pooled keep-alive connection the server closed while idle
                # (uvicorn closes them after 5 s): retry once on a new one.
                if attempt == 2:
                    raise
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data[:200]
        if status not in ok:
            raise ApiError(status, parsed, f"{method} {path}")
        return parsed

    async def register(self, name: str) -> User:
        body: dict[str, Any] = {"username": name, "password": PASSWORD,
                                "auth": {"type": "m.login.dummy"},
                                "initial_device_display_name": "bench"}
        try:
            data = await self.call("POST", f"{C}/register", body=body)
        except ApiError as err:
            # A server that wants the UIA session first: take it and retry.
            if err.status != 401 or not isinstance(err.body, dict) or "session" not in err.body:
                raise
            body["auth"]["session"] = err.body["session"]
            data = await self.call("POST", f"{C}/register", body=body)
        return User(name=name, user_id=data["user_id"], token=data["access_token"])

    async def login(self, name: str) -> str:
        data = await self.call("POST", f"{C}/login", body={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": name},
            "password": PASSWORD,
        })
        return str(data["access_token"])

    async def create_room(self, user: User, preset: str = "public_chat", name: str = "") -> str:
        body: dict[str, Any] = {"preset": preset}
        if name:
            body["name"] = name
        data = await self.call("POST", f"{C}/createRoom", user.token, body)
        return str(data["room_id"])

    async def join(self, user: User, room_id: str) -> None:
        await self.call("POST", f"{C}/join/{q(room_id)}", user.token, {})

    def new_txn(self) -> str:
        return f"{self._run}-{next(self._txn)}"

    async def send(self, user: User, room_id: str, text: str) -> str:
        data = await self.call(
            "PUT", f"{C}/rooms/{q(room_id)}/send/m.room.message/{self.new_txn()}",
            user.token, {"msgtype": "m.text", "body": text})
        return str(data["event_id"])

    async def sync(self, user: User, since: str | None = None, timeout_ms: int = 0,
                   filter_json: str | None = None, http_timeout: float = 300.0) -> Any:
        params = {"timeout": str(timeout_ms)}
        if since:
            params["since"] = since
        if filter_json:
            params["filter"] = filter_json
        return await self.call("GET", f"{C}/sync", user.token, params=params,
                               timeout=http_timeout + timeout_ms / 1000)

    async def messages(self, user: User, room_id: str, limit: int) -> Any:
        return await self.call("GET", f"{C}/rooms/{q(room_id)}/messages", user.token,
                               params={"dir": "b", "limit": str(limit)})


async def timed(coro: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await coro
    return time.perf_counter() - started, result


async def bounded_gather(items: list[Any], worker: Any, concurrency: int,
                         deadline: float) -> tuple[list[Any], list[str]]:
    """Run worker(item) for each item, `concurrency` at a time, until `deadline`
    (perf_counter). Returns (results in item order, None where skipped; errors)."""
    results: list[Any] = [None] * len(items)
    errors: list[str] = []
    index = iter(range(len(items)))

    async def lane() -> None:
        for i in index:
            if time.perf_counter() > deadline:
                return
            try:
                results[i] = await worker(items[i])
            except (ApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
                errors.append(str(err) or type(err).__name__)

    await asyncio.gather(*(lane() for _ in range(max(1, concurrency))))
    return results, errors
