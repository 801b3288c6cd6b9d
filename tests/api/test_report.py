"""Reporting content per report_content.yaml."""

from __future__ import annotations

import httpx

from kith.app import App
from kith.store.reports import ReportStore
from matrix import register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def test_report_event_is_stored(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    await bob.join(room_id)
    event_id = await alice.send(room_id, "rude")
    body = await bob.request("POST", f"/rooms/{room_id}/report/{event_id}",
                             {"reason": "this makes me sad", "score": -100})
    validate_response("report_content.yaml", "post", "/rooms/{roomId}/report/{eventId}", 200, body)
    assert body == {}
    await bob.request("POST", f"/rooms/{room_id}/report/{event_id}", {})
    reports = await ReportStore(app.db).all()
    assert [(r["reporter"], r["room_id"], r["event_id"], r["reason"], r["score"])
            for r in reports] == [
        (bob.user_id, room_id, event_id, "this makes me sad", -100),
        (bob.user_id, room_id, event_id, None, None),
    ]


async def test_report_event_404s(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat")
    event_id = await alice.send(room_id, "hello")
    path = "/rooms/{roomId}/report/{eventId}"
    # Not joined (report_content.yaml: "The caller must be joined to the room").
    error = await bob.request("POST", f"/rooms/{room_id}/report/{event_id}", {"reason": "x"},
                              expect=404)
    validate_response("report_content.yaml", "post", path, 404, error)
    assert error["errcode"] == "M_NOT_FOUND"
    await bob.join(room_id)
    await bob.request("POST", f"/rooms/{room_id}/report/$unknown", {"reason": "x"}, expect=404)
    other = await alice.create_room()
    await alice.request("POST", f"/rooms/{other}/report/{event_id}", {"reason": "x"}, expect=404)
    await bob.request("POST", f"/rooms/!nope:localhost/report/{event_id}", {}, expect=404)
    # An event Bob may not see: sent while history was "joined", before he joined.
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.history_visibility/",
                        {"history_visibility": "joined"})
    await bob.request("POST", f"/rooms/{room_id}/leave", {})
    hidden = await alice.send(room_id, "while bob was away")
    await bob.join(room_id)
    await bob.request("POST", f"/rooms/{room_id}/report/{hidden}", {}, expect=404)
    bad = await bob.request("POST", f"/rooms/{room_id}/report/{event_id}", {"reason": 5},
                            expect=400)
    assert bad["errcode"] == "M_BAD_JSON"
    bad = await bob.request("POST", f"/rooms/{room_id}/report/{event_id}", {"score": 10},
                            expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"
    assert await ReportStore(app.db).all() == []


async def test_report_room_and_user(client: httpx.AsyncClient, app: App) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room()
    # Reporting a room does not need membership.
    body = await bob.request("POST", f"/rooms/{room_id}/report", {"reason": "spam"})
    validate_response("report_content.yaml", "post", "/rooms/{roomId}/report", 200, body)
    missing = await bob.request("POST", "/rooms/!nope:localhost/report", {"reason": "x"},
                                expect=404)
    validate_response("report_content.yaml", "post", "/rooms/{roomId}/report", 404, missing)
    no_reason = await bob.request("POST", f"/rooms/{room_id}/report", {}, expect=400)
    assert no_reason["errcode"] == "M_MISSING_PARAM"
    body = await bob.request("POST", f"/users/{alice.user_id}/report", {"reason": ""})
    validate_response("report_content.yaml", "post", "/users/{userId}/report", 200, body)
    unknown = await bob.request("POST", "/users/@ghost:localhost/report", {"reason": "x"},
                                expect=404)
    assert unknown["errcode"] == "M_NOT_FOUND"
    reports = await ReportStore(app.db).all()
    assert [(r["room_id"], r["event_id"], r["target_user"], r["reason"]) for r in reports] == [
        (room_id, None, None, "spam"), (None, None, alice.user_id, "")]
    response = await client.post(f"/_matrix/client/v3/rooms/{room_id}/report",
                                 json={"reason": "x"})
    assert response.status_code == 401
