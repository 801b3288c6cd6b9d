"""Receipts per receipts.yaml and read markers per read_markers.yaml."""

from __future__ import annotations

import httpx

from kith.app import App
from kith.store.receipts import ReceiptStore
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

R = "/rooms/{roomId}/receipt/{receiptType}/{eventId}"


async def test_receipts_stored_and_filtered_per_requester(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    first = await alice.send(room_id, "one")
    second = await alice.send(room_id, "two")
    store = ReceiptStore(app.db)
    before = app.db.current_stream_id
    body = await bob.request("POST", f"/rooms/{room_id}/receipt/m.read/{first}", {})
    validate_response("receipts.yaml", "post", R, 200, body)
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read.private/{second}", {})
    upto = app.db.current_stream_id
    seen_by_bob = await store.for_rooms([room_id], before, upto, bob.user_id)
    content = seen_by_bob[room_id]["content"]
    assert content[first]["m.read"][bob.user_id]["ts"] > 0
    assert bob.user_id in content[second]["m.read.private"]
    seen_by_alice = await store.for_rooms([room_id], None, upto, alice.user_id)
    assert second not in seen_by_alice[room_id]["content"]
    assert seen_by_bob[room_id]["type"] == "m.receipt"
    assert await store.for_rooms([room_id], upto, upto, bob.user_id) == {}
    # Positions: the furthest of m.read and m.read.private.
    second_pos = (await app_event_stream(app, second))
    assert await store.last_read_position(room_id, bob.user_id) == second_pos
    assert await store.last_read_position(room_id, alice.user_id) == 0
    # An older event does not move the marker back.
    await bob.request("POST", f"/rooms/{room_id}/receipt/m.read.private/{first}", {})
    assert await store.last_read_position(room_id, bob.user_id) == second_pos


async def app_event_stream(app: App, event_id: str) -> int:
    row = await app.db.read(lambda cur: cur.execute(
        "SELECT stream_id FROM events WHERE event_id = ?", (event_id,)).fetchone())
    return int(row[0])


async def test_receipt_errors(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    other_room = await alice.create_room()
    event_id = await alice.send(room_id, "hi")
    elsewhere = await alice.send(other_room, "there")
    base = f"/rooms/{room_id}/receipt"
    assert (await alice.request("POST", f"{base}/m.nope/{event_id}", {}, expect=400))["errcode"] == "M_INVALID_PARAM"
    empty = await alice.request("POST", f"{base}/m.read/{event_id}", {"thread_id": ""}, expect=400)
    assert empty["errcode"] == "M_INVALID_PARAM"
    validate_response("receipts.yaml", "post", R, 400, empty)
    await alice.request("POST", f"{base}/m.read/{event_id}", {"thread_id": 5}, expect=400)
    await alice.request("POST", f"{base}/m.fully_read/{event_id}", {"thread_id": "main"}, expect=400)
    await alice.request("POST", f"{base}/m.read/$unknown:localhost", {}, expect=404)
    await alice.request("POST", f"{base}/m.read/{elsewhere}", {}, expect=404)
    assert (await bob.request("POST", f"{base}/m.read/{event_id}", {}, expect=403))["errcode"] == "M_FORBIDDEN"
    await alice.request("POST", f"/rooms/!nope:localhost/receipt/m.read/{event_id}", {}, expect=404)


async def test_threaded_receipts(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    root = await alice.send(room_id, "root")
    reply = await alice.send(room_id, {"msgtype": "m.text", "body": "in thread",
                                       "m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    base = f"/rooms/{room_id}/receipt/m.read"
    await alice.request("POST", f"{base}/{root}", {"thread_id": "main"})
    await alice.request("POST", f"{base}/{reply}", {"thread_id": root})
    await alice.request("POST", f"{base}/{root}", {"thread_id": root})
    await alice.request("POST", f"{base}/{reply}", {"thread_id": "main"}, expect=400)
    await alice.request("POST", f"{base}/{root}", {"thread_id": "$other:localhost"}, expect=400)


async def test_fully_read_and_read_markers(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    room_id = await alice.create_room()
    first = await alice.send(room_id, "one")
    second = await alice.send(room_id, "two")
    fr = f"/user/{alice.user_id}/rooms/{room_id}/account_data/m.fully_read"
    await alice.request("POST", f"/rooms/{room_id}/receipt/m.fully_read/{first}", {})
    assert await alice.request("GET", fr) == {"event_id": first}
    body = await alice.request("POST", f"/rooms/{room_id}/read_markers",
                               {"m.fully_read": second, "m.read": second})
    validate_response("read_markers.yaml", "post", "/rooms/{roomId}/read_markers", 200, body)
    assert await alice.request("GET", fr) == {"event_id": second}
    store = ReceiptStore(app.db)
    assert await store.last_read_position(room_id, alice.user_id) == await app_event_stream(app, second)
    # A bad event changes nothing.
    await alice.request("POST", f"/rooms/{room_id}/read_markers",
                        {"m.fully_read": first, "m.read": "$missing:localhost"}, expect=404)
    assert await alice.request("GET", fr) == {"event_id": second}
    await alice.request("POST", f"/rooms/{room_id}/read_markers", {"m.read": 3}, expect=400)
    await alice.request("POST", f"/rooms/{room_id}/read_markers", {})
