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


async def test_account_device_and_settings_endpoints_answer_in_the_spec_shape(
        client: httpx.AsyncClient) -> None:
    c = Checked(client)
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    uid = quote(alice.user_id)
    # registration_tokens.yaml: this server does not use tokens (open registration).
    await c.call(None, "GET", V1, "/register/m.login.registration_token/validity",
                 "registration_tokens.yaml", "/register/m.login.registration_token/validity",
                 params={"token": "abc"}, expect=403)

    # Rooms: join by ID, knock, redact, ban and unban, alias removal.
    room = (await c.call(alice, "POST", V3, "/createRoom", "create_room.yaml", "/createRoom",
                         {"preset": "public_chat"}))["room_id"]
    await c.call(bob, "POST", V3, f"/rooms/{room}/join", "joining.yaml", "/rooms/{roomId}/join", {})
    sent = await c.call(bob, "PUT", V3, f"/rooms/{room}/send/m.room.message/t1", "room_send.yaml",
                        "/rooms/{roomId}/send/{eventType}/{txnId}", {"msgtype": "m.text", "body": "x"})
    await c.call(alice, "PUT", V3, f"/rooms/{room}/redact/{sent['event_id']}/r1", "redaction.yaml",
                 "/rooms/{roomId}/redact/{eventId}/{txnId}", {"reason": "spam"})
    await c.call(alice, "POST", V3, f"/rooms/{room}/ban", "banning.yaml", "/rooms/{roomId}/ban",
                 {"user_id": bob.user_id, "reason": "spam"})
    await c.call(alice, "POST", V3, f"/rooms/{room}/unban", "banning.yaml", "/rooms/{roomId}/unban",
                 {"user_id": bob.user_id})
    knock_room = (await c.call(alice, "POST", V3, "/createRoom", "create_room.yaml", "/createRoom", {
        "initial_state": [{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}]}))["room_id"]
    await c.call(bob, "POST", V3, f"/knock/{quote(knock_room)}", "knocking.yaml",
                 "/knock/{roomIdOrAlias}", {"reason": "hello"})
    alias = quote("#conform:localhost")
    await c.call(alice, "PUT", V3, f"/directory/room/{alias}", "directory.yaml",
                 "/directory/room/{roomAlias}", {"room_id": room})
    await c.call(alice, "DELETE", V3, f"/directory/room/{alias}", "directory.yaml",
                 "/directory/room/{roomAlias}")

    # Per-room account data and tags.
    room_data = f"/user/{uid}/rooms/{room}/account_data/org.example.note"
    await c.call(alice, "PUT", V3, room_data, "account-data.yaml",
                 "/user/{userId}/rooms/{roomId}/account_data/{type}", {"note": "mine"})
    await c.call(alice, "GET", V3, room_data, "account-data.yaml",
                 "/user/{userId}/rooms/{roomId}/account_data/{type}")
    tag = f"/user/{uid}/rooms/{room}/tags/m.favourite"
    await c.call(alice, "PUT", V3, tag, "tags.yaml", "/user/{userId}/rooms/{roomId}/tags/{tag}",
                 {"order": 0.25})
    await c.call(alice, "DELETE", V3, tag, "tags.yaml", "/user/{userId}/rooms/{roomId}/tags/{tag}")

    # Presence and profile fields.
    presence = f"/presence/{uid}/status"
    await c.call(alice, "PUT", V3, presence, "presence.yaml", "/presence/{userId}/status",
                 {"presence": "online", "status_msg": "here"})
    await c.call(bob, "GET", V3, presence, "presence.yaml", "/presence/{userId}/status")
    await c.call(alice, "PUT", V3, f"/profile/{uid}/m.tz", "profile.yaml",
                 "/profile/{userId}/{keyName}", {"m.tz": "Europe/Paris"})
    await c.call(alice, "DELETE", V3, f"/profile/{uid}/m.tz", "profile.yaml",
                 "/profile/{userId}/{keyName}")

    # A push rule of one's own: enable, actions, delete.
    rule = "/pushrules/global/override/org.example.quiet"
    await c.call(alice, "PUT", V3, rule, "pushrules.yaml", "/pushrules/global/{kind}/{ruleId}", {
        "actions": ["notify"],
        "conditions": [{"kind": "event_match", "key": "content.body", "pattern": "quiet"}]})
    await c.call(alice, "GET", V3, rule + "/enabled", "pushrules.yaml",
                 "/pushrules/global/{kind}/{ruleId}/enabled")
    await c.call(alice, "PUT", V3, rule + "/enabled", "pushrules.yaml",
                 "/pushrules/global/{kind}/{ruleId}/enabled", {"enabled": False})
    await c.call(alice, "GET", V3, rule + "/actions", "pushrules.yaml",
                 "/pushrules/global/{kind}/{ruleId}/actions")
    await c.call(alice, "PUT", V3, rule + "/actions", "pushrules.yaml",
                 "/pushrules/global/{kind}/{ruleId}/actions", {"actions": []})
    await c.call(alice, "DELETE", V3, rule, "pushrules.yaml", "/pushrules/global/{kind}/{ruleId}")

    # Devices: rename, delete one and several (user-interactive auth each time).
    def password_auth(session: str, user: User) -> dict[str, Any]:
        return {"type": "m.login.password", "session": session, "password": "correct horse",
                "identifier": {"type": "m.id.user", "user": user.user_id}}

    async def second_device(name: str) -> User:
        login = await c.call(None, "POST", V3, "/login", "login.yaml", "/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": name},
            "password": "correct horse"})
        return User(client, login["user_id"], login["device_id"], login["access_token"])

    laptop = await second_device("alice")
    device = f"/devices/{laptop.device_id}"
    await c.call(alice, "PUT", V3, device, "device_management.yaml", "/devices/{deviceId}",
                 {"display_name": "Laptop"})
    started = await c.call(alice, "DELETE", V3, device, "device_management.yaml",
                           "/devices/{deviceId}", {}, expect=401)
    await c.call(alice, "DELETE", V3, device, "device_management.yaml", "/devices/{deviceId}",
                 {"auth": password_auth(started["session"], alice)})
    spare = await second_device("alice")
    started = await c.call(alice, "POST", V3, "/delete_devices", "device_management.yaml",
                           "/delete_devices", {"devices": [spare.device_id]}, expect=401)
    await c.call(alice, "POST", V3, "/delete_devices", "device_management.yaml", "/delete_devices",
                 {"devices": [spare.device_id], "auth": password_auth(started["session"], alice)})

    # Password change, logout, logout/all, deactivation.
    started = await c.call(alice, "POST", V3, "/account/password", "password_management.yaml",
                           "/account/password", {"new_password": "new horse"}, expect=401)
    await c.call(alice, "POST", V3, "/account/password", "password_management.yaml",
                 "/account/password", {"new_password": "new horse", "logout_devices": False,
                                       "auth": password_auth(started["session"], alice)})
    await c.call(bob, "POST", V3, "/logout", "logout.yaml", "/logout", {})
    bob = await second_device("bob")
    await c.call(bob, "POST", V3, "/logout/all", "logout.yaml", "/logout/all", {})
    bob = await second_device("bob")
    started = await c.call(bob, "POST", V3, "/account/deactivate", "account_deactivation.yaml",
                           "/account/deactivate", {}, expect=401)
    await c.call(bob, "POST", V3, "/account/deactivate", "account_deactivation.yaml",
                 "/account/deactivate", {"auth": password_auth(started["session"], bob)})
    assert len(c.checked) >= 40
