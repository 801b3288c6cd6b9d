"""POST /account/deactivate with and without `erase` (account_deactivation.yaml).

With erase, "any users which join the room after the erasure request are
served redacted copies of the events sent by this account. Users which had
visibility on those events prior to the erasure are still able to see
unredacted copies", and non-event data such as account data is erased too.
"""

from __future__ import annotations

from typing import Any

import httpx

from matrix import User, register  # type: ignore[import-not-found]

PASSWORD = "correct horse"


async def deactivate(user: User, **extra: Any) -> None:
    first = await user.request("POST", "/account/deactivate", extra, expect=401)
    auth = {"type": "m.login.password", "session": first["session"], "password": PASSWORD,
            "identifier": {"type": "m.id.user", "user": user.user_id}}
    done = await user.request("POST", "/account/deactivate", {**extra, "auth": auth})
    assert done["id_server_unbind_result"] == "no-support"


async def bodies_seen_by(user: User, room_id: str, sender: str) -> list[Any]:
    chunk = (await user.request("GET", f"/rooms/{room_id}/messages",
                                params={"dir": "b", "limit": 50}))["chunk"]
    return [e["content"].get("body") for e in chunk
            if e["sender"] == sender and e["type"] == "m.room.message"]


async def upload(user: User) -> str:
    response = await user.http.post("/_matrix/media/v3/upload", content=b"a picture",
                                    headers={**user.auth, "Content-Type": "image/png"})
    assert response.status_code == 200, response.text
    return str(response.json()["content_uri"])


async def setup_room(client: httpx.AsyncClient) -> tuple[User, User, str, str]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="public_chat", name="Town square",
                                      initial_state=[{"type": "m.room.history_visibility",
                                                      "state_key": "",
                                                      "content": {"history_visibility": "shared"}}])
    await bob.join(room_id)
    event_id = await alice.send(room_id, "my secret plans")
    await alice.request("PUT", f"/user/{alice.user_id}/account_data/org.example.notes",
                        {"private": True})
    return alice, bob, room_id, event_id


async def test_erase_serves_redacted_copies_to_later_joiners_only(client: httpx.AsyncClient) -> None:
    alice, bob, room_id, event_id = await setup_room(client)
    media = await upload(alice)
    await deactivate(alice, erase=True)

    # bob could see the message before the erasure: he still does
    assert await bodies_seen_by(bob, room_id, alice.user_id) == ["my secret plans"]
    seen = await bob.request("GET", f"/rooms/{room_id}/event/{event_id}")
    assert seen["content"]["body"] == "my secret plans"

    # carol joins afterwards: /messages, /event, /context and /sync all redact it
    carol = await register(client, "carol")
    await carol.join(room_id)
    assert await bodies_seen_by(carol, room_id, alice.user_id) == [None]
    redacted = await carol.request("GET", f"/rooms/{room_id}/event/{event_id}")
    assert redacted["content"] == {} and redacted["sender"] == alice.user_id
    context = await carol.request("GET", f"/rooms/{room_id}/context/{event_id}")
    assert context["event"]["content"] == {}
    synced = await carol.sync(filter='{"room":{"timeline":{"limit":50}}}')
    timeline = synced["rooms"]["join"][room_id]["timeline"]["events"]
    alices = [e for e in timeline if e["sender"] == alice.user_id and e["type"] == "m.room.message"]
    assert alices and all(e["content"] == {} for e in alices)

    # non-event data and media are gone
    gone = await client.get(f"/_matrix/client/v1/media/download/{media.removeprefix('mxc://')}",
                            headers=bob.auth)
    assert gone.status_code == 404 and gone.json()["errcode"] == "M_NOT_FOUND"


async def test_erasure_leaves_a_room_encrypted_for_later_joiners(client: httpx.AsyncClient) -> None:
    # A redacted m.room.encryption has no algorithm: served to carol, it would
    # switch the room's encryption off for her.
    alice, bob = await register(client, "alice"), await register(client, "bob")
    room_id = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(room_id)
    await alice.request("PUT", f"/rooms/{room_id}/state/m.room.topic/", {"topic": "plans"})
    await deactivate(alice, erase=True)
    carol = await register(client, "carol")
    await bob.request("POST", f"/rooms/{room_id}/invite", {"user_id": carol.user_id})
    await carol.join(room_id)
    encryption = await carol.request("GET", f"/rooms/{room_id}/state/m.room.encryption/")
    assert encryption == {"algorithm": "m.megolm.v1.aes-sha2"}
    synced = await carol.sync()
    state = synced["rooms"]["join"][room_id]["state"]["events"] + \
        synced["rooms"]["join"][room_id]["timeline"]["events"]
    (enc,) = [e for e in state if e["type"] == "m.room.encryption"]
    assert enc["content"]["algorithm"] == "m.megolm.v1.aes-sha2"
    # Other events of the erased sender are still redacted for carol.
    topic = [e for e in state if e["type"] == "m.room.topic"]
    assert topic and all(e["content"] == {} for e in topic)


async def test_erasure_deletes_account_data(client: httpx.AsyncClient, app: Any) -> None:
    alice, _bob, _room, _event = await setup_room(client)
    await deactivate(alice, erase=True)
    left = app.db.read_sync(lambda cur: cur.execute(
        "SELECT COUNT(*) FROM account_data WHERE user_id = ?", (alice.user_id,)).fetchone()[0])
    assert left == 0


async def test_without_erase_later_joiners_see_the_history(client: httpx.AsyncClient, app: Any) -> None:
    alice, bob, room_id, _event = await setup_room(client)
    media = await upload(alice)
    await deactivate(alice)
    carol = await register(client, "carol")
    await carol.join(room_id)
    assert await bodies_seen_by(carol, room_id, alice.user_id) == ["my secret plans"]
    kept = await client.get(f"/_matrix/client/v1/media/download/{media.removeprefix('mxc://')}",
                            headers=bob.auth)
    assert kept.status_code == 200
    left = app.db.read_sync(lambda cur: cur.execute(
        "SELECT COUNT(*) FROM account_data WHERE user_id = ?", (alice.user_id,)).fetchone()[0])
    assert left > 0


async def test_erase_must_be_a_boolean(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    error = await alice.request("POST", "/account/deactivate", {"erase": "yes"}, expect=400)
    assert error["errcode"] == "M_BAD_JSON"
    await alice.request("GET", "/account/whoami")  # still active
