"""Transaction identifiers (client-server-api "Transaction identifiers"): a request
is a retransmission when the device, the request path and the txnId are all the
same; then the original response comes back and nothing new is stored."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from kith.app import build_app
from kith.config import Config
from matrix import User, register  # type: ignore[import-not-found]

MESSAGE = {"msgtype": "m.text", "body": "once"}


async def bodies(user: User, room_id: str) -> list[str]:
    """Bodies of the room's messages, oldest first; redacted ones have none."""
    messages = await user.request("GET", f"/rooms/{room_id}/messages",
                                  params={"dir": "f", "limit": 100})
    return [e["content"]["body"] for e in messages["chunk"]
            if e["type"] == "m.room.message" and "body" in e["content"]]


async def put(user: User, path: str, body: object) -> str:
    return str((await user.request("PUT", path, body))["event_id"])


async def test_a_true_retry_returns_the_first_event_and_stores_nothing(
        client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    first = await put(alice, f"/rooms/{room}/send/m.room.message/same", MESSAGE)
    again = await put(alice, f"/rooms/{room}/send/m.room.message/same", {"body": "changed"})
    assert again == first
    assert await bodies(alice, room) == ["once"]
    # The sender's own copy carries the txnId it used (room_send.yaml / unsigned).
    event = await alice.request("GET", f"/rooms/{room}/event/{first}")
    assert event["unsigned"]["transaction_id"] == "same"


async def test_same_txn_id_into_another_room_is_a_new_event(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_a, room_b = await alice.create_room(), await alice.create_room()
    in_a = await put(alice, f"/rooms/{room_a}/send/m.room.message/same", MESSAGE)
    in_b = await put(alice, f"/rooms/{room_b}/send/m.room.message/same", MESSAGE)
    assert in_a != in_b
    assert await bodies(alice, room_a) == ["once"]
    assert await bodies(alice, room_b) == ["once"]
    assert (await alice.request("GET", f"/rooms/{room_b}/event/{in_b}"))["room_id"] == room_b


async def test_same_txn_id_with_another_event_type_is_a_new_event(
        client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    message = await put(alice, f"/rooms/{room}/send/m.room.message/same", MESSAGE)
    custom = await put(alice, f"/rooms/{room}/send/org.example.ping/same", {"n": 1})
    assert message != custom
    event = await alice.request("GET", f"/rooms/{room}/event/{custom}")
    assert event["type"] == "org.example.ping"


async def test_same_txn_id_from_another_device_is_a_new_event(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse"})
    body = login.json()
    laptop = User(client, body["user_id"], body["device_id"], body["access_token"])
    first = await put(alice, f"/rooms/{room}/send/m.room.message/same", MESSAGE)
    second = await put(laptop, f"/rooms/{room}/send/m.room.message/same", MESSAGE)
    assert first != second
    assert await bodies(alice, room) == ["once", "once"]


async def test_redact_endpoint_and_send_endpoint_are_separate_scopes(
        client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    one = await put(alice, f"/rooms/{room}/send/m.room.message/t1", {"msgtype": "m.text", "body": "1"})
    two = await put(alice, f"/rooms/{room}/send/m.room.message/t2", {"msgtype": "m.text", "body": "2"})
    redact_one = await put(alice, f"/rooms/{room}/redact/{one}/t1", {})
    assert redact_one not in (one, two)
    assert await put(alice, f"/rooms/{room}/redact/{one}/t1", {}) == redact_one
    # Same txnId, another event to redact: another path, so another redaction.
    redact_two = await put(alice, f"/rooms/{room}/redact/{two}/t1", {})
    assert redact_two != redact_one
    event = await alice.request("GET", f"/rooms/{room}/event/{redact_one}")
    assert event["unsigned"]["transaction_id"] == "t1"  # the client's txnId, unchanged
    assert await bodies(alice, room) == []  # both redacted: no body left


@asynccontextmanager
async def running(config: Config) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(config)
    await app.startup()
    try:
        transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
            yield http
    finally:
        await app.shutdown()


async def restart_and(config: Config, user: User,
                      then: Callable[[User], Awaitable[None]]) -> None:
    async with running(config) as http:
        await then(User(http, user.user_id, user.device_id, user.token))


async def test_a_retry_after_a_restart_is_still_recognised(app_config: Config) -> None:
    async with running(app_config) as http:
        alice = await register(http, "alice")
        room = await alice.create_room()
        first = await put(alice, f"/rooms/{room}/send/m.room.message/same", MESSAGE)

    async def retry(again: User) -> None:
        assert await put(again, f"/rooms/{room}/send/m.room.message/same", MESSAGE) == first
        assert await bodies(again, room) == ["once"]

    await restart_and(app_config, alice, retry)


async def test_a_data_dir_with_the_old_txn_table_keeps_its_retries(app_config: Config) -> None:
    """Before, IDs were kept per (user, device, txnId) in event_txns and a
    redaction's as "redact:<txnId>"; such a database is migrated on start."""
    async with running(app_config) as http:
        alice = await register(http, "alice")
        room = await alice.create_room()
        sent = await put(alice, f"/rooms/{room}/send/m.room.message/m1", MESSAGE)
        redaction = await put(alice, f"/rooms/{room}/redact/{sent}/r1", {})
    db = sqlite3.connect(app_config.database_path)
    with db:
        db.execute("CREATE TABLE event_txns (user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
                   " txn_id TEXT NOT NULL, event_id TEXT NOT NULL,"
                   " PRIMARY KEY (user_id, device_id, txn_id))")
        db.execute("INSERT INTO event_txns SELECT user_id, device_id,"
                   " CASE WHEN path LIKE '%/redact/%' THEN 'redact:' || txn_id ELSE txn_id END,"
                   " event_id FROM room_txns")
        db.execute("UPDATE events SET txn_id = 'redact:' || txn_id WHERE event_id = ?",
                   (redaction,))
        db.execute("DROP TABLE room_txns")
    db.close()

    async def retry(again: User) -> None:
        assert await put(again, f"/rooms/{room}/send/m.room.message/m1", MESSAGE) == sent
        assert await put(again, f"/rooms/{room}/redact/{sent}/r1", {}) == redaction
        event = await again.request("GET", f"/rooms/{room}/event/{redaction}")
        assert event["unsigned"]["transaction_id"] == "r1"
        other = await again.create_room()
        assert await put(again, f"/rooms/{other}/send/m.room.message/m1", MESSAGE) != sent

    await restart_and(app_config, alice, retry)
    tables = sqlite3.connect(app_config.database_path).execute(
        "SELECT name FROM sqlite_master WHERE name = 'event_txns'").fetchall()
    assert tables == []
