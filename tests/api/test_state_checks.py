"""Checks on PUT /rooms/{roomId}/state and POST /forget that match their
dedicated endpoints: what the server refuses there, it refuses here too, and
nothing is stored."""

from __future__ import annotations

import httpx
import pytest

from matrix import register  # type: ignore[import-not-found]


async def test_inviting_an_unknown_local_user_through_state_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    resp = await alice.request("PUT", f"/rooms/{room}/state/m.room.member/@ghost:localhost",
                               {"membership": "invite"}, expect=404)
    assert resp["errcode"] == "M_NOT_FOUND"
    # Someone who registers that name later finds no invite waiting.
    ghost = await register(client, "ghost")
    assert room not in (await ghost.sync())["rooms"]["invite"]


@pytest.mark.parametrize("alias", ["notalias", "#nocolon", "#:localhost", "#a b:localhost",
                                   "#x:bad server"])
async def test_canonical_alias_grammar_is_checked(client: httpx.AsyncClient, alias: str) -> None:
    alice = await register(client, "alice")
    room = await alice.create_room()
    for content in ({"alias": alias}, {"alt_aliases": [alias]}):
        resp = await alice.request("PUT", f"/rooms/{room}/state/m.room.canonical_alias/",
                                   content, expect=400)
        assert resp["errcode"] == "M_INVALID_PARAM"
    await alice.request("GET", f"/rooms/{room}/state/m.room.canonical_alias/", expect=404)


@pytest.mark.parametrize("body", [b"{", b"[]", b"null", b"\xff"])
async def test_forget_with_a_malformed_body_forgets_nothing(client: httpx.AsyncClient,
                                                          body: bytes) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await bob.request("POST", f"/rooms/{room}/leave", {})
    resp = await client.post(f"/_matrix/client/v3/rooms/{room}/forget", content=body,
                             headers={**bob.auth, "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["errcode"] in ("M_NOT_JSON", "M_BAD_JSON")
    # Not forgotten: the left room's history is still readable.
    await bob.request("GET", f"/rooms/{room}/messages", params={"dir": "b"})
    await bob.request("POST", f"/rooms/{room}/forget", {})
    await bob.request("GET", f"/rooms/{room}/messages", params={"dir": "b"}, expect=403)


@pytest.mark.parametrize(("visibility", "seen"), [("invited", True), ("joined", False),
                                                  ("shared", False)])
async def test_an_invitee_reads_messages_as_event_allows(client: httpx.AsyncClient,
                                                         visibility: str, seen: bool) -> None:
    # history_visibility.md: "invited" opens events to a member from the point
    # they were invited, while invited or joined; /messages agrees with /event.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(initial_state=[{
        "type": "m.room.history_visibility", "state_key": "",
        "content": {"history_visibility": visibility}}])
    await alice.request("POST", f"/rooms/{room}/invite", {"user_id": bob.user_id})
    message = await alice.send(room, "while bob is invited")
    page = await bob.request("GET", f"/rooms/{room}/messages", params={"dir": "b"})
    assert (message in [e["event_id"] for e in page["chunk"]]) is seen
    await bob.request("GET", f"/rooms/{room}/event/{message}", expect=200 if seen else 404)


async def test_a_duplicate_annotation_is_refused(client: httpx.AsyncClient) -> None:
    # event_annotations.md "Avoiding duplicate annotations".
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    target = await alice.send(room, "react to me")

    def reaction(key: str) -> dict[str, object]:
        return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}

    first = await bob.request("PUT", f"/rooms/{room}/send/m.reaction/r1", reaction("👍"))
    again = await bob.request("PUT", f"/rooms/{room}/send/m.reaction/r2", reaction("👍"),
                              expect=400)
    assert again["errcode"] == "M_DUPLICATE_ANNOTATION"
    # A retransmission of the first request is not a duplicate: same event.
    assert await bob.request("PUT", f"/rooms/{room}/send/m.reaction/r1", reaction("👍")) == first
    # Other keys, other senders and other event types are fine.
    await bob.request("PUT", f"/rooms/{room}/send/m.reaction/r3", reaction("🎉"))
    await alice.request("PUT", f"/rooms/{room}/send/m.reaction/a1", reaction("👍"))
    await bob.request("PUT", f"/rooms/{room}/send/org.example.vote/v1", reaction("👍"))
    # Once the first is redacted, the same reaction may be sent again.
    await bob.request("PUT", f"/rooms/{room}/redact/{first['event_id']}/x1", {})
    await bob.request("PUT", f"/rooms/{room}/send/m.reaction/r4", reaction("👍"))
