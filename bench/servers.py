"""Starting, measuring and stopping the two homeservers under test.

Both run as child processes on 127.0.0.1 with a fresh data directory. Memory
is read from /proc/<pid>/status (VmRSS, VmHWM) summed over the server's
process tree; a background thread samples VmRSS to find the peak of the sum.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
KITH_BIN = Path(os.environ.get("KITH_BIN", REPO / ".venv" / "bin" / "kith"))
SYNAPSE_PY = Path(os.environ.get("SYNAPSE_PY", BENCH_DIR / ".venv-synapse" / "bin" / "python"))


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_kb(pid: int, field: str) -> int:
    return sum(_status_kb(p, field) for p in process_tree(pid))


class RssSampler(threading.Thread):
    """Samples the summed VmRSS of a process tree every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kb = max(self.peak_kb, tree_kb(self.pid, "VmRSS"))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


class Server:
    name = "server"

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sampler: RssSampler | None = None
        self._log = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Make a fresh data directory (not timed)."""
        if self.data_dir.exists():
            subprocess.run(["rm", "-rf", str(self.data_dir)], check=True)
        self.data_dir.mkdir(parents=True)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 120.0) -> float:
        """Start the server; return seconds until GET /versions answered 200."""
        self._log = open(self.data_dir / "server.log", "ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.command(), cwd=self.data_dir, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = started + timeout
        url = self.base_url + "/_matrix/client/versions"
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode};"
                                   f" see {self.data_dir / 'server.log'}")
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        elapsed = time.perf_counter() - started
                        self.sampler = RssSampler(self.proc.pid)
                        self.sampler.start()
                        return elapsed
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /versions within {timeout}s")

    def rss_kb(self) -> int:
        return tree_kb(self.pid, "VmRSS")

    def hwm_kb(self) -> int:
        return tree_kb(self.pid, "VmHWM")

    def peak_kb(self) -> int:
        sampled = self.sampler.peak_kb if self.sampler else 0
        return max(sampled, self.rss_kb())

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM, wait (SIGKILL after `timeout`); return seconds it took."""
        if self.sampler:
            self.sampler.stop()
            self.sampler = None
        if self.proc is None:
            return 0.0
        started = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return time.perf_counter() - started


class Kith(Server):
    name = "kith"

    def command(self) -> list[str]:
        return [str(KITH_BIN), "--data-dir", str(self.data_dir), "serve",
                "--listen", f"127.0.0.1:{self.port}", "--registration", "open",
                "--rate-limit", "off"]


class Synapse(Server):
    name = "synapse"
    fast_hash = False

    def prepare(self) -> None:
        super().prepare()
        extra = ["--fast-hash"] if self.fast_hash else []
        subprocess.run([str(SYNAPSE_PY), str(BENCH_DIR / "synapse_config.py"),
                        str(self.data_dir), str(self.port), *extra],
                       check=True, stdout=subprocess.DEVNULL)

    def command(self) -> list[str]:
        return [str(SYNAPSE_PY), "-m", "synapse.app.homeserver",
                "--config-path", str(self.data_dir / "homeserver.yaml")]


SERVERS = {"kith": Kith, "synapse": Synapse}
