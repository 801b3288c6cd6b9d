"""Room upgrades per room_upgrades.yaml and modules/room_upgrades.md."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]


async def state(user: User, room_id: str, etype: str, key: str = "", expect: int = 200) -> Any:
    return await user.request("GET", f"/rooms/{room_id}/state/{etype}/{key}", expect=expect)


async def upgrade(user: User, room_id: str, version: str, expect: int = 200, **extra: Any) -> Any:
    body = await user.request("POST", f"/rooms/{room_id}/upgrade",
                              {"new_version": version, **extra}, expect=expect)
    validate_response("room_upgrades.yaml", "post", "/rooms/{roomId}/upgrade", expect, body)
    return body


@pytest.mark.parametrize(("old_version", "new_version"),
                         [("10", "11"), ("11", "12"), ("12", "12"), ("12", "11")])
async def test_upgrade_copies_state_and_tombstones(client: httpx.AsyncClient, old_version: str,
                                                   new_version: str) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    old = await alice.create_room(
        room_version=old_version, preset="public_chat", name="Garden", topic="Plants",
        visibility="public", room_alias_name="garden",
        creation_content={"type": "m.space"},
        initial_state=[{"type": "m.room.encryption",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
                       {"type": "m.room.avatar", "content": {"url": "mxc://localhost/a"}},
                       {"type": "m.room.server_acl", "content": {"allow": ["*"], "deny": []}}])
    await bob.join(old)
    levels = await state(alice, old, "m.room.power_levels")
    levels["users"][bob.user_id] = 50
    levels["events"]["m.custom"] = 20
    await alice.request("PUT", f"/rooms/{old}/state/m.room.power_levels/", levels)
    body = await upgrade(alice, old, new_version)
    new = body["replacement_room"]
    assert new != old
    create = await state(alice, new, "m.room.create")
    assert create["room_version"] == new_version
    assert create["predecessor"]["room_id"] == old
    assert create["predecessor"]["event_id"].startswith("$")
    assert create["type"] == "m.space"
    for etype, field, value in [("m.room.name", "name", "Garden"),
                                ("m.room.topic", "topic", "Plants"),
                                ("m.room.join_rules", "join_rule", "public"),
                                ("m.room.history_visibility", "history_visibility", "shared"),
                                ("m.room.guest_access", "guest_access", "forbidden"),
                                ("m.room.encryption", "algorithm", "m.megolm.v1.aes-sha2"),
                                ("m.room.avatar", "url", "mxc://localhost/a"),
                                ("m.room.canonical_alias", "alias", "#garden:localhost")]:
        assert (await state(alice, new, etype))[field] == value, etype
    assert (await state(alice, new, "m.room.server_acl"))["allow"] == ["*"]
    new_levels = await state(alice, new, "m.room.power_levels")
    assert new_levels["users"].get(bob.user_id) == 50
    assert new_levels["events"]["m.custom"] == 20
    if new_version == "12":
        assert alice.user_id not in new_levels["users"]  # creators are not listed (v12)
    else:
        assert new_levels["users"][alice.user_id] >= 100
    # Memberships are not transferred: only the upgrader is in the new room.
    members = await alice.request("GET", f"/rooms/{new}/joined_members")
    assert list(members["joined"]) == [alice.user_id]
    tomb = await state(alice, old, "m.room.tombstone")
    assert tomb["replacement_room"] == new and tomb["body"]
    old_levels = await state(alice, old, "m.room.power_levels")
    assert old_levels["events_default"] == 50 and old_levels["invite"] == 50
    # Aliases and directory listing moved.
    resolved = await alice.request("GET", "/directory/room/" + quote("#garden:localhost", safe=""))
    assert resolved["room_id"] == new
    assert (await alice.request("GET", f"/rooms/{old}/aliases"))["aliases"] == []
    assert (await alice.request("GET", f"/directory/list/room/{new}"))["visibility"] == "public"
    assert (await alice.request("GET", f"/directory/list/room/{old}"))["visibility"] == "private"
    assert await state(alice, old, "m.room.canonical_alias") == {}
    # events_default is now 50: Bob (50) may still talk, a newcomer may not.
    carol = await register(client, "carol")
    await carol.join(old)
    error = await carol.request("PUT", f"/rooms/{old}/send/m.room.message/t1",
                                {"msgtype": "m.text", "body": "hi"}, expect=403)
    assert error["errcode"] == "M_FORBIDDEN"
    # Bob can follow to the new room.
    await bob.join(new)
    await bob.send(new, "hello again")


async def test_v12_additional_creators(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    old = await alice.create_room(room_version="11", preset="public_chat")
    await bob.join(old)
    levels = await state(alice, old, "m.room.power_levels")
    levels["users"][bob.user_id] = 100
    await alice.request("PUT", f"/rooms/{old}/state/m.room.power_levels/", levels)
    new = (await upgrade(alice, old, "12", additional_creators=[bob.user_id]))["replacement_room"]
    create = await state(alice, new, "m.room.create")
    assert create["additional_creators"] == [bob.user_id]
    new_levels = await state(alice, new, "m.room.power_levels")
    assert bob.user_id not in new_levels["users"] and alice.user_id not in new_levels["users"]
    bad = await upgrade(alice, new, "12", expect=400, additional_creators=["not-a-user"])
    assert bad["errcode"] == "M_INVALID_PARAM"


async def test_upgrade_permissions_and_errors(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    old = await alice.create_room(room_version="11", preset="public_chat")
    await bob.join(old)
    denied = await upgrade(bob, old, "12", expect=403)
    assert denied["errcode"] == "M_FORBIDDEN"
    carol = await register(client, "carol")
    assert (await upgrade(carol, old, "12", expect=403))["errcode"] == "M_FORBIDDEN"
    unsupported = await upgrade(alice, old, "9000", expect=400)
    assert unsupported["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"
    missing = await alice.request("POST", f"/rooms/{old}/upgrade", {}, expect=400)
    assert missing["errcode"] == "M_MISSING_PARAM"
    unknown = await alice.request("POST", "/rooms/!nope:localhost/upgrade",
                                  {"new_version": "12"}, expect=404)
    assert unknown["errcode"] == "M_NOT_FOUND"
    # Nothing changed in the old room after refused upgrades.
    await state(alice, old, "m.room.tombstone", expect=404)
    # A moderator granted the tombstone level may upgrade.
    levels = await state(alice, old, "m.room.power_levels")
    levels["users"][bob.user_id] = 100
    await alice.request("PUT", f"/rooms/{old}/state/m.room.power_levels/", levels)
    new = (await upgrade(bob, old, "12"))["replacement_room"]
    assert (await state(bob, new, "m.room.create"))["predecessor"]["room_id"] == old


async def test_moderator_with_tombstone_level_keeps_own_level(client: httpx.AsyncClient) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    old = await alice.create_room(room_version="11", preset="public_chat", name="Garden")
    await bob.join(old)
    levels = await state(alice, old, "m.room.power_levels")
    levels["users"][bob.user_id] = 50
    levels["events"]["m.room.tombstone"] = 50
    await alice.request("PUT", f"/rooms/{old}/state/m.room.power_levels/", levels)
    # Bob may tombstone but not send power levels (100): the new room raises
    # him only while copying state, then restores the old room's levels.
    new = (await upgrade(bob, old, "11"))["replacement_room"]
    assert (await state(bob, new, "m.room.name"))["name"] == "Garden"
    new_levels = await state(bob, new, "m.room.power_levels")
    assert new_levels["users"] == levels["users"]
    # The old room's power levels could not be changed by Bob (best effort).
    assert (await state(bob, old, "m.room.power_levels"))["events_default"] == 0
    assert (await state(bob, old, "m.room.tombstone"))["replacement_room"] == new
