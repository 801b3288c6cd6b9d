"""Transaction IDs of PUT /sendToDevice/{eventType}/{txnId} (to_device.yaml;
client-server-api "Transaction identifiers": a retransmission has the same
txnId *and* request path, from the same device), and how long they are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from kith.app import App, build_app
from kith.config import Config
from kith.store.e2ee_to_device import TXN_KEEP_MS
from matrix import User, register  # type: ignore[import-not-found]


async def put(sender: User, target: User, event_type: str, txn_id: str, n: int) -> None:
    await sender.request("PUT", f"/sendToDevice/{event_type}/{txn_id}",
                         {"messages": {target.user_id: {target.device_id: {"n": n}}}})


async def waiting(user: User, since: str) -> list[tuple[str, int]]:
    events = (await user.sync(since))["to_device"]["events"]
    return [(e["type"], e["content"]["n"]) for e in events]


def txn_rows(app: App) -> list[tuple[str, str, str]]:
    return app.db.read_sync(lambda cur: cur.execute(
        "SELECT device_id, event_type, txn_id FROM e2ee_to_device_txn_ids"
        " ORDER BY received_ts, txn_id").fetchall())


async def test_the_event_type_is_part_of_the_path(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    since = (await bob.sync())["next_batch"]
    await put(alice, bob, "m.a", "tx", 1)
    await put(alice, bob, "m.b", "tx", 2)  # another path: a new request
    await put(alice, bob, "m.a", "tx", 3)  # the first path again: a retransmission
    assert await waiting(bob, since) == [("m.a", 1), ("m.b", 2)]


async def test_another_device_of_the_sender_has_its_own_txn_ids(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse"})
    phone = User(client, alice.user_id, login.json()["device_id"], login.json()["access_token"])
    since = (await bob.sync())["next_batch"]
    await put(alice, bob, "m.a", "tx", 1)
    await put(phone, bob, "m.a", "tx", 2)
    assert await waiting(bob, since) == [("m.a", 1), ("m.a", 2)]


async def test_txn_ids_older_than_a_day_are_pruned(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    since = (await bob.sync())["next_batch"]
    await put(alice, bob, "m.a", "old", 1)
    await put(alice, bob, "m.a", "recent", 2)
    # "old" was received more than a day ago, "recent" just under a day ago.
    app.db.write_sync(lambda cur: cur.execute(
        "UPDATE e2ee_to_device_txn_ids SET received_ts = received_ts - ?"
        " WHERE txn_id = ?", (TXN_KEEP_MS + 1000, "old")))
    app.db.write_sync(lambda cur: cur.execute(
        "UPDATE e2ee_to_device_txn_ids SET received_ts = received_ts - ?"
        " WHERE txn_id = ?", (TXN_KEEP_MS - 60_000, "recent")))
    await put(alice, bob, "m.a", "new", 3)  # any send prunes
    assert [row[2] for row in txn_rows(app)] == ["recent", "new"]
    await put(alice, bob, "m.a", "recent", 4)  # still known: a retransmission
    assert await waiting(bob, since) == [("m.a", 1), ("m.a", 2), ("m.a", 3)]


async def test_a_deleted_device_loses_its_txn_ids(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await put(alice, bob, "m.a", "t1", 1)
    await put(bob, alice, "m.a", "t1", 2)
    await alice.request("POST", "/logout")
    assert txn_rows(app) == [(bob.device_id, "m.a", "t1")]


def test_txn_ids_of_an_old_data_directory_are_dropped(tmp_path: Path) -> None:
    """Before the event type was part of the key, e2ee_to_device_txns held
    txnIds alone; a data directory from then starts with the new table."""
    config = Config(data_dir=tmp_path / "data")
    config.data_dir.mkdir()
    with sqlite3.connect(config.database_path) as conn:
        conn.execute("CREATE TABLE e2ee_to_device_txns (user_id TEXT NOT NULL,"
                     " device_id TEXT NOT NULL, txn_id TEXT NOT NULL,"
                     " PRIMARY KEY (user_id, device_id, txn_id))")
        conn.execute("INSERT INTO e2ee_to_device_txns VALUES ('@a:localhost', 'D', 't')")
    built = build_app(config)
    try:
        tables = {r[0] for r in built.db.read_sync(lambda cur: cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall())}
    finally:
        built.db.close()
    assert "e2ee_to_device_txns" not in tables and "e2ee_to_device_txn_ids" in tables
