"""Responses of the Client-Server endpoints validate against the spec's schemas.

One conversation between two users touches each endpoint once; every response
body is checked against the OpenAPI definition it belongs to
(../shared/matrix-spec/data/api/client-server).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


class Checked:
    """Sends a request and validates the response against (api_file, template)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.checked: list[str] = []

    async def call(self, user: User | None, method: str, prefix: str, path: str, api_file: str,
                   template: str, body: Any = None, params: dict[str, Any] | None = None,
                   expect: int = 200) -> Any:
        headers = user.auth if user else {}
        response = await self.http.request(method, prefix + path, json=body, params=params,
                                           headers=headers)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        payload = response.json()
        validate_response(api_file, method.lower(), template, expect, payload)
        self.checked.append(f"{method} {template}")
        return payload


V3 = "/_matrix/client/v3"
V1 = "/_matrix/client/v1"


async def test_endpoints_answer_in_the_spec_shape(client: httpx.AsyncClient) -> None:
    c = Checked(client)
    await c.call(None, "GET", "/_matrix/client", "/versions", "versions.yaml", "/versions")
    await c.call(None, "GET", "/.well-known", "/matrix/client", "wellknown.yaml", "/matrix/client")
    await c.call(None, "GET", V3, "/login", "login.yaml", "/login")
    await c.call(None, "POST", V3, "/register", "registration.yaml", "/register",
                 {"username": "zed", "password": "pw"}, expect=401)
    await c.call(None, "GET", V3, "/register/available", "registration.yaml", "/register/available",
                 params={"username": "someone"})
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    await c.call(None, "POST", V3, "/login", "login.yaml", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse"})
    await c.call(alice, "GET", V3, "/capabilities", "capabilities.yaml", "/capabilities")
    await c.call(alice, "GET", V3, "/account/whoami", "whoami.yaml", "/account/whoami")
    await c.call(alice, "GET", V3, "/devices", "device_management.yaml", "/devices")
    await c.call(alice, "GET", V3, f"/devices/{alice.device_id}", "device_management.yaml",
                 "/devices/{deviceId}")

    room = (await c.call(alice, "POST", V3, "/createRoom", "create_room.yaml", "/createRoom",
                         {"name": "Spec", "topic": "Shapes", "preset": "private_chat"}))["room_id"]
    await c.call(alice, "POST", V3, f"/rooms/{room}/invite", "inviting.yaml",
                 "/rooms/{roomId}/invite", {"user_id": bob.user_id})
    await c.call(bob, "POST", V3, f"/join/{quote(room)}", "joining.yaml", "/join/{roomIdOrAlias}", {})
    sent = await c.call(alice, "PUT", V3, f"/rooms/{room}/send/m.room.message/t1", "room_send.yaml",
                        "/rooms/{roomId}/send/{eventType}/{txnId}", {"msgtype": "m.text", "body": "hi"})
    event_id = sent["event_id"]
    await c.call(alice, "PUT", V3, f"/rooms/{room}/state/m.room.topic/", "room_state.yaml",
                 "/rooms/{roomId}/state/{eventType}/{stateKey}", {"topic": "New"})
    await c.call(bob, "GET", V3, f"/rooms/{room}/state", "rooms.yaml", "/rooms/{roomId}/state")
    await c.call(bob, "GET", V3, f"/rooms/{room}/state/m.room.name/", "rooms.yaml",
                 "/rooms/{roomId}/state/{eventType}/{stateKey}")
    await c.call(bob, "GET", V3, f"/rooms/{room}/event/{event_id}", "rooms.yaml",
                 "/rooms/{roomId}/event/{eventId}")
    await c.call(bob, "GET", V3, f"/rooms/{room}/members", "rooms.yaml", "/rooms/{roomId}/members")
    await c.call(bob, "GET", V3, f"/rooms/{room}/joined_members", "rooms.yaml",
                 "/rooms/{roomId}/joined_members")
    await c.call(bob, "GET", V3, "/joined_rooms", "list_joined_rooms.yaml", "/joined_rooms")
    await c.call(bob, "GET", V3, f"/rooms/{room}/messages", "message_pagination.yaml",
                 "/rooms/{roomId}/messages", params={"dir": "b", "limit": 5})
    await c.call(bob, "GET", V3, f"/rooms/{room}/context/{event_id}", "event_context.yaml",
                 "/rooms/{roomId}/context/{eventId}", params={"limit": 4})
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "👍"}}
    await c.call(bob, "PUT", V3, f"/rooms/{room}/send/m.reaction/r1", "room_send.yaml",
                 "/rooms/{roomId}/send/{eventType}/{txnId}", reaction)
    await c.call(bob, "GET", V1, f"/rooms/{room}/relations/{event_id}", "relations.yaml",
                 "/rooms/{roomId}/relations/{eventId}")
    await c.call(bob, "PUT", V3, f"/rooms/{room}/typing/{bob.user_id}", "typing.yaml",
                 "/rooms/{roomId}/typing/{userId}", {"typing": True, "timeout": 5000})
    await c.call(bob, "POST", V3, f"/rooms/{room}/receipt/m.read/{event_id}", "receipts.yaml",
                 "/rooms/{roomId}/receipt/{receiptType}/{eventId}", {})
    await c.call(bob, "POST", V3, f"/rooms/{room}/read_markers", "read_markers.yaml",
                 "/rooms/{roomId}/read_markers", {"m.fully_read": event_id})
    await c.call(bob, "PUT", V3, f"/user/{bob.user_id}/rooms/{room}/tags/u.work", "tags.yaml",
                 "/user/{userId}/rooms/{roomId}/tags/{tag}", {"order": 0.5})
    await c.call(bob, "GET", V3, f"/user/{bob.user_id}/rooms/{room}/tags", "tags.yaml",
                 "/user/{userId}/rooms/{roomId}/tags")
    await c.call(bob, "PUT", V3, f"/user/{bob.user_id}/account_data/org.example.x", "account-data.yaml",
                 "/user/{userId}/account_data/{type}", {"a": 1})
    await c.call(bob, "GET", V3, f"/user/{bob.user_id}/account_data/org.example.x", "account-data.yaml",
                 "/user/{userId}/account_data/{type}")
    await c.call(bob, "PUT", V3, f"/profile/{bob.user_id}/displayname", "profile.yaml",
                 "/profile/{userId}/{keyName}", {"displayname": "Bobby"})
    await c.call(alice, "GET", V3, f"/profile/{bob.user_id}", "profile.yaml", "/profile/{userId}")
    await c.call(alice, "GET", V3, "/pushrules/", "pushrules.yaml", "/pushrules/")
    filter_id = (await c.call(bob, "POST", V3, f"/user/{bob.user_id}/filter", "filter.yaml",
                              "/user/{userId}/filter",
                              {"room": {"timeline": {"limit": 5}}}))["filter_id"]
    await c.call(bob, "GET", V3, f"/user/{bob.user_id}/filter/{filter_id}", "filter.yaml",
                 "/user/{userId}/filter/{filterId}")
    synced = await c.call(bob, "GET", V3, "/sync", "sync.yaml", "/sync", params={"filter": filter_id})
    await c.call(bob, "GET", V3, "/sync", "sync.yaml", "/sync",
                 params={"since": synced["next_batch"], "timeout": 0})
    await c.call(alice, "POST", V3, "/user_directory/search", "users.yaml", "/user_directory/search",
                 {"search_term": "bob"})
    await c.call(alice, "PUT", V3, f"/directory/room/{quote('#spec:localhost')}", "directory.yaml",
                 "/directory/room/{roomAlias}", {"room_id": room})
    await c.call(bob, "GET", V3, f"/directory/room/{quote('#spec:localhost')}", "directory.yaml",
                 "/directory/room/{roomAlias}")
    await c.call(bob, "GET", V3, f"/rooms/{room}/aliases", "directory.yaml", "/rooms/{roomId}/aliases")
    await c.call(alice, "GET", V3, "/publicRooms", "list_public_rooms.yaml", "/publicRooms")
    await c.call(alice, "POST", V3, f"/rooms/{room}/kick", "kicking.yaml", "/rooms/{roomId}/kick",
                 {"user_id": bob.user_id, "reason": "done"})
    await c.call(bob, "POST", V3, f"/rooms/{room}/forget", "leaving.yaml", "/rooms/{roomId}/forget", {})
    await c.call(alice, "POST", V3, f"/rooms/{room}/leave", "leaving.yaml", "/rooms/{roomId}/leave", {})
    assert len(c.checked) >= 45
