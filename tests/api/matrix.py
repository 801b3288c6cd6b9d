"""A tiny Matrix test client over httpx for the in-process API tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

_txn = itertools.count()


@dataclass
class User:
    http: httpx.AsyncClient
    user_id: str
    device_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, body: Any = None, *, expect: int = 200,
                      params: dict[str, Any] | None = None) -> Any:
        url = path if path.startswith("/_matrix") or path.startswith("/.well") else "/_matrix/client/v3" + path
        response = await self.http.request(method, url, json=body, headers=self.auth, params=params)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    async def create_room(self, **body: Any) -> str:
        return str((await self.request("POST", "/createRoom", body))["room_id"])

    async def send(self, room_id: str, body: str | dict[str, Any], event_type: str = "m.room.message") -> str:
        content = {"msgtype": "m.text", "body": body} if isinstance(body, str) else body
        result = await self.request("PUT", f"/rooms/{room_id}/send/{event_type}/t{next(_txn)}", content)
        return str(result["event_id"])

    async def join(self, room: str) -> None:
        await self.request("POST", f"/join/{room}", {})

    async def sync(self, since: str | None = None, **params: Any) -> dict[str, Any]:
        if since:
            params["since"] = since
        params.setdefault("timeout", 0)
        result: dict[str, Any] = await self.request("GET", "/sync", params=params)
        return result


async def register(http: httpx.AsyncClient, name: str, password: str = "correct horse") -> User:
    response = await http.post(
        "/_matrix/client/v3/register",
        json={"username": name, "password": password, "auth": {"type": "m.login.dummy"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return User(http, body["user_id"], body["device_id"], body["access_token"])
