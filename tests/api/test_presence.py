"""Presence (modules/presence.md, presence.yaml, sync.yaml `set_presence` and
`presence`), with the `presence` setting off (the default) and on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from kith.app import build_app
from kith.config import Config, ConfigError, load
from kith.ephemeral import presence as presence_tracker
from kith.ephemeral.presence_rules import IDLE_TIMEOUT_MS
from matrix import User, register  # type: ignore[import-not-found]
from spec_schema import validate_response  # type: ignore[import-not-found]

STATUS = "/presence/{userId}/status"


class Clock:
    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The presence tracker's clock, moved by the test; timeouts checked often."""
    fake = Clock()
    monkeypatch.setattr(presence_tracker, "_wall_ms", fake)
    monkeypatch.setattr(presence_tracker, "TICK_S", 0.05)
    return fake


@pytest.fixture
async def on(app_config: Config, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app with `presence = true`."""
    app = build_app(replace(app_config, presence=True))
    await app.startup()
    transport = httpx.ASGITransport(app=app.asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield http
    app.begin_shutdown()
    await app.shutdown()


def presence_of(body: dict[str, Any], user_id: str) -> list[dict[str, Any]]:
    return [e["content"] for e in body["presence"]["events"] if e["sender"] == user_id]


async def status(user: User, of: User, expect: int = 200) -> Any:
    body = await user.request("GET", f"/presence/{of.user_id}/status", expect=expect)
    if expect == 200:
        validate_response("presence.yaml", "get", STATUS, 200, body)
    return body


async def put_status(user: User, body: dict[str, Any], expect: int = 200) -> Any:
    return await user.request("PUT", f"/presence/{user.user_id}/status", body, expect=expect)


async def friends(http: httpx.AsyncClient) -> tuple[User, User, User]:
    """alice and bob share a room; carol shares none with them."""
    alice, bob, carol = [await register(http, n) for n in ("alice", "bob", "carol")]
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    await carol.create_room()
    return alice, bob, carol


async def all_gone(clock: Clock) -> None:
    """Let the sync timeout pass: everyone not syncing goes offline (creating
    and joining rooms was activity that made them online)."""
    clock.now += 60_000
    await asyncio.sleep(0.2)  # a few timeout checks


# -- the setting ----------------------------------------------------------------------


def test_setting_in_kith_toml(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert load(data_dir).presence is False
    toml = data_dir / "kith.toml"
    assert "\npresence = false\n" in toml.read_text()  # the template shows the default
    toml.write_text(toml.read_text().replace("presence = false", "presence = true"))
    assert load(data_dir).presence is True
    toml.write_text(toml.read_text().replace("presence = true", 'presence = "yes"'))
    with pytest.raises(ConfigError):
        load(data_dir)


# -- off ------------------------------------------------------------------------------


async def test_off_everyone_reads_offline_and_nothing_is_shared(client: httpx.AsyncClient) -> None:
    alice, bob, _ = await friends(client)
    token = (await bob.sync())["next_batch"]
    await put_status(alice, {"presence": "online", "status_msg": "hello"})
    await alice.sync(set_presence="online")
    assert await status(bob, alice) == {"presence": "offline"}
    body = await bob.sync(token)
    assert body["presence"] == {"events": []}
    assert (await alice.sync(set_presence="unavailable"))["presence"] == {"events": []}


async def test_bad_requests_on_or_off(client: httpx.AsyncClient) -> None:
    alice, bob, _ = await friends(client)
    err = await put_status(alice, {"presence": "away"}, expect=400)
    assert err["errcode"] == "M_BAD_JSON"
    assert (await put_status(alice, {}, expect=400))["errcode"] == "M_MISSING_PARAM"
    await alice.request("PUT", f"/presence/{bob.user_id}/status", {"presence": "online"}, expect=403)
    await alice.request("GET", "/presence/@nobody:localhost/status", expect=404)
    err = await alice.request("GET", "/sync", params={"set_presence": "busy"}, expect=400)
    assert err["errcode"] == "M_INVALID_PARAM"


# -- on -------------------------------------------------------------------------------


async def test_put_and_get_status(on: httpx.AsyncClient, clock: Clock) -> None:
    alice, bob, carol = await friends(on)
    body = await put_status(alice, {"presence": "online", "status_msg": "at my desk"})
    validate_response("presence.yaml", "put", STATUS, 200, body)
    clock.now += 2000
    seen = await status(bob, alice)
    assert seen == {"presence": "online", "last_active_ago": 2000, "currently_active": True,
                    "status_msg": "at my desk"}
    assert (await status(alice, alice))["presence"] == "online"
    # Only users sharing a room with alice may read her presence.
    err = await status(carol, alice, expect=403)
    assert err["errcode"] == "M_FORBIDDEN"
    await put_status(alice, {"presence": "unavailable"})
    assert await status(bob, alice) == {"presence": "unavailable", "last_active_ago": 0}
    # Joining the room was bob's activity; he has not synced since, so his
    # client is gone once the sync timeout passes.
    assert (await status(alice, bob))["presence"] == "online"
    await all_gone(clock)
    assert (await status(alice, bob))["presence"] == "offline"


async def test_sync_marks_online_and_shares_with_room_members_only(on: httpx.AsyncClient,
                                                                     clock: Clock) -> None:
    alice, bob, carol = await friends(on)
    await all_gone(clock)
    bob_token = (await bob.sync(set_presence="offline"))["next_batch"]
    carol_token = (await carol.sync(set_presence="offline"))["next_batch"]

    own = await alice.sync()  # set_presence omitted: online
    validate_response("sync.yaml", "get", "/sync", 200, own)
    assert presence_of(own, alice.user_id)[0]["presence"] == "online"
    body = await bob.sync(bob_token, set_presence="offline")
    validate_response("sync.yaml", "get", "/sync", 200, body)
    [content] = presence_of(body, alice.user_id)
    assert content["presence"] == "online" and content["currently_active"] is True
    assert body["presence"]["events"][0]["type"] == "m.presence"
    assert (await carol.sync(carol_token, set_presence="offline"))["presence"]["events"] == []
    # set_presence=offline did not mark bob online.
    assert (await status(alice, bob))["presence"] == "offline"
    # An initial sync lists who is online now.
    initial = await bob.sync(set_presence="offline")
    assert [c["presence"] for c in presence_of(initial, alice.user_id)] == ["online"]


async def test_set_presence_unavailable(on: httpx.AsyncClient, clock: Clock) -> None:
    alice, bob, _ = await friends(on)
    await all_gone(clock)
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    await alice.sync(set_presence="unavailable")
    body = await bob.sync(token, set_presence="offline")
    assert [c["presence"] for c in presence_of(body, alice.user_id)] == ["unavailable"]
    # The client reports its user back: online again.
    await alice.sync(set_presence="online")
    assert (await status(bob, alice))["presence"] == "online"


async def test_long_poll_wakes_on_presence_change(on: httpx.AsyncClient) -> None:
    alice, bob, _ = await friends(on)
    token = (await bob.sync(set_presence="offline"))["next_batch"]

    async def later() -> None:
        await asyncio.sleep(0.2)
        await put_status(alice, {"presence": "unavailable", "status_msg": "brb"})

    started = time.monotonic()
    task = asyncio.create_task(later())
    body = await bob.sync(token, timeout=20_000, set_presence="offline")
    await task
    assert time.monotonic() - started < 10
    assert presence_of(body, alice.user_id)[0]["status_msg"] == "brb"


async def test_idle_timeout_makes_online_users_unavailable(on: httpx.AsyncClient, clock: Clock) -> None:
    alice, bob, _ = await friends(on)
    await all_gone(clock)
    await alice.sync()
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    # Alice's client stays connected (a long-poll) but she does nothing.
    polling = asyncio.create_task(alice.sync(token, timeout=20_000))
    await asyncio.sleep(0.1)
    clock.now += IDLE_TIMEOUT_MS + 1000
    body = await bob.sync(token, timeout=20_000, set_presence="offline")
    [content] = presence_of(body, alice.user_id)
    assert content["presence"] == "unavailable"
    assert content["last_active_ago"] >= IDLE_TIMEOUT_MS
    await polling
    # Sending a message is activity: online again.
    room_id = next(iter((await alice.sync())["rooms"]["join"]))
    await alice.send(room_id, "back")
    assert (await status(bob, alice))["presence"] == "online"


async def test_ignored_users_presence_is_not_sent(on: httpx.AsyncClient, clock: Clock) -> None:
    alice, bob, _ = await friends(on)
    await all_gone(clock)
    await bob.request("PUT", f"/user/{bob.user_id}/account_data/m.ignored_user_list",
                      {"ignored_users": {alice.user_id: {}}})
    token = (await bob.sync(set_presence="offline"))["next_batch"]
    await put_status(alice, {"presence": "online"})
    assert presence_of(await bob.sync(token, set_presence="offline"), alice.user_id) == []


async def test_presence_filter(on: httpx.AsyncClient) -> None:
    alice, bob, _ = await friends(on)
    await put_status(alice, {"presence": "online"})
    everything = await bob.sync(set_presence="offline")
    assert presence_of(everything, alice.user_id)
    none = await bob.sync(set_presence="offline", filter='{"presence": {"not_types": ["m.presence"]}}')
    assert none["presence"]["events"] == []
    others = await bob.sync(set_presence="offline",
                            filter=f'{{"presence": {{"not_senders": ["{alice.user_id}"]}}}}')
    assert presence_of(others, alice.user_id) == []
