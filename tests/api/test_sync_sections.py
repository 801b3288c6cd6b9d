"""Every section of a /sync response, checked against sync.yaml's schema:
rooms.invite (stripped state), rooms.leave, rooms.knock, ephemeral events
(m.typing, m.receipt) and account data, global and per room."""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


def valid(body: dict[str, Any]) -> dict[str, Any]:
    validate_response("sync.yaml", "get", "/sync", 200, body)
    return body


async def busy_day(client: httpx.AsyncClient) -> tuple[User, User, dict[str, str], str]:
    """bob is joined to one room, invited to another, has knocked on a third
    and left a fourth. Returns alice, bob, the rooms and bob's token from
    before any of it."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    token = (await bob.sync())["next_batch"]
    rooms = {
        "join": await alice.create_room(name="Joined", preset="public_chat"),
        "invite": await alice.create_room(name="Invited"),
        "knock": await alice.create_room(name="Knocked"),
        "leave": await alice.create_room(name="Left", preset="public_chat"),
    }
    await alice.request("PUT", f"/rooms/{rooms['knock']}/state/m.room.join_rules",
                        {"join_rule": "knock"})
    await bob.join(rooms["join"])
    await alice.request("POST", f"/rooms/{rooms['invite']}/invite", {"user_id": bob.user_id})
    await bob.request("POST", f"/knock/{rooms['knock']}", {"reason": "let me in"})
    await bob.join(rooms["leave"])
    await bob.request("POST", f"/rooms/{rooms['leave']}/leave", {})
    return alice, bob, rooms, token


async def test_invite_leave_and_knock_sections(client: httpx.AsyncClient) -> None:
    alice, bob, rooms, token = await busy_day(client)
    for body in (valid(await bob.sync(token)), valid(await bob.sync())):
        sections = body["rooms"]
        assert list(sections["join"]) == [rooms["join"]]
        invite = sections["invite"][rooms["invite"]]["invite_state"]["events"]
        assert {"type": "m.room.name", "state_key": "", "sender": alice.user_id,
                "content": {"name": "Invited"}} in invite
        member = next(e for e in invite if e["type"] == "m.room.member")
        assert (member["state_key"], member["content"]["membership"]) == (bob.user_id, "invite")
        knock = sections["knock"][rooms["knock"]]["knock_state"]["events"]
        assert any(e["type"] == "m.room.name" and e["content"]["name"] == "Knocked" for e in knock)
        assert any(e["type"] == "m.room.member" and e["content"]["membership"] == "knock"
                   for e in knock)
    incremental = await bob.sync(token)
    left = incremental["rooms"]["leave"][rooms["leave"]]
    assert left["timeline"]["events"][-1]["content"]["membership"] == "leave"
    # An initial sync lists left rooms only when the filter asks (include_leave).
    assert rooms["leave"] not in (await bob.sync())["rooms"]["leave"]
    with_leave = valid(await bob.sync(filter='{"room": {"include_leave": true}}'))
    assert rooms["leave"] in with_leave["rooms"]["leave"]


async def test_ephemeral_and_account_data_sections(client: httpx.AsyncClient) -> None:
    alice, bob, rooms, _ = await busy_day(client)
    room_id = rooms["join"]
    message = await alice.send(room_id, "hello")
    token = (await bob.sync())["next_batch"]
    await alice.request("PUT", f"/rooms/{room_id}/typing/{alice.user_id}",
                        {"typing": True, "timeout": 30000})
    await alice.request("POST", f"/rooms/{room_id}/receipt/m.read/{message}", {})
    await bob.request("PUT", f"/user/{bob.user_id}/account_data/org.example.settings",
                      {"theme": "dark"})
    await bob.request("PUT", f"/user/{bob.user_id}/rooms/{room_id}/account_data/org.example.note",
                      {"text": "nice"})
    await bob.request("PUT", f"/user/{bob.user_id}/rooms/{room_id}/tags/u.work", {"order": 0.5})

    body = valid(await bob.sync(token))
    assert {"type": "org.example.settings", "content": {"theme": "dark"}} in \
        body["account_data"]["events"]
    room = body["rooms"]["join"][room_id]
    ephemeral = {e["type"]: e["content"] for e in room["ephemeral"]["events"]}
    assert ephemeral["m.typing"] == {"user_ids": [alice.user_id]}
    assert alice.user_id in ephemeral["m.receipt"][message]["m.read"]
    room_data = {e["type"]: e["content"] for e in room["account_data"]["events"]}
    assert room_data["org.example.note"] == {"text": "nice"}
    assert room_data["m.tag"] == {"tags": {"u.work": {"order": 0.5}}}
    # An initial sync carries the account data too.
    initial = valid(await bob.sync())
    assert any(e["type"] == "m.tag" for e in
               initial["rooms"]["join"][room_id]["account_data"]["events"])
