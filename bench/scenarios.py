"""The measured scenarios. Every loop here is bounded by a count and a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from client import ApiError, Client, User, bounded_gather

# Small /sync responses for the watchers: a real client would filter too.
WATCH_FILTER = json.dumps({
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 50}, "state": {"lazy_load_members": True},
             "ephemeral": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}},
}, separators=(",", ":"))

_TICK = os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float], scale: float = 1000.0) -> dict[str, float | int | None]:
    """p50/p95/p99/max/mean of `values` (seconds), in ms by default."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(p: float) -> float:
        k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[k] * scale, 3)

    return {"n": len(ordered), "p50": pick(50), "p95": pick(95), "p99": pick(99),
            "max": round(ordered[-1] * scale, 3),
            "mean": round(sum(ordered) / len(ordered) * scale, 3)}


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / _TICK


def machine_busy_s() -> float:
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))  # minus idle, iowait
    return busy / _TICK


class CpuMeter:
    """Server CPU, load-generator CPU and everything else's CPU over a phase."""

    def __init__(self, server_pids: list[int]) -> None:
        self.pids = server_pids

    def __enter__(self) -> CpuMeter:
        self.wall0 = time.perf_counter()
        self.server0 = cpu_seconds(self.pids)
        self.gen0 = time.process_time()
        self.all0 = machine_busy_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.server = cpu_seconds(self.pids) - self.server0
        self.gen = time.process_time() - self.gen0
        self.other = machine_busy_s() - self.all0 - self.server - self.gen

    def summary(self) -> dict[str, float]:
        wall = max(self.wall, 1e-9)
        return {"wall_s": round(self.wall, 3), "server_cpu_s": round(self.server, 3),
                "server_cpu_pct": round(100 * self.server / wall, 1),
                "loadgen_cpu_pct": round(100 * self.gen / wall, 1),
                "other_cpu_pct": round(100 * max(0.0, self.other) / wall, 1)}


@dataclass
class Size:
    users: int
    rooms: int
    send_s: float
    closed_n: int
    rate: float
    rate_s: float
    sync_rooms: int


SIZES = {
    "S": Size(users=10, rooms=5, send_s=10, closed_n=100, rate=25, rate_s=10, sync_rooms=20),
    "M": Size(users=100, rooms=20, send_s=20, closed_n=200, rate=25, rate_s=20, sync_rooms=50),
    "L": Size(users=500, rooms=50, send_s=30, closed_n=300, rate=25, rate_s=30, sync_rooms=50),
}


# ---------------------------------------------------------------- accounts

async def register_users(client: Client, names: list[str], concurrency: int,
                         budget_s: float) -> tuple[list[User], dict[str, Any]]:
    deadline = time.perf_counter() + budget_s
    started = time.perf_counter()
    lat: list[float] = []

    async def one(name: str) -> User:
        t0 = time.perf_counter()
        user = await client.register(name)
        lat.append(time.perf_counter() - t0)
        return user

    results, errors = await bounded_gather(names, one, concurrency, deadline)
    elapsed = time.perf_counter() - started
    users = [u for u in results if u is not None]
    return users, {"count": len(users), "wanted": len(names), "errors": len(errors),
                   "first_error": errors[0] if errors else None, "seconds": round(elapsed, 3),
                   "per_s": round(len(users) / elapsed, 2), "latency_ms": percentiles(lat)}


async def login_users(client: Client, users: list[User], concurrency: int,
                      budget_s: float) -> dict[str, Any]:
    deadline = time.perf_counter() + budget_s
    started = time.perf_counter()
    lat: list[float] = []

    async def one(user: User) -> str:
        t0 = time.perf_counter()
        token = await client.login(user.name)
        lat.append(time.perf_counter() - t0)
        return token

    results, errors = await bounded_gather(users, one, concurrency, deadline)
    elapsed = time.perf_counter() - started
    done = sum(1 for r in results if r is not None)
    return {"count": done, "errors": len(errors), "first_error": errors[0] if errors else None,
            "seconds": round(elapsed, 3), "per_s": round(done / elapsed, 2),
            "latency_ms": percentiles(lat)}


# ---------------------------------------------------------------- rooms

async def build_rooms(client: Client, users: list[User], n_rooms: int, per_user: int,
                      concurrency: int, budget_s: float) -> tuple[list[str], list[list[User]], dict[str, Any]]:
    """User j creates room j; user i joins rooms (i + k) % n_rooms for k < per_user."""
    deadline = time.perf_counter() + budget_s
    started = time.perf_counter()
    creators = [users[j % len(users)] for j in range(n_rooms)]
    room_ids, errors = await bounded_gather(
        creators, lambda u: client.create_room(u, "public_chat"), concurrency, deadline)
    create_s = time.perf_counter() - started
    members: list[list[User]] = [[creators[j]] for j in range(n_rooms)]
    joins: list[tuple[User, int]] = []
    for i, user in enumerate(users):
        for k in range(min(per_user, n_rooms)):
            r = (i + k) % n_rooms
            if creators[r] is not user:
                joins.append((user, r))

    t_join = time.perf_counter()

    async def join(item: tuple[User, int]) -> None:
        user, r = item
        if room_ids[r] is None:
            raise ApiError(0, None, "room was not created")
        await client.join(user, room_ids[r])
        members[r].append(user)

    _, join_errors = await bounded_gather(joins, join, concurrency, deadline)
    join_s = time.perf_counter() - t_join
    for r, rid in enumerate(room_ids):
        for u in members[r]:
            if rid:
                u.rooms.append(rid)
    ok_joins = len(joins) - len(join_errors)
    return [r for r in room_ids], members, {
        "rooms": sum(1 for r in room_ids if r), "create_s": round(create_s, 3),
        "create_per_s": round(sum(1 for r in room_ids if r) / create_s, 2),
        "joins": ok_joins, "join_s": round(join_s, 3),
        "join_per_s": round(ok_joins / join_s, 2) if join_s else None,
        "errors": len(errors) + len(join_errors),
        "first_error": (errors + join_errors)[0] if errors or join_errors else None}


# ---------------------------------------------------------------- sending

async def send_closed_loop(client: Client, users: list[User], duration_s: float,
                           max_events: int = 1_000_000) -> dict[str, Any]:
    """Each user sends again as soon as its previous send was answered."""
    lat: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    end = started + duration_s
    budget = [max_events]
    last_done = [started]

    async def sender(i: int, user: User) -> None:
        n = 0
        while time.perf_counter() < end and budget[0] > 0 and user.rooms:
            budget[0] -= 1
            room = user.rooms[n % len(user.rooms)]
            n += 1
            t0 = time.perf_counter()
            try:
                await client.send(user, room, f"load {i}-{n}")
            except (ApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
                errors.append(str(err) or type(err).__name__)
                continue
            t1 = time.perf_counter()
            lat.append(t1 - t0)
            last_done[0] = max(last_done[0], t1)

    await asyncio.gather(*(sender(i, u) for i, u in enumerate(users)))
    elapsed = max(last_done[0], end) - started
    return {"events": len(lat), "seconds": round(elapsed, 3), "senders": len(users),
            "per_s": round(len(lat) / elapsed, 2), "errors": len(errors),
            "first_error": errors[0] if errors else None, "latency_ms": percentiles(lat)}


# ---------------------------------------------------------------- delivery

class Watcher:
    """A user long-polling /sync; notes when each tagged event first arrives."""

    def __init__(self, client: Client, user: User, poll_ms: int = 5000) -> None:
        self.client = client
        self.user = user
        self.poll_ms = poll_ms
        self.since: str | None = None
        self.seen: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.errors = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    async def prime(self) -> None:
        data = await self.client.sync(self.user, None, 0, WATCH_FILTER)
        self.since = data["next_batch"]

    def expect(self, tag: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if tag in self.seen:
            fut.set_result(self.seen[tag])
        else:
            self.waiters[tag] = fut
        return fut

    def start(self, deadline: float) -> None:
        self._task = asyncio.create_task(self._run(deadline))

    async def stop(self) -> None:
        self._stop = True
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self, deadline: float) -> None:
        while not self._stop and time.perf_counter() < deadline:
            try:
                data = await self.client.sync(self.user, self.since, self.poll_ms, WATCH_FILTER)
            except (ApiError, aiohttp.ClientError, asyncio.TimeoutError):
                self.errors += 1
                await asyncio.sleep(0.1)
                continue
            now = time.perf_counter()
            self.since = data["next_batch"]
            for room in data.get("rooms", {}).get("join", {}).values():
                for event in room.get("timeline", {}).get("events", []):
                    body = event.get("content", {}).get("body")
                    if isinstance(body, str) and body.startswith("lat "):
                        if body not in self.seen:
                            self.seen[body] = now
                            fut = self.waiters.pop(body, None)
                            if fut and not fut.done():
                                fut.set_result(now)


async def delivery_closed_loop(client: Client, sender: User, receiver: User, room_id: str,
                               count: int, budget_s: float) -> dict[str, Any]:
    """Send one event, wait until the receiver's /sync has it, repeat."""
    watcher = Watcher(client, receiver)
    await watcher.prime()
    deadline = time.perf_counter() + budget_s
    watcher.start(deadline + 10)
    lat: list[float] = []
    send_lat: list[float] = []
    lost = 0
    run = client.new_txn()
    try:
        for i in range(count):
            if time.perf_counter() > deadline:
                break
            tag = f"lat c{run}-{i}"
            fut = watcher.expect(tag)
            t0 = time.perf_counter()
            await client.send(sender, room_id, tag)
            send_lat.append(time.perf_counter() - t0)
            try:
                seen = await asyncio.wait_for(fut, 10)
            except asyncio.TimeoutError:
                lost += 1
                continue
            lat.append(seen - t0)
    finally:
        await watcher.stop()
    return {"samples": len(lat), "lost": lost, "sync_errors": watcher.errors,
            "latency_ms": percentiles(lat), "send_latency_ms": percentiles(send_lat)}


async def delivery_fixed_rate(client: Client, rooms: list[str], members: list[list[User]],
                              rate: float, duration_s: float) -> dict[str, Any]:
    """Open loop: events are sent at `rate`/s (spread over the rooms) whatever
    the server's answers; each room has one watcher, its first member."""
    usable = [r for r in range(len(rooms)) if rooms[r] and len(members[r]) >= 2]
    watchers = {r: Watcher(client, members[r][0]) for r in usable}
    await asyncio.gather(*(w.prime() for w in watchers.values()))
    total = int(rate * duration_s)
    start = time.perf_counter() + 0.2
    for w in watchers.values():
        w.start(start + duration_s + 15)
    sent_at: dict[str, float] = {}
    send_lat: list[float] = []
    errors: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def fire(i: int) -> None:
        r = usable[i % len(usable)]
        others = members[r][1:]
        sender = others[(i // len(usable)) % len(others)]
        tag = f"lat r{i}"
        t0 = time.perf_counter()
        sent_at[tag] = t0
        try:
            await client.send(sender, rooms[r], tag)
            send_lat.append(time.perf_counter() - t0)
        except (ApiError, aiohttp.ClientError, asyncio.TimeoutError) as err:
            errors.append(str(err) or type(err).__name__)
            sent_at.pop(tag, None)

    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.wait(tasks, timeout=30)
    # Give the last events up to 10 s to arrive.
    grace = time.perf_counter() + 10
    while time.perf_counter() < grace:
        seen = sum(1 for tag in sent_at if any(tag in w.seen for w in watchers.values()))
        if seen >= len(sent_at):
            break
        await asyncio.sleep(0.05)
    for w in watchers.values():
        await w.stop()
    lat = []
    for tag, t0 in sent_at.items():
        for w in watchers.values():
            if tag in w.seen:
                lat.append(w.seen[tag] - t0)
                break
    return {"offered_per_s": rate, "sent": len(sent_at), "delivered": len(lat),
            "lost": len(sent_at) - len(lat), "errors": len(errors),
            "achieved_per_s": round(len(lat) / duration_s, 2),
            "latency_ms": percentiles(lat), "send_latency_ms": percentiles(send_lat)}


# ---------------------------------------------------------------- sync and history

async def prepare_sync_user(client: Client, name: str, n_rooms: int, msgs_per_room: int,
                            history: int, concurrency: int,
                            budget_s: float) -> tuple[User, list[str], dict[str, Any]]:
    user = await client.register(name)
    deadline = time.perf_counter() + budget_s
    started = time.perf_counter()
    rooms, errors = await bounded_gather(
        list(range(n_rooms)), lambda i: client.create_room(user, "private_chat", f"sync {i}"),
        concurrency, deadline)
    rooms = [r for r in rooms if r]
    sends = [(r, k) for r in rooms for k in range(msgs_per_room)]
    _, e2 = await bounded_gather(sends, lambda it: client.send(user, it[0], f"hello {it[1]}"),
                                 concurrency, deadline)
    # One room gets `history` more events for /messages.
    if rooms:
        _, e3 = await bounded_gather(list(range(history)),
                                     lambda k: client.send(user, rooms[0], f"history {k}"),
                                     concurrency, deadline)
    else:
        e3 = []
    return user, rooms, {"rooms": len(rooms), "seconds": round(time.perf_counter() - started, 3),
                         "errors": len(errors) + len(e2) + len(e3)}


async def initial_sync(client: Client, user: User, repeats: int) -> dict[str, Any]:
    """Initial /sync (no filter, as a fresh client does) once per new device,
    then an incremental /sync with nothing new. Each repeat logs in a new device
    so that no server can answer from a per-device response cache."""
    devices = [User(user.name, user.user_id, await client.login(user.name)) for _ in range(repeats)]
    times: list[float] = []
    rooms_seen = 0
    batches = []
    for dev in devices:
        t0 = time.perf_counter()
        data = await client.sync(dev, None, 0)
        times.append(time.perf_counter() - t0)
        rooms_seen = len(data.get("rooms", {}).get("join", {}))
        batches.append(data["next_batch"])
    inc: list[float] = []
    for dev, since in zip(devices, batches):
        t0 = time.perf_counter()
        await client.sync(dev, since, 0)
        inc.append(time.perf_counter() - t0)
    return {"rooms_in_response": rooms_seen, "first_ms": round(times[0] * 1000, 2),
            "initial_ms": percentiles(times), "incremental_empty_ms": percentiles(inc)}


async def messages_page(client: Client, user: User, room_id: str, limit: int,
                        repeats: int) -> dict[str, Any]:
    times: list[float] = []
    got = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = await client.messages(user, room_id, limit)
        times.append(time.perf_counter() - t0)
        got = len(data.get("chunk", []))
    return {"events_returned": got, "latency_ms": percentiles(times)}


async def initial_sync_for(client: Client, user: User, seconds: float, max_n: int = 200) -> dict[str, Any]:
    """Initial /syncs on fresh devices, one after another, for about `seconds`."""
    end = time.perf_counter() + seconds
    times: list[float] = []
    while time.perf_counter() < end and len(times) < max_n:
        dev = User(user.name, user.user_id, await client.login(user.name))
        t0 = time.perf_counter()
        await client.sync(dev, None, 0)
        times.append(time.perf_counter() - t0)
    return {"initial_ms": percentiles(times)}
