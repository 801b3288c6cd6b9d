"""GET /notifications per notifications.yaml and push.md "Listing Notifications"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kith.api import notifications as notifications_api
from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def notifications(user: User, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await user.request("GET", "/notifications", params=params)
    validate_response("notifications.yaml", "get", "/notifications", 200, body)
    return body


def event_ids(body: dict[str, Any]) -> list[str]:
    return [n["event"]["event_id"] for n in body["notifications"]]


async def pair(client: httpx.AsyncClient) -> tuple[User, User, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat", name="Chat")
    await bob.join(room)
    return alice, bob, room


async def test_messages_notify_the_other_members_newest_first(client: httpx.AsyncClient) -> None:
    alice, bob, room = await pair(client)
    first = await alice.send(room, "one")
    second = await alice.send(room, "two")
    body = await notifications(bob)
    assert event_ids(body) == [second, first]
    top = body["notifications"][0]
    assert top["room_id"] == room and top["read"] is False and top["ts"] > 0
    assert "notify" in top["actions"]
    assert top["event"]["content"]["body"] == "two"
    assert "next_token" not in body
    # A user's own events never notify them.
    assert event_ids(await notifications(alice)) == []


async def test_highlights_read_receipts_and_pages(client: httpx.AsyncClient) -> None:
    alice, bob, room = await pair(client)
    plain = await alice.send(room, "hello all")
    mention = await alice.send(room, {"msgtype": "m.text", "body": "hi bob",
                                      "m.mentions": {"user_ids": [bob.user_id]}})
    last = await alice.send(room, "more")
    only = await notifications(bob, only="highlight")
    assert event_ids(only) == [mention]
    assert {"set_tweak": "highlight"} in only["notifications"][0]["actions"]
    await bob.request("POST", f"/rooms/{room}/receipt/m.read/{mention}", {})
    read = {n["event"]["event_id"]: n["read"] for n in (await notifications(bob))["notifications"]}
    assert read == {plain: True, mention: True, last: False}
    page = await notifications(bob, limit=2)
    assert event_ids(page) == [last, mention]
    rest = await notifications(bob, limit=2, **{"from": page["next_token"]})
    assert event_ids(rest) == [plain]
    await bob.request("GET", "/notifications", params={"from": "bogus"}, expect=400)


async def test_who_is_notified(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    carol = await register(client, "carol")
    room = await alice.create_room(preset="public_chat")
    early = await alice.send(room, "before anyone came")
    await bob.join(room)
    later = await alice.send(room, "after bob came")
    assert event_ids(await notifications(bob)) == [later]
    assert early not in event_ids(await notifications(bob))
    # The invitee of an invite is notified (.m.rule.invite_for_me).
    invite = await alice.request("POST", f"/rooms/{room}/invite", {"user_id": carol.user_id})
    assert invite == {}
    carols = await notifications(carol)
    assert [n["event"]["type"] for n in carols["notifications"]] == ["m.room.member"]
    assert carols["notifications"][0]["event"]["state_key"] == carol.user_id


async def test_ignored_senders_are_not_listed(client: httpx.AsyncClient) -> None:
    alice, bob, room = await pair(client)
    await alice.send(room, "ignored soon")
    assert len(event_ids(await notifications(bob))) == 1
    await bob.request("PUT", f"/user/{bob.user_id}/account_data/m.ignored_user_list",
                      {"ignored_users": {alice.user_id: {}}})
    assert event_ids(await notifications(bob)) == []


async def test_a_long_gap_is_crossed_page_by_page(client: httpx.AsyncClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # One request scans a bounded number of events; the token goes on from there.
    monkeypatch.setattr(notifications_api, "MAX_SCANNED", 5)
    monkeypatch.setattr(notifications_api, "BATCH", 3)
    alice, bob, room = await pair(client)
    message = await alice.send(room, "worth a notification")
    for i in range(12):  # topic changes match no rule that notifies
        await alice.request("PUT", f"/rooms/{room}/state/m.room.topic/", {"topic": f"t{i}"})
    pages, seen, token = 0, [], None
    while True:
        params = {"from": token} if token else {}
        body = await notifications(bob, **params)
        seen += event_ids(body)
        pages += 1
        token = body.get("next_token")
        if token is None:
            break
    assert seen == [message]
    assert pages >= 3
