"""POST /keys/claim under real concurrency: many connections at once to a real
`kith serve` (keys.yaml: a claimed one-time key is removed, so no two claims
get the same one; end_to_end_encryption.md "Fallback keys": once a device's
one-time keys run out, its fallback key is returned instead)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from typing import Any

import httpx

from e2ee_helpers import one_time_keys, upload_device  # type: ignore[import-not-found]
from matrix import User, register  # type: ignore[import-not-found]

ONE_TIME_KEYS = 20
FALLBACK_ID = "signed_curve25519:AAAA0900"
REQUESTS = 60
CLAIMERS = 6


async def login(http: httpx.AsyncClient, user: User) -> User:
    localpart = user.user_id[1:].split(":")[0]
    response = await http.post("/_matrix/client/v3/login", json={
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": localpart},
        "password": "correct horse"})
    assert response.status_code == 200, response.text
    body = response.json()
    return User(http, user.user_id, body["device_id"], body["access_token"])


async def with_keys(device: User) -> User:
    key = await upload_device(device)
    await device.request("POST", "/keys/upload", {
        "one_time_keys": one_time_keys(device, key, ONE_TIME_KEYS),
        "fallback_keys": one_time_keys(device, key, 1, start=900, fallback=True)})
    return device


async def test_parallel_claims_never_share_a_key_then_get_the_fallback(server: Any) -> None:
    tag = secrets.token_hex(4)
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as http:
        alice = await register(http, f"alice-{tag}")
        bob = await register(http, f"bob-{tag}")
        targets = [await with_keys(alice), await with_keys(await login(http, alice)),
                   await with_keys(bob)]
        claimers = [await register(http, f"c{i}-{tag}") for i in range(CLAIMERS)]

        def claim(wanted: list[User]) -> dict[str, Any]:
            body: dict[str, dict[str, dict[str, str]]] = {"one_time_keys": {}}
            for t in wanted:
                body["one_time_keys"].setdefault(t.user_id, {})[t.device_id] = "signed_curve25519"
            return body

        # Every third request claims all three devices at once, the others one
        # device each in turn: each device is claimed more often than it has keys.
        single = itertools.cycle(targets)
        bodies = [claim(targets if i % 3 == 0 else [next(single)]) for i in range(REQUESTS)]
        claimer = itertools.cycle(claimers)
        # Each request on a connection of its own: the server sees them at once.
        results = await asyncio.gather(
            *(next(claimer).request("POST", "/keys/claim", body) for body in bodies))

        handed: dict[str, list[str]] = {t.device_id: [] for t in targets}
        for body, result in zip(bodies, results):
            for user_id, devices in body["one_time_keys"].items():
                for device_id in devices:
                    (key_id, _), = result["one_time_keys"][user_id][device_id].items()
                    handed[device_id].append(key_id)
        for target in targets:
            ids = handed[target.device_id]
            one_time = [i for i in ids if i != FALLBACK_ID]
            repeated = [i for i, n in Counter(one_time).items() if n > 1]
            assert not repeated, f"{target.device_id}: handed out twice: {repeated}"
            assert len(one_time) == ONE_TIME_KEYS, f"{target.device_id}: {len(one_time)} one-time"
            assert ids.count(FALLBACK_ID) == len(ids) - ONE_TIME_KEYS > 0
            # Exhausted: the fallback from now on, and the device is told so.
            again = await claimers[0].request("POST", "/keys/claim", {
                "one_time_keys": {target.user_id: {target.device_id: "signed_curve25519"}}})
            assert list(again["one_time_keys"][target.user_id][target.device_id]) == [FALLBACK_ID]
            counts = (await target.sync())["device_one_time_keys_count"]
            assert counts["signed_curve25519"] == 0
