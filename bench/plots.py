"""PNG plots of bench and growth results (matplotlib, from bench/.venv-tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"kith": "#2a9d8f", "synapse": "#6c757d"}


def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _bars(ax: Any, results: dict[str, Any], items: list[tuple[str, str]], scale: float = 1.0) -> None:
    servers = list(results["servers"])
    width = 0.8 / max(1, len(servers))
    for s, name in enumerate(servers):
        values = [(_get(results["servers"][name], path) or 0) * scale for path, _ in items]
        xs = [i + s * width for i in range(len(items))]
        bars = ax.bar(xs, values, width, label=name, color=COLOURS.get(name))
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    ax.set_xticks([i + width * (len(servers) - 1) / 2 for i in range(len(items))])
    ax.set_xticklabels([label for _, label in items], fontsize=8)
    ax.legend()


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bench_plots(results: dict[str, Any], out_dir: Path) -> list[Path]:
    size = results["size_name"]
    written = []

    fig, ax = plt.subplots(figsize=(9, 4.5))
    _bars(ax, results, [("register.per_s", "register/s"), ("login.per_s", "login/s"),
                        ("rooms.join_per_s", "joins/s"), ("send.per_s", "sends/s\n(closed loop)")])
    ax.set_title(f"Throughput, size {size} (higher is better)")
    written.append(_save(fig, out_dir / f"bench-{size}-throughput.png"))

    fig, ax = plt.subplots(figsize=(11, 5))
    _bars(ax, results, [
        ("send.latency_ms.p50", "send p50"), ("send.latency_ms.p99", "send p99"),
        ("delivery_closed.latency_ms.p50", "deliver\nclosed p50"),
        ("delivery_closed.latency_ms.p99", "deliver\nclosed p99"),
        ("delivery_rate.latency_ms.p50", "deliver\n@rate p50"),
        ("delivery_rate.latency_ms.p99", "deliver\n@rate p99"),
        ("sync.initial_ms.p50", "initial\nsync p50"),
        ("messages.latency_ms.p50", "/messages\n100 p50")])
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    ax.set_title(f"Latency, size {size} (lower is better)")
    written.append(_save(fig, out_dir / f"bench-{size}-latency.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    _bars(ax, results, [("rss_idle_kb", "idle"), ("rss_peak_kb", "peak (sampled)"),
                        ("rss_hwm_kb", "VmHWM"), ("rss_idle_warm_kb", "idle after restart")],
          scale=1 / 1024)
    ax.set_ylabel("MiB")
    ax.set_title(f"Server memory (RSS of process tree), size {size}")
    written.append(_save(fig, out_dir / f"bench-{size}-memory.png"))
    return written


def growth_plots(results: dict[str, Any], out_dir: Path) -> list[Path]:
    written = []
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, data in results["servers"].items():
        pts = data.get("room_size", {}).get("points", [])
        if pts:
            xs = [p["members"] for p in pts]
            ax.plot(xs, [p["send_ms"]["p50"] for p in pts], "o-", color=COLOURS.get(name),
                    label=f"{name} send p50")
            ax.plot(xs, [p["deliver_ms"]["p50"] for p in pts], "s--", color=COLOURS.get(name),
                    label=f"{name} delivery p50")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("room members")
    ax.set_ylabel("ms")
    ax.set_title("Send and delivery latency against room size")
    ax.legend()
    written.append(_save(fig, out_dir / "growth-room-size.png"))

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, data in results["servers"].items():
        pts = data.get("rooms_joined", {}).get("points", [])
        if pts:
            xs = [p["rooms"] for p in pts]
            ax.plot(xs, [p["initial_ms"]["p50"] for p in pts], "o-", color=COLOURS.get(name),
                    label=f"{name} initial sync")
            ax.plot(xs, [p["incremental_ms"]["p50"] for p in pts], "s--",
                    color=COLOURS.get(name), label=f"{name} incremental sync")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rooms joined")
    ax.set_ylabel("ms (median)")
    ax.set_title("/sync time against rooms joined")
    ax.legend()
    written.append(_save(fig, out_dir / "growth-rooms-joined.png"))
    return written
