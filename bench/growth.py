"""Growth curves: `make bench-growth`.

1. Send and delivery latency against room size: one public room grows to
   1, 10, 100, 1,000, 3,000 and 10,000 members (new accounts join it); at each
   size a member sends 30 events one after another and the room's creator
   long-polls /sync for them.
2. Initial and incremental /sync time against rooms joined: one user creates
   rooms up to 1, 10, 100, 500, 1,000 and 2,000 (one message each); at each
   point three new devices do an initial /sync, and three incremental /syncs
   follow one new message each.

Each curve has a time budget per server (GROWTH_BUDGET seconds, default 600):
when growing to the next point would pass it, the curve stops and says where.
For this run only Synapse is configured with bcrypt_rounds 4 (default 12),
so that account creation does not use up its budget; Kith keeps its defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import scenarios as sc
from client import Client, User, bounded_gather
from run import RESULTS, log, versions, wait_quiet, write_plots
from servers import SERVERS, Server

ROOM_SIZES = [1, 10, 100, 1000, 3000, 10000]
ROOM_COUNTS = [1, 10, 100, 500, 1000, 2000]


async def room_size_curve(client: Client, budget_s: float, sizes: list[int]) -> dict[str, Any]:
    started = time.perf_counter()
    deadline = started + budget_s
    owner = await client.register("owner")
    room = await client.create_room(owner, "public_chat")
    members = [owner]
    points: list[dict[str, Any]] = []
    capped = None
    for target in sizes:
        need = [f"m{i}" for i in range(len(members), target)]
        grow_started = time.perf_counter()

        async def add(name: str) -> User:
            user = await client.register(name)
            await client.join(user, room)
            return user

        added, errors = await bounded_gather(need, add, 8, deadline)
        members.extend(u for u in added if u is not None)
        grow_s = time.perf_counter() - grow_started
        if len(members) < target:
            capped = {"wanted": target, "reached": len(members),
                      "errors": len(errors), "first_error": errors[0] if errors else None}
            log(f"  room size: budget reached at {len(members)} members (wanted {target})")
            break
        sender = members[1] if len(members) > 1 else owner
        result = await sc.delivery_closed_loop(client, sender, owner, room, 30, 60)
        point = {"members": len(members), "grow_s": round(grow_s, 2),
                 "joins_per_s": round(len(need) / grow_s, 2) if need else None,
                 "send_ms": result["send_latency_ms"], "deliver_ms": result["latency_ms"],
                 "elapsed_s": round(time.perf_counter() - started, 1)}
        points.append(point)
        log(f"  {len(members)} members: send p50 {point['send_ms']['p50']} ms,"
            f" delivery p50 {point['deliver_ms']['p50']} ms (grew in {point['grow_s']} s)")
    return {"points": points, "capped": capped, "budget_s": budget_s}


async def rooms_joined_curve(client: Client, budget_s: float, counts: list[int]) -> dict[str, Any]:
    started = time.perf_counter()
    deadline = started + budget_s
    user = await client.register("many")
    rooms: list[str] = []
    points: list[dict[str, Any]] = []
    capped = None
    for target in counts:
        grow_started = time.perf_counter()

        async def add(i: int) -> str:
            room_id = await client.create_room(user, "private_chat", f"r{i}")
            await client.send(user, room_id, f"first message in r{i}")
            return room_id

        made, errors = await bounded_gather(list(range(len(rooms), target)), add, 4, deadline)
        rooms.extend(r for r in made if r)
        grow_s = time.perf_counter() - grow_started
        if len(rooms) < target:
            capped = {"wanted": target, "reached": len(rooms), "errors": len(errors),
                      "first_error": errors[0] if errors else None}
            log(f"  rooms joined: budget reached at {len(rooms)} rooms (wanted {target})")
            break
        initial: list[float] = []
        incremental: list[float] = []
        rooms_seen = 0
        for k in range(3):
            dev = User(user.name, user.user_id, await client.login(user.name))
            t0 = time.perf_counter()
            data = await client.sync(dev, None, 0)
            initial.append(time.perf_counter() - t0)
            rooms_seen = len(data.get("rooms", {}).get("join", {}))
            await client.send(user, rooms[k % len(rooms)], f"news {k}")
            t0 = time.perf_counter()
            await client.sync(dev, data["next_batch"], 0)
            incremental.append(time.perf_counter() - t0)
        point = {"rooms": len(rooms), "rooms_in_response": rooms_seen,
                 "grow_s": round(grow_s, 2), "initial_ms": sc.percentiles(initial),
                 "incremental_ms": sc.percentiles(incremental),
                 "elapsed_s": round(time.perf_counter() - started, 1)}
        points.append(point)
        log(f"  {len(rooms)} rooms: initial sync p50 {point['initial_ms']['p50']} ms,"
            f" incremental p50 {point['incremental_ms']['p50']} ms")
        if time.perf_counter() > deadline:
            break
    return {"points": points, "capped": capped, "budget_s": budget_s}


async def grow_server(kind: str, port: int, budget_s: float, quiet_s: float) -> dict[str, Any]:
    res: dict[str, Any] = {}
    for curve in ("room_size", "rooms_joined"):
        server: Server = SERVERS[kind](Path(f"/tmp/kith-growth-{os.getpid()}/{kind}"), port)
        if kind == "synapse":
            server.fast_hash = True  # type: ignore[attr-defined]
        server.prepare()
        wait_quiet(quiet_s)
        server.start()
        log(f"{kind}: {curve}")
        try:
            async with Client(server.base_url) as client:
                if curve == "room_size":
                    res[curve] = await room_size_curve(client, budget_s, ROOM_SIZES)
                else:
                    res[curve] = await rooms_joined_curve(client, budget_s, ROOM_COUNTS)
            res[curve]["rss_peak_kb"] = server.peak_kb()
        finally:
            server.stop()
            subprocess.run(["rm", "-rf", str(server.data_dir)])
    return res


def summary(results: dict[str, Any]) -> str:
    lines = ["Send / delivery latency (p50, ms) against room size:", "",
             "| members | " + " | ".join(f"{s} send | {s} delivery" for s in results["servers"]) + " |",
             "|---:|" + "---:|---:|" * len(results["servers"])]
    sizes = sorted({p["members"] for d in results["servers"].values()
                    for p in d["room_size"]["points"]})
    for n in sizes:
        cells = []
        for d in results["servers"].values():
            p = next((p for p in d["room_size"]["points"] if p["members"] == n), None)
            cells += [str(p["send_ms"]["p50"]) if p else "-", str(p["deliver_ms"]["p50"]) if p else "-"]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", "/sync time (p50, ms) against rooms joined:", "",
              "| rooms | " + " | ".join(f"{s} initial | {s} incremental" for s in results["servers"]) + " |",
              "|---:|" + "---:|---:|" * len(results["servers"])]
    counts = sorted({p["rooms"] for d in results["servers"].values()
                     for p in d["rooms_joined"]["points"]})
    for n in counts:
        cells = []
        for d in results["servers"].values():
            p = next((p for p in d["rooms_joined"]["points"] if p["rooms"] == n), None)
            cells += [str(p["initial_ms"]["p50"]) if p else "-",
                      str(p["incremental_ms"]["p50"]) if p else "-"]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, d in results["servers"].items():
        for curve in ("room_size", "rooms_joined"):
            if d[curve]["capped"]:
                c = d[curve]["capped"]
                lines.append(f"- {name} {curve}: stopped by the {d[curve]['budget_s']:.0f} s budget"
                             f" at {c['reached']} (next point {c['wanted']}).")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", default="kith,synapse")
    parser.add_argument("--budget", type=float, default=float(os.environ.get("GROWTH_BUDGET", "600")),
                        help="seconds per curve per server")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18431")) + 10)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"),
                               "versions": versions(), "cpus": os.cpu_count(),
                               "budget_s": args.budget, "servers": {}}
    quiet = float(os.environ.get("BENCH_QUIET_WAIT", "300"))
    for i, kind in enumerate(args.servers.split(",")):
        results["servers"][kind] = asyncio.run(grow_server(kind, args.port + i, args.budget, quiet))
    out = RESULTS / "growth.json"
    out.write_text(json.dumps(results, indent=2))
    text = summary(results)
    (RESULTS / "growth.md").write_text(text + "\n")
    print(text)
    write_plots("growth_plots", results)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
