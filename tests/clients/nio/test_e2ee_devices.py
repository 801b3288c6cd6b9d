"""End-to-end encryption across several devices, with matrix-nio (vodozemac
underneath) against a real `kith serve`: device lists, one-time and fallback
keys, to-device delivery and server-side key backup. The server only relays
keys and ciphertext (spec: client-server-api/modules/end_to_end_encryption.md,
send_to_device.md, device_management.md; keys.yaml, to_device.yaml,
key_backup.yaml).

nio 0.26 knows nothing of fallback keys, so the fallback test generates one
with the device's own vodozemac account and uploads it through POST
/keys/upload, signed by the device like nio signs its one-time keys.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import vodozemac
from nio import (
    AsyncClient, AsyncClientConfig, DeleteDevicesAuthResponse, DeleteDevicesResponse,
    JoinResponse, LoginResponse, MegolmEvent, RegisterResponse, RoomCreateResponse,
    RoomKeyEvent, RoomMessageText, RoomSendResponse, SyncResponse,
)

from nio_helpers import PASSWORD, expect, json_body, request, settle, unique  # type: ignore[import-not-found]

OLM = "m.olm.v1.curve25519-aes-sha2"
MEGOLM = "m.megolm.v1.aes-sha2"
BACKUP_ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
SIGNED_CURVE25519 = "signed_curve25519"


# --- clients ------------------------------------------------------------------------------

def e2ee_config() -> AsyncClientConfig:
    return AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True, max_timeouts=2,
                             max_limit_exceeded=0, request_timeout=30)


class Devices:
    """E2EE nio clients, each with its own store directory; closed afterwards."""

    def __init__(self, base_url: str, tmp_path: Path) -> None:
        self.base_url = base_url
        self.tmp_path = tmp_path
        self.made: list[AsyncClient] = []

    def _client(self, user_id: str, name: str) -> AsyncClient:
        store = self.tmp_path / f"store-{name}-{len(self.made)}"
        store.mkdir()
        client = AsyncClient(self.base_url, user_id, store_path=str(store), config=e2ee_config())
        self.made.append(client)
        return client

    async def register(self, name: str) -> AsyncClient:
        client = self._client("", name)
        expect(await client.register(unique(name), PASSWORD, device_name=name), RegisterResponse)
        return client

    async def login(self, user_id: str, name: str) -> AsyncClient:
        """Another device of an existing user (POST /login, a new device ID)."""
        client = self._client(user_id, name)
        expect(await client.login(PASSWORD, device_name=name), LoginResponse)
        return client

    async def close(self) -> None:
        for client in self.made:
            await client.close()


def device_ids(client: AsyncClient, user_id: str) -> set[str]:
    """The devices of user_id this client currently knows (not marked deleted)."""
    return {d.id for d in client.device_store.active_user_devices(user_id)}


async def converge(clients: Iterable[AsyncClient], done: Callable[[], bool], *,
                   rounds: int = 15, what: str = "condition") -> None:
    """Every client settles once per round until `done` holds."""
    everyone = list(clients)
    for _ in range(rounds):
        for client in everyone:
            await settle(client)
        if done():
            return
    raise AssertionError(f"{what} not reached after {rounds} rounds")


async def know_each_other(devices: list[AsyncClient]) -> None:
    """Sync (and query keys) until each device knows every other device's keys."""
    def done() -> bool:
        return all(other.device_id in device_ids(me, other.user_id)
                   for me in devices for other in devices if other is not me)
    await converge(devices, done, what="device keys known everywhere")


async def encrypted_room_known(creator: AsyncClient, members: list[AsyncClient]) -> str:
    """Every device uploads its keys, the creator opens an encrypted room with
    the others in it, and each device then knows every other one's keys."""
    everyone = [creator, *members]
    for client in everyone:
        await settle(client)
    room_id = await encrypted_room(creator, members)
    await know_each_other(everyone)
    return room_id


async def encrypted_room(creator: AsyncClient, members: list[AsyncClient]) -> str:
    """The creator opens a private room (encrypted by the server's default
    "private") and invites the other users; every client then joins it."""
    invite = sorted({m.user_id for m in members} - {creator.user_id})
    room_id = expect(await creator.room_create(invite=invite, is_direct=len(invite) == 1),
                     RoomCreateResponse).room_id
    for member in members:
        if member.user_id != creator.user_id:
            await settle(member)
            expect(await member.join(room_id), JoinResponse)
    everyone = [creator, *members]

    def joined(client: AsyncClient) -> set[str]:
        room = client.rooms.get(room_id)
        return set(room.users) - set(room.invited_users) if room is not None else set()

    await converge(everyone, lambda: all(c.rooms[room_id].encrypted and set(invite) <= joined(c)
                                         for c in everyone if room_id in c.rooms)
                   and all(room_id in c.rooms for c in everyone),
                   what="encrypted room joined by everyone")
    return room_id


async def send(client: AsyncClient, room_id: str, body: str) -> str:
    response = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body},
                                      ignore_unverified_devices=True)
    return expect(response, RoomSendResponse).event_id


async def receive(client: AsyncClient, room_id: str, wanted: set[str], rounds: int = 20) -> list[Any]:
    """Settle until every wanted body has arrived decrypted; returns the room's
    timeline events seen meanwhile."""
    events: list[Any] = []
    for _ in range(rounds):
        response = await settle(client)
        room = response.rooms.join.get(room_id)
        if room is not None:
            events += room.timeline.events
        if wanted <= {e.body for e in events if isinstance(e, RoomMessageText)}:
            return events
    raise AssertionError(f"{client.device_id} did not decrypt {sorted(wanted)}; got "
                         f"{[getattr(e, 'body', type(e).__name__) for e in events]}")


async def raw_sync(client: AsyncClient, since: str | None,
                   timeout_ms: int = 0) -> tuple[SyncResponse, dict[str, Any]]:
    """A sync through nio (so its state follows) plus the body as the server sent it."""
    response = expect(await client.sync(timeout=timeout_ms, since=since), SyncResponse)
    return response, await json_body(response)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


# --- 1. several devices of two users ------------------------------------------------------

async def test_every_device_decrypts_every_other_device(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice1 = await devices.register("alice")
        alice2 = await devices.login(alice1.user_id, "alice-laptop")
        bob = await devices.register("bob")
        assert alice1.device_id != alice2.device_id
        everyone = [alice1, alice2, bob]
        room_id = await encrypted_room_known(alice1, [alice2, bob])

        said = {alice1.device_id: "from alice's phone", alice2.device_id: "from alice's laptop",
                bob.device_id: "from bob"}
        for client in everyone:
            await send(client, room_id, said[client.device_id])
        for client in everyone:
            others = {body for device, body in said.items() if device != client.device_id}
            got = await receive(client, room_id, others)
            assert not [e for e in got if isinstance(e, MegolmEvent)], got  # none left undecrypted

        # The server stored ciphertext only.
        status, page = await request(
            bob, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=50")
        assert status == 200, page
        sent = [e for e in page["chunk"] if e["type"] == "m.room.encrypted"]
        assert {e["content"]["device_id"] for e in sent} == set(said)
        assert all(e["content"]["algorithm"] == MEGOLM for e in sent)
        assert not any(e["type"] == "m.room.message" for e in page["chunk"])
    finally:
        await devices.close()


# --- 2. a device added later --------------------------------------------------------------

async def test_new_device_decrypts_messages_sent_after_it_joined(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice1 = await devices.register("alice")
        bob = await devices.register("bob")
        room_id = await encrypted_room_known(alice1, [bob])
        await send(alice1, room_id, "before the new device")
        await receive(bob, room_id, {"before the new device"})

        # A new login of alice: her other device and bob learn about it from
        # device_lists.changed in /sync and fetch its keys.
        alice3 = await devices.login(alice1.user_id, "alice-tablet")
        await settle(alice3)
        await know_each_other([alice1, bob, alice3])
        for client in (alice1, bob):
            # Trusting the new device also makes nio start a new megolm
            # session, which then goes to the new device as well.
            client.verify_device(client.device_store[alice3.user_id][alice3.device_id])

        await send(alice1, room_id, "alice after the new login")
        await send(bob, room_id, "bob after the new login")
        await receive(alice3, room_id, {"alice after the new login", "bob after the new login"})

        # And the new device is heard by the others.
        await send(alice3, room_id, "hello from the tablet")
        await receive(alice1, room_id, {"hello from the tablet"})
        await receive(bob, room_id, {"hello from the tablet"})
    finally:
        await devices.close()


# --- 3. deleting a device -----------------------------------------------------------------

async def delete_device(client: AsyncClient, device_id: str) -> None:
    """POST /delete_devices with user-interactive auth (m.login.password)."""
    first = await client.delete_devices([device_id])
    assert isinstance(first, DeleteDevicesAuthResponse), first
    assert any("m.login.password" in flow["stages"] for flow in first.flows), first.flows
    auth = {"type": "m.login.password", "session": first.session, "password": PASSWORD,
            "identifier": {"type": "m.id.user", "user": client.user_id}}
    expect(await client.delete_devices([device_id], auth=auth), DeleteDevicesResponse)


async def claim(client: AsyncClient, user_id: str, device_id: str,
                algorithm: str = SIGNED_CURVE25519) -> tuple[int, dict[str, Any]]:
    return await request(client, "POST", "/_matrix/client/v3/keys/claim",
                         {"one_time_keys": {user_id: {device_id: algorithm}}})


async def test_deleted_device_leaves_the_other_users_device_list(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice1 = await devices.register("alice")
        alice2 = await devices.login(alice1.user_id, "alice-old-phone")
        bob = await devices.register("bob")
        everyone = [alice1, alice2, bob]
        room_id = await encrypted_room_known(alice1, [alice2, bob])
        gone = alice2.device_id

        # Before: the device has keys and one-time keys on the server.
        status, before = await claim(bob, alice1.user_id, gone)
        assert status == 200 and before["one_time_keys"][alice1.user_id][gone], before

        _, bob_sync = await raw_sync(bob, None)
        since = bob_sync["next_batch"]
        await delete_device(alice1, gone)

        # Bob's incremental sync reports alice's device list as changed.
        changed: list[str] = []
        for _ in range(10):
            _, body = await raw_sync(bob, since, timeout_ms=1000)
            since = body["next_batch"]
            changed += body.get("device_lists", {}).get("changed", [])
            if alice1.user_id in changed:
                break
        assert alice1.user_id in changed, changed

        # /keys/query no longer has the device (raw, and nio marks it deleted).
        status, queried = await request(bob, "POST", "/_matrix/client/v3/keys/query",
                                        {"device_keys": {alice1.user_id: []}})
        assert status == 200, queried
        assert set(queried["device_keys"][alice1.user_id]) == {alice1.device_id}
        status, queried = await request(bob, "POST", "/_matrix/client/v3/keys/query",
                                        {"device_keys": {alice1.user_id: [gone]}})
        assert status == 200 and gone not in queried["device_keys"].get(alice1.user_id, {}), queried
        await converge([bob], lambda: device_ids(bob, alice1.user_id) == {alice1.device_id},
                       what="bob's nio dropping the deleted device")

        # Its one-time keys went with it.
        status, after = await claim(bob, alice1.user_id, gone)
        assert status == 200, after
        assert not after["one_time_keys"].get(alice1.user_id, {}).get(gone), after
        # Its access token is dead.
        status, whoami = await request(alice2, "GET", "/_matrix/client/v3/account/whoami")
        assert (status, whoami.get("errcode")) == (401, "M_UNKNOWN_TOKEN"), whoami

        # The remaining devices still talk.
        await send(bob, room_id, "still here?")
        await receive(alice1, room_id, {"still here?"})
    finally:
        await devices.close()


# --- 4. to-device messages for a device that was offline -----------------------------------

def olm_from(body: dict[str, Any], sender: AsyncClient) -> list[dict[str, Any]]:
    """The Olm-encrypted to-device events from sender's device in a raw sync body."""
    curve = sender.olm.account.identity_keys["curve25519"]
    return [e for e in body.get("to_device", {}).get("events", [])
            if e["type"] == "m.room.encrypted" and e["sender"] == sender.user_id
            and e["content"].get("algorithm") == OLM and e["content"].get("sender_key") == curve]


async def test_olm_to_device_message_waits_for_an_offline_device(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice = await devices.register("alice")
        bob = await devices.register("bob")
        room_id = await encrypted_room_known(alice, [bob])
        await send(alice, room_id, "while you are online")
        await receive(bob, room_id, {"while you are online"})
        offline_since = bob.next_batch

        # Bob stops syncing. Alice starts a new megolm session, so the room key
        # goes to bob's device as an Olm-encrypted m.room.encrypted to-device event.
        alice.invalidate_outbound_session(room_id)
        await send(alice, room_id, "while you were away")
        new_session = alice.olm.outbound_group_sessions[room_id].id

        # A sync whose response is lost (the client retries from the same
        # token) does not count as received: the message is still there.
        status, lost = await request(bob, "GET", "/_matrix/client/v3/sync?timeout=0&since="
                                     + quote(offline_since))
        assert status == 200 and len(olm_from(lost, alice)) == 1, lost.get("to_device")

        response, body = await raw_sync(bob, offline_since)
        delivered = olm_from(body, alice)
        assert delivered == olm_from(lost, alice)
        assert len(delivered) == 1, body.get("to_device")
        assert bob.olm.account.identity_keys["curve25519"] in delivered[0]["content"]["ciphertext"]
        keys = [e for e in response.to_device_events if isinstance(e, RoomKeyEvent)]
        assert [k.session_id for k in keys] == [new_session], response.to_device_events
        texts = [e.body for e in response.rooms.join[room_id].timeline.events
                 if isinstance(e, RoomMessageText)]
        assert texts == ["while you were away"], response.rooms.join[room_id].timeline.events

        # Acknowledged by the next since token: never delivered again.
        for _ in range(2):
            _, body = await raw_sync(bob, bob.next_batch)
            assert olm_from(body, alice) == [], body.get("to_device")
    finally:
        await devices.close()


# --- 5. fallback key once one-time keys are exhausted --------------------------------------

async def upload_fallback_key(client: AsyncClient) -> tuple[str, str]:
    """What a fallback-aware client does (keys.yaml fallback_keys): a new
    fallback key from the device's account, signed with "fallback": true.
    Returns its key ID and public key. (vodozemac numbers fallback keys apart
    from one-time keys, so the first of each has the same ID.)"""
    account = client.olm.account._account  # vodozemac.Account behind nio's OlmAccount
    account.generate_fallback_key()
    (key_id, key), = account.fallback_key.items()
    signed = {"key": key.to_base64(), "fallback": True}
    signed["signatures"] = {client.user_id: {f"ed25519:{client.device_id}": client.olm.sign_json(signed)}}
    full_id = f"{SIGNED_CURVE25519}:{key_id}"
    status, body = await request(client, "POST", "/_matrix/client/v3/keys/upload",
                                 {"fallback_keys": {full_id: signed}})
    assert status == 200, body
    client.olm.mark_keys_as_published()
    client.olm.save_account()
    return full_id, signed["key"]


async def test_fallback_key_used_once_one_time_keys_are_exhausted(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice = await devices.register("alice")
        bob = await devices.register("bob")
        for client in (alice, bob):
            await settle(client)

        # Without a fallback key the server says so; a client then uploads one.
        _, body = await raw_sync(alice, alice.next_batch)
        assert SIGNED_CURVE25519 not in body["device_unused_fallback_key_types"], body
        uploaded = body["device_one_time_keys_count"][SIGNED_CURVE25519]
        assert uploaded > 0, body
        fallback_id, fallback_key = await upload_fallback_key(alice)
        _, body = await raw_sync(alice, alice.next_batch)
        assert body["device_unused_fallback_key_types"] == [SIGNED_CURVE25519], body

        room_id = await encrypted_room(alice, [bob])
        await know_each_other([alice, bob])

        # Someone claims every one-time key of alice's device.
        claimed: set[str] = set()
        for _ in range(uploaded):
            status, got = await claim(bob, alice.user_id, alice.device_id)
            assert status == 200, got
            (key_id, key), = got["one_time_keys"][alice.user_id][alice.device_id].items()
            assert key["key"] != fallback_key and "fallback" not in key, got
            claimed.add(key_id)
        assert len(claimed) == uploaded
        _, body = await raw_sync(alice, alice.next_batch)
        assert body["device_one_time_keys_count"].get(SIGNED_CURVE25519, 0) == 0, body
        assert body["device_unused_fallback_key_types"] == [SIGNED_CURVE25519], body

        # Bob (no Olm session with alice yet) claims through nio: he gets the
        # fallback key and still sets up an Olm session for the room key.
        assert not bob.olm.session_store[alice.olm.account.identity_keys["curve25519"]]
        await send(bob, room_id, "via the fallback key")
        assert bob.olm.session_store[alice.olm.account.identity_keys["curve25519"]]
        # alice must not top up her one-time keys in between (nio would not
        # anyway: it ignores a zero count), so she syncs without key upload.
        events: list[Any] = []
        for _ in range(10):
            response = expect(await alice.sync(timeout=500), SyncResponse)
            room = response.rooms.join.get(room_id)
            events += room.timeline.events if room else []
            if any(isinstance(e, RoomMessageText) for e in events):
                break
        texts = [e.body for e in events if isinstance(e, RoomMessageText)]
        assert texts == ["via the fallback key"], events

        # The fallback key is now used, and stays available (spec: it may be
        # handed out again until the device replaces it).
        _, body = await raw_sync(alice, alice.next_batch)
        assert SIGNED_CURVE25519 not in body["device_unused_fallback_key_types"], body
        status, again = await claim(bob, alice.user_id, alice.device_id)
        assert status == 200, again
        assert list(again["one_time_keys"][alice.user_id][alice.device_id]) == [fallback_id], again
        again_key = again["one_time_keys"][alice.user_id][alice.device_id][fallback_id]
        assert again_key["key"] == fallback_key and again_key["fallback"] is True, again

        # Replacing the fallback key makes it unused again; claims get the new one.
        new_id, new_key = await upload_fallback_key(alice)
        _, body = await raw_sync(alice, alice.next_batch)
        assert body["device_unused_fallback_key_types"] == [SIGNED_CURVE25519], body
        status, fresh = await claim(bob, alice.user_id, alice.device_id)
        assert status == 200, fresh
        assert fresh["one_time_keys"][alice.user_id][alice.device_id][new_id]["key"] == new_key, fresh
        assert new_key != fallback_key
    finally:
        await devices.close()


# --- 6. server-side key backup ------------------------------------------------------------

def backup_session_data(backup_key: vodozemac.Curve25519PublicKey, session: Any,
                        index: int) -> dict[str, Any]:
    """session_data for m.megolm_backup.v1.curve25519-aes-sha2 (spec: "Backup
    algorithm"): a BackedUpSessionData JSON, encrypted to the backup key."""
    plain = {"algorithm": MEGOLM, "forwarding_curve25519_key_chain": [],
             "sender_claimed_keys": {"ed25519": session.ed25519}, "sender_key": session.sender_key,
             "session_key": session.export_session(index)}
    message = vodozemac.PkEncryption.from_key(backup_key).encrypt(json.dumps(plain).encode())
    return {"ephemeral": b64(message.ephemeral_key), "mac": b64(message.mac),
            "ciphertext": b64(message.ciphertext)}


def restore_session(backup: vodozemac.PkDecryption, session_data: dict[str, Any]) -> dict[str, Any]:
    message = vodozemac.Message.from_base64(session_data["ciphertext"], session_data["mac"],
                                            session_data["ephemeral"])
    return json.loads(backup.decrypt(message))  # type: ignore[no-any-return]


async def test_key_backup_round_trip(server: Any, tmp_path: Path) -> None:
    devices = Devices(server.base_url, tmp_path)
    try:
        alice = await devices.register("alice")
        bob = await devices.register("bob")
        room_id = await encrypted_room_known(alice, [bob])
        event_id = await send(alice, room_id, "worth backing up")
        for _ in range(3):
            await send(alice, room_id, "more")  # advance the megolm ratchet
        session_id = alice.olm.outbound_group_sessions[room_id].id
        inbound = next(s for s in alice.olm.inbound_group_store if s.id == session_id)

        # A backup version with a real curve25519 key, signed by the device.
        backup = vodozemac.PkDecryption()
        auth_data: dict[str, Any] = {"public_key": backup.public_key.to_base64()}
        signature = alice.olm.sign_json(auth_data)
        auth_data["signatures"] = {alice.user_id: {f"ed25519:{alice.device_id}": signature}}
        status, created = await request(alice, "POST", "/_matrix/client/v3/room_keys/version",
                                        {"algorithm": BACKUP_ALGORITHM, "auth_data": auth_data})
        assert status == 200, created
        version = created["version"]
        status, info = await request(alice, "GET", "/_matrix/client/v3/room_keys/version")
        assert status == 200, info
        assert (info["version"], info["algorithm"], info["auth_data"], info["count"]) == (
            version, BACKUP_ALGORITHM, auth_data, 0)
        empty_etag = info["etag"]

        key_path = f"/_matrix/client/v3/room_keys/keys/{quote(room_id)}/{quote(session_id, safe='')}"
        best = {"first_message_index": 0, "forwarded_count": 0, "is_verified": False,
                "session_data": backup_session_data(backup.public_key, inbound, 0)}
        status, put = await request(alice, "PUT", f"{key_path}?version={version}", best)
        assert status == 200 and put["count"] == 1 and put["etag"] != empty_etag, put
        status, info = await request(alice, "GET", f"/_matrix/client/v3/room_keys/version/{version}")
        assert status == 200 and (info["count"], info["etag"]) == (1, put["etag"]), info

        status, stored = await request(alice, "GET", f"{key_path}?version={version}")
        assert status == 200 and stored == best, stored
        status, whole = await request(alice, "GET",
                                      f"/_matrix/client/v3/room_keys/keys?version={version}")
        assert status == 200 and whole == {"rooms": {room_id: {"sessions": {session_id: best}}}}, whole

        # What came back restores the session: it decrypts the room's first message.
        restored = restore_session(backup, stored["session_data"])
        assert restored["sender_key"] == alice.olm.account.identity_keys["curve25519"]
        megolm = vodozemac.InboundGroupSession.import_session(
            vodozemac.ExportedSessionKey(restored["session_key"]))
        status, event = await request(alice, "GET",
                                      f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}")
        assert status == 200, event
        ciphertext = vodozemac.MegolmMessage.from_base64(event["content"]["ciphertext"])
        decrypted = megolm.decrypt(ciphertext)
        assert decrypted.message_index == 0
        assert json.loads(decrypted.plaintext)["content"]["body"] == "worth backing up"

        # A worse copy (ratchet advanced: higher first_message_index) does not replace it.
        worse = {"first_message_index": 2, "forwarded_count": 0, "is_verified": False,
                 "session_data": backup_session_data(backup.public_key, inbound, 2)}
        status, put2 = await request(alice, "PUT", f"{key_path}?version={version}", worse)
        assert status == 200 and put2 == {"count": 1, "etag": put["etag"]}, put2  # nothing changed
        status, stored = await request(alice, "GET", f"{key_path}?version={version}")
        assert status == 200 and stored == best, stored

        # A verified copy wins over an unverified one, whatever its index.
        verified = {**worse, "is_verified": True}
        status, put3 = await request(alice, "PUT", f"/_matrix/client/v3/room_keys/keys/{quote(room_id)}"
                                     f"?version={version}", {"sessions": {session_id: verified}})
        assert status == 200 and put3["count"] == 1 and put3["etag"] != put["etag"], put3
        status, stored = await request(alice, "GET", f"{key_path}?version={version}")
        assert status == 200 and stored == verified, stored

        # A new backup version: the old one can no longer be written.
        status, newer = await request(alice, "POST", "/_matrix/client/v3/room_keys/version",
                                      {"algorithm": BACKUP_ALGORITHM, "auth_data": auth_data})
        assert status == 200 and newer["version"] != version, newer
        status, refused = await request(alice, "PUT", f"{key_path}?version={version}", best)
        assert status == 403, refused
        assert refused["errcode"] == "M_WRONG_ROOM_KEYS_VERSION", refused
        assert refused["current_version"] == newer["version"], refused
        status, info = await request(alice, "GET", "/_matrix/client/v3/room_keys/version")
        assert status == 200 and (info["version"], info["count"]) == (newer["version"], 0), info
        # The old version is still there to restore from until it is deleted.
        status, stored = await request(alice, "GET", f"{key_path}?version={version}")
        assert status == 200 and stored == verified, stored

        # Backups are per user: bob sees none of alice's.
        status, theirs = await request(bob, "GET", "/_matrix/client/v3/room_keys/version")
        assert (status, theirs.get("errcode")) == (404, "M_NOT_FOUND"), theirs
    finally:
        await devices.close()
