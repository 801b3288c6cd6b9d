"""The bound on a device's to-device queue (send_to_device.md "Server
behaviour" stores messages until delivered; the bound is Kith's policy, see
kith.e2ee.to_device_queue and README.md): at most `per_sender` messages from
one user and `total` in all wait for a device, and beyond a limit the sender
with the most waiting loses its oldest, so a flood cannot push out anyone
else's Olm or room-key messages."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from hypothesis import given, strategies as st

from kith.config import Config, ConfigError, load
from kith.e2ee.to_device_queue import QueueLimits, evictions
from matrix import User, register  # type: ignore[import-not-found]

LIMITS = QueueLimits(total=8, per_sender=4)


@pytest.fixture
def app_config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data", registration="open", rate_limit=False,
                  to_device_queue=LIMITS.total, to_device_queue_per_sender=LIMITS.per_sender)


async def send(sender: User, target: User, *tags: str) -> None:
    for tag in tags:
        await sender.request("PUT", f"/sendToDevice/m.test/{tag}",
                             {"messages": {target.user_id: {target.device_id: {"tag": tag}}}})


async def received(user: User, since: str) -> list[tuple[str, str]]:
    """(sender localpart, tag) of every message waiting for the device, in order."""
    events = (await user.sync(since))["to_device"]["events"]
    return [(e["sender"][1:].split(":")[0], e["content"]["tag"]) for e in events]


async def test_one_flooding_sender_loses_only_its_own_oldest(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    alice, bob, mallory = [await register(client, n) for n in ("alice", "bob", "mallory")]
    since = (await bob.sync())["next_batch"]
    await send(alice, bob, "a1", "a2")
    with caplog.at_level(logging.WARNING, logger="kith.store.e2ee_to_device"):
        await send(mallory, bob, *(f"m{i}" for i in range(20)))
    await send(alice, bob, "a3")
    assert await received(bob, since) == [
        ("alice", "a1"), ("alice", "a2"),
        *(("mallory", f"m{i}") for i in range(16, 20)),
        ("alice", "a3")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 16
    assert all(mallory.user_id in w and bob.device_id in w for w in warnings)


async def test_a_full_queue_drops_from_the_sender_with_most_waiting(
        client: httpx.AsyncClient) -> None:
    alice, bob, m1, m2 = [await register(client, n) for n in ("alice", "bob", "m1", "m2")]
    since = (await bob.sync())["next_batch"]
    await send(alice, bob, "a1")
    await send(m1, bob, *(f"x{i}" for i in range(10)))  # m1 keeps its newest 4
    # m2 reaches 4 too: 9 waiting. m1 and m2 tie; m2's request overflowed, m2 pays.
    await send(m2, bob, *(f"y{i}" for i in range(10)))
    # Alice's new message overflows again: now m1 has the most and pays.
    await send(alice, bob, "a2")
    assert await received(bob, since) == [
        ("alice", "a1"), ("m1", "x7"), ("m1", "x8"), ("m1", "x9"),
        ("m2", "y7"), ("m2", "y8"), ("m2", "y9"), ("alice", "a2")]


async def test_the_queue_bound_counts_messages_per_device(client: httpx.AsyncClient) -> None:
    """Another device of the same user has a queue of its own."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    login = await client.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "bob"},
        "password": "correct horse"})
    phone = User(client, bob.user_id, login.json()["device_id"], login.json()["access_token"])
    since = (await bob.sync())["next_batch"]
    phone_since = (await phone.sync())["next_batch"]
    for i in range(6):
        await alice.request("PUT", f"/sendToDevice/m.test/t{i}",
                            {"messages": {bob.user_id: {"*": {"tag": f"t{i}"}}}})
    expected = [("alice", f"t{i}") for i in range(2, 6)]
    assert await received(bob, since) == expected
    assert await received(phone, phone_since) == expected


# -- the policy as a pure function ---------------------------------------------------

@pytest.mark.parametrize(("queued", "sender", "dropped"), [
    ({"a": 3, "m": 4}, "m", {}),                     # within both limits
    ({"a": 2, "m": 5}, "m", {"m": 1}),               # per-sender limit
    ({"a": 2, "m": 9}, "a", {"m": 5}),               # whoever sent last
    ({"a": 4, "b": 3, "m": 2}, "m", {"a": 1}),       # total: the largest pays
    ({"a": 3, "b": 3, "m": 3}, "m", {"m": 1}),       # a tie: the requester pays
    ({"a": 3, "b": 3, "m": 3}, "x", {"a": 1}),       # a tie among others: by user ID
    ({"a": 4, "b": 4, "c": 4, "m": 4}, "m", {"a": 2, "b": 2, "c": 2, "m": 2}),
])
def test_evictions_table(queued: dict[str, int], sender: str, dropped: dict[str, int]) -> None:
    assert evictions(queued, sender, LIMITS) == dropped


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 30), max_size=8),
       st.sampled_from("abcdefgh"), st.integers(1, 40), st.integers(1, 12))
def test_evictions_keep_the_limits_and_take_from_the_largest(
        queued: dict[str, int], sender: str, total: int, per_sender: int) -> None:
    limits = QueueLimits(total, per_sender)
    dropped = evictions(queued, sender, limits)
    capped = {who: min(n, per_sender) for who, n in queued.items()}
    final = {who: n - dropped.get(who, 0) for who, n in queued.items()}
    assert all(0 <= n <= per_sender for n in final.values())
    # Nothing is dropped that the limits do not require.
    assert sum(final.values()) == min(sum(capped.values()), total)
    # A sender losing messages to the total bound ends at most one below anyone.
    for who in queued:
        if final[who] < capped[who]:
            assert all(final[other] <= final[who] + 1 for other in queued)
    # The outcome does not depend on the order the counts come in.
    assert evictions(dict(reversed(list(queued.items()))), sender, limits) == dropped


# -- configuration ------------------------------------------------------------------

def test_limits_come_from_kith_toml(tmp_path: Path) -> None:
    default = load(tmp_path / "fresh")
    assert (default.to_device_queue, default.to_device_queue_per_sender) == (10_000, 1_000)
    assert "to_device_queue = 10000" in (tmp_path / "fresh" / "kith.toml").read_text()
    data = tmp_path / "set"
    data.mkdir()
    (data / "kith.toml").write_text("to_device_queue = 50\nto_device_queue_per_sender = 5\n")
    config = load(data)
    assert (config.to_device_queue, config.to_device_queue_per_sender) == (50, 5)
    for bad in ("to_device_queue = 0", "to_device_queue_per_sender = true",
                'to_device_queue = "many"'):
        (data / "kith.toml").write_text(bad + "\n")
        with pytest.raises(ConfigError):
            load(data)
