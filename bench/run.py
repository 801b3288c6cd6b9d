"""Side-by-side benchmark of Kith and Synapse: `make bench [SIZE=S|M|L]`.

Runs every scenario against each server in turn (never both at once, so they
do not share the CPU), writes bench/results/bench-SIZE.json, prints a table
and draws bench/results/bench-SIZE-*.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import scenarios as sc
from client import Client
from servers import BENCH_DIR, SERVERS, Server, process_tree

RESULTS = BENCH_DIR / "results"
PY_SPY = Path(sys.executable).parent / "py-spy"
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "300"))
PHASE_QUIET_WAIT_S = float(os.environ.get("BENCH_PHASE_QUIET_WAIT", "90"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def profiled(server: Server, seconds: float, out_prefix: Path, work: Any) -> dict[str, Any]:
    """Run `work()` (a coroutine factory lasting about `seconds`) with py-spy
    attached to the server: a flame graph (.svg) and collapsed stacks (.txt).
    Its numbers are not used in the table (the profiler slows the server)."""
    if not PY_SPY.exists():
        return {"skipped": f"{PY_SPY} not found"}
    common = ["record", "--pid", str(server.pid), "--duration", str(int(seconds) + 2),
              "--rate", "100", "--nonblocking", "--subprocesses"]
    procs = [
        subprocess.Popen([str(PY_SPY), *common, "--format", "raw", "-o", f"{out_prefix}.txt"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([str(PY_SPY), *common, "--format", "flamegraph", "-o", f"{out_prefix}.svg"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    await asyncio.sleep(1.0)
    result = await work()
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    result["hotspots"] = hotspots(Path(f"{out_prefix}.txt"))
    return result


def hotspots(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    if not raw.exists():
        return {}
    self_n: dict[str, int] = {}
    incl_n: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")"
                  if " (" in f else f for f in stack.split(";")]
        frames = [f.replace(str(Path.cwd()), "") for f in frames]
        self_n[frames[-1]] = self_n.get(frames[-1], 0) + count
        for f in set(frames):
            incl_n[f] = incl_n.get(f, 0) + count

    def table(counts: dict[str, int]) -> list[list[Any]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [[name, n, round(100 * n / total, 1)] for name, n in ranked]

    # Inclusive shares only for Kith's own functions: the event loop and
    # uvicorn frames above them are in nearly every sample and say nothing.
    own = {k: v for k, v in incl_n.items() if "(kith/" in k}
    return {"samples": total, "self": table(self_n), "inclusive": table(own)}


def wait_quiet(max_wait_s: float, threshold_pct: float = 25.0) -> float:
    """Wait (bounded) until the rest of the machine uses < threshold of one CPU.
    Returns the CPU share others used in the last sample."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        a, t0 = sc.machine_busy_s(), time.perf_counter()
        time.sleep(2)
        share = 100 * (sc.machine_busy_s() - a) / (time.perf_counter() - t0)
        if share < threshold_pct or time.perf_counter() > deadline:
            if share >= threshold_pct:
                log(f"machine still busy ({share:.0f}% of a CPU used by other processes)")
            return round(share, 1)


async def bench_server(kind: str, size: sc.Size, size_name: str, port: int,
                       profile: bool) -> dict[str, Any]:
    server: Server = SERVERS[kind](Path(f"/tmp/kith-bench-{os.getpid()}/{kind}"), port)
    server.prepare()
    res: dict[str, Any] = {"other_cpu_pct_before": wait_quiet(QUIET_WAIT_S)}
    log(f"{kind}: starting")
    res["startup_s"] = round(server.start(), 3)
    await asyncio.sleep(2)
    res["rss_idle_kb"] = server.rss_kb()
    pids = process_tree(server.pid)
    log(f"{kind}: up in {res['startup_s']} s, idle RSS {res['rss_idle_kb'] // 1024} MiB")
    try:
        async with Client(server.base_url) as client:
            names = [f"u{i}" for i in range(size.users)]
            wait_quiet(PHASE_QUIET_WAIT_S)
            with sc.CpuMeter(pids) as cpu:
                users, res["register"] = await sc.register_users(client, names, 8, 600)
            res["register"]["cpu"] = cpu.summary()
            log(f"{kind}: register {res['register']['per_s']}/s")
            with sc.CpuMeter(pids) as cpu:
                res["login"] = await sc.login_users(client, users, 8, 300)
            res["login"]["cpu"] = cpu.summary()
            log(f"{kind}: login {res['login']['per_s']}/s")
            rooms, members, res["rooms"] = await sc.build_rooms(client, users, size.rooms, 3, 8, 600)
            log(f"{kind}: rooms {res['rooms']}")
            wait_quiet(PHASE_QUIET_WAIT_S)
            r0 = members[0]
            res["delivery_closed"] = await sc.delivery_closed_loop(
                client, r0[1], r0[0], rooms[0], size.closed_n, 60)
            log(f"{kind}: delivery closed {res['delivery_closed']['latency_ms']}")
            wait_quiet(PHASE_QUIET_WAIT_S)
            with sc.CpuMeter(pids) as cpu:
                res["delivery_rate"] = await sc.delivery_fixed_rate(
                    client, rooms, members, size.rate, size.rate_s)
            res["delivery_rate"]["cpu"] = cpu.summary()
            log(f"{kind}: delivery @{size.rate}/s {res['delivery_rate']['latency_ms']}")
            wait_quiet(PHASE_QUIET_WAIT_S)
            with sc.CpuMeter(pids) as cpu:
                res["send"] = await sc.send_closed_loop(client, users, size.send_s)
            res["send"]["cpu"] = cpu.summary()
            res["send"]["server_cpu_ms_per_event"] = round(
                1000 * cpu.server / max(1, res["send"]["events"]), 3)
            log(f"{kind}: send {res['send']['per_s']}/s p50 {res['send']['latency_ms']['p50']} ms")
            wait_quiet(PHASE_QUIET_WAIT_S)
            syncer, sync_rooms, res["sync_setup"] = await sc.prepare_sync_user(
                client, "syncer", size.sync_rooms, 3, 100, 4, 600)
            res["sync"] = await sc.initial_sync(client, syncer, 5)
            log(f"{kind}: initial sync {res['sync']['initial_ms']['p50']} ms"
                f" ({res['sync']['rooms_in_response']} rooms)")
            res["messages"] = await sc.messages_page(client, syncer, sync_rooms[0], 100, 20)
            log(f"{kind}: /messages {res['messages']['latency_ms']['p50']} ms")
            res["rss_after_kb"] = server.rss_kb()
            res["rss_peak_kb"] = server.peak_kb()
            res["rss_hwm_kb"] = server.hwm_kb()
            if profile:
                secs = max(10.0, size.send_s)
                log(f"{kind}: profiling closed-loop sends with py-spy")
                res["profile"] = await profiled(
                    server, secs, RESULTS / f"{kind}-send-{size_name}",
                    lambda: sc.send_closed_loop(client, users, secs - 1))
                log(f"{kind}: profiling fixed-rate delivery with py-spy")
                res["profile_delivery"] = await profiled(
                    server, size.rate_s + 3, RESULTS / f"{kind}-deliver-{size_name}",
                    lambda: sc.delivery_fixed_rate(client, rooms, members, size.rate, size.rate_s))
                log(f"{kind}: profiling initial /sync with py-spy")
                res["profile_sync"] = await profiled(
                    server, 12, RESULTS / f"{kind}-sync-{size_name}",
                    lambda: sc.initial_sync_for(client, syncer, 10.0))
        res["stop_s"] = round(server.stop(), 3)
        log(f"{kind}: restarting on the filled database")
        res["startup_warm_s"] = round(server.start(), 3)
        await asyncio.sleep(2)
        res["rss_idle_warm_kb"] = server.rss_kb()
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(server.data_dir)])
    return res


# (key path, label, unit, which direction is better)
ROWS: list[tuple[str, str, str, str]] = [
    ("startup_s", "start-up until /versions (fresh)", "s", "low"),
    ("startup_warm_s", "start-up until /versions (filled db)", "s", "low"),
    ("register.per_s", "registration", "users/s", "high"),
    ("login.per_s", "login", "logins/s", "high"),
    ("rooms.create_per_s", "room creation (setup)", "rooms/s", "high"),
    ("rooms.join_per_s", "room joins (setup)", "joins/s", "high"),
    ("send.per_s", "send throughput, closed loop", "events/s", "high"),
    ("send.latency_ms.p50", "  send request p50", "ms", "low"),
    ("send.latency_ms.p99", "  send request p99", "ms", "low"),
    ("send.server_cpu_ms_per_event", "  server CPU per event", "ms", "low"),
    ("send.cpu.server_cpu_pct", "  server CPU use during sends", "% of 1 CPU", ""),
    ("send.cpu.loadgen_cpu_pct", "  load generator CPU during sends", "% of 1 CPU", ""),
    ("send.cpu.other_cpu_pct", "  other processes' CPU during sends", "% of 1 CPU", ""),
    ("delivery_closed.latency_ms.p50", "delivery latency closed loop p50", "ms", "low"),
    ("delivery_closed.latency_ms.p95", "delivery latency closed loop p95", "ms", "low"),
    ("delivery_closed.latency_ms.p99", "delivery latency closed loop p99", "ms", "low"),
    ("delivery_rate.latency_ms.p50", "delivery latency @ fixed rate p50", "ms", "low"),
    ("delivery_rate.latency_ms.p95", "delivery latency @ fixed rate p95", "ms", "low"),
    ("delivery_rate.latency_ms.p99", "delivery latency @ fixed rate p99", "ms", "low"),
    ("delivery_rate.lost", "  events not delivered @ fixed rate", "events", "low"),
    ("sync.initial_ms.p50", "initial /sync, user in N rooms p50", "ms", "low"),
    ("sync.incremental_empty_ms.p50", "incremental /sync (nothing new) p50", "ms", "low"),
    ("messages.latency_ms.p50", "/messages 100 events p50", "ms", "low"),
    ("messages.latency_ms.p95", "/messages 100 events p95", "ms", "low"),
    ("rss_idle_kb", "RSS idle after start", "MiB", "low"),
    ("rss_peak_kb", "RSS peak (sampled)", "MiB", "low"),
    ("rss_hwm_kb", "VmHWM at end of load", "MiB", "low"),
    ("rss_idle_warm_kb", "RSS idle after restart", "MiB", "low"),
]


def get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def table(results: dict[str, Any]) -> str:
    kith, syn = results["servers"].get("kith", {}), results["servers"].get("synapse", {})
    lines = [f"| metric | unit | Kith | Synapse | Kith/Synapse | better |",
             "|---|---|---:|---:|---:|---|"]
    for path, label, unit, better in ROWS:
        a, b = get(kith, path), get(syn, path)
        if unit == "MiB":
            a = None if a is None else a / 1024
            b = None if b is None else b / 1024
        fa = "n/a" if a is None else f"{a:.4g}" if isinstance(a, float) else str(a)
        fb = "n/a" if b is None else f"{b:.4g}" if isinstance(b, float) else str(b)
        ratio, who = "", ""
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
            ratio = f"{a / b:.2f}"
            if a != b and better:
                kith_better = (a > b) if better == "high" else (a < b)
                who = "Kith" if kith_better else "Synapse"
        label = label.replace("N rooms", f"{results['size']['sync_rooms']} rooms")
        lines.append(f"| {label.strip()} | {unit} | {fa} | {fb} | {ratio} | {who} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="M", choices=sorted(sc.SIZES))
    parser.add_argument("--servers", default="kith,synapse")
    parser.add_argument("--profile", action="store_true", help="py-spy Kith during extra sends")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18431")))
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    size = sc.SIZES[args.size]
    results: dict[str, Any] = {
        "size_name": args.size, "size": size.__dict__, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "kernel": platform.release()},
        "versions": versions(), "servers": {}}
    for i, kind in enumerate(args.servers.split(",")):
        results["servers"][kind] = asyncio.run(bench_server(
            kind, size, args.size, args.port + i, args.profile and kind == "kith"))
    tag = args.size if args.servers == "kith,synapse" else f"{args.size}-{args.servers.replace(',', '-')}"
    results["size_name"] = tag
    out = RESULTS / f"bench-{tag}.json"
    out.write_text(json.dumps(results, indent=2))
    text = table(results)
    (RESULTS / f"bench-{tag}.md").write_text(text + "\n")
    print()
    print(f"Size {args.size}: {size.users} users, {size.rooms} rooms; "
          f"{os.cpu_count()} CPUs; {results['versions']}")
    print(text)
    for key, what in (("profile", "closed-loop sends"), ("profile_delivery", "fixed-rate delivery"),
                      ("profile_sync", "initial /sync")):
        prof = results["servers"].get("kith", {}).get(key, {}).get("hotspots")
        if prof:
            print(f"\nKith hot spots under {what} ({prof['samples']} samples)")
            print("  self time:")
            for name, n, pct in prof["self"][:12]:
                print(f"  {pct:5.1f}%  {name}")
            print("  inclusive (function and what it calls):")
            for name, n, pct in prof["inclusive"][:20]:
                print(f"  {pct:5.1f}%  {name}")
    write_plots("bench_plots", results)
    print(f"wrote {out}")
    return 0


def write_plots(kind: str, results: dict[str, Any]) -> None:
    """plots.<kind>(results, RESULTS), if matplotlib is there."""
    try:
        import plots
    except ImportError as err:
        print(f"no plots: {err}")
        return
    for path in getattr(plots, kind)(results, RESULTS):
        print(f"wrote {path}")


def versions() -> dict[str, str]:
    found = {}
    for name, cmd in {
        "kith": [str(BENCH_DIR.parent / ".venv/bin/python"), "-c",
                 "import importlib.metadata as m; print(m.version('kith'))"],
        "synapse": [str(BENCH_DIR / ".venv-synapse/bin/python"), "-c",
                    "import importlib.metadata as m; print(m.version('matrix-synapse'))"],
    }.items():
        try:
            found[name] = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            found[name] = "?"
    try:
        found["kith_commit"] = subprocess.run(["git", "-C", str(BENCH_DIR.parent), "rev-parse",
                                               "--short", "HEAD"], capture_output=True, text=True
                                              ).stdout.strip()
    except OSError:
        pass
    return found


if __name__ == "__main__":
    sys.exit(main())
