"""Running the matrix-js-sdk scenario scripts (tests/clients/js/*.mjs) from
pytest: the node packages as the Makefile installs them, a server of a test
module's own, and one way to run a script and report its failure (its output,
the step that failed, and the end of the server's log)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "clients" / "js"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed; the matrix-js-sdk client tests need node >= 20")
    return found


def install_js_packages() -> Path:
    """npm ci from package-lock.json unless the Makefile's stamp is current."""
    stamp = JS_DIR / "node_modules" / ".installed"
    lock = JS_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed; run `make test` or install node >= 20")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=JS_DIR, check=True, timeout=600)
        stamp.touch()
    return JS_DIR


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no server log: {err})"


def own_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               name: str, kith_toml: str = "") -> Iterator[Any]:
    """A `kith serve` for one test module (open registration, no rate limits),
    with `kith_toml` written before its first start."""
    root = REPO / "tests" / "conftest.py"
    plugin = request.config.pluginmanager.get_plugin(str(root))
    assert plugin is not None, f"{root} is not loaded"
    data_dir = tmp_path_factory.mktemp(name) / "data"
    data_dir.mkdir()
    if kith_toml:
        (data_dir / "kith.toml").write_text(kith_toml)
    running = plugin.start_server(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


def run_script(script: str, args: list[str], server: Any, timeout_s: int,
               env: dict[str, str] | None = None) -> None:
    """node tests/clients/js/<script> ARGS; fail with its output and the
    server log's tail unless it exits 0 within timeout_s."""
    path = JS_DIR / script
    full_env = {**os.environ, "NODE_NO_WARNINGS": "1", **(env or {})}
    try:
        done = subprocess.run(
            [node(), str(path.relative_to(REPO)), *args],
            cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        pytest.fail(f"{script} did not finish in {timeout_s} s\n{out}\n"
                    f"--- server log (tail) ---\n{tail(server.log_path)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{script} exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}\n"
            f"--- server log (tail) ---\n{tail(server.log_path)}",
            pytrace=False,
        )


RESTART_REQUEST = "KITH-RESTART-SERVER"


def run_script_with_restart(script: str, args: list[str], server: Any, restart: Callable[[], Any],
                            timeout_s: int, env: dict[str, str] | None = None) -> None:
    """As run_script, for a script that needs the server restarted midway: it
    prints RESTART_REQUEST on a line of its own, `restart()` restarts the
    server (and returns the new one), and the script is told on stdin that the
    server is back. Fails unless the script asked exactly once and exited 0."""
    path = JS_DIR / script
    full_env = {**os.environ, "NODE_NO_WARNINGS": "1", **(env or {})}
    deadline = time.monotonic() + timeout_s
    process = subprocess.Popen(
        [node(), str(path.relative_to(REPO)), *args],
        cwd=REPO, env=full_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    output: list[str] = []
    asked = threading.Event()

    def read(stream: Any) -> None:
        for line in stream:
            output.append(line)
            if line.strip() == RESTART_REQUEST:
                asked.set()

    reader = threading.Thread(target=read, args=(process.stdout,), daemon=True)
    reader.start()

    def failure(why: str) -> None:
        reader.join(timeout=5)
        pytest.fail(f"{script} {why}\n--- output ---\n{''.join(output)}\n"
                    f"--- server log (tail) ---\n{tail(server.log_path)}", pytrace=False)

    try:
        while not asked.wait(0.1):
            if process.poll() is not None:
                failure(f"exited {process.returncode} without asking for the restart")
            if time.monotonic() > deadline:
                failure(f"did not ask for the restart within {timeout_s} s")
        server = restart()
        process.stdin.write("restarted\n")
        process.stdin.flush()
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            failure(f"did not finish in {timeout_s} s")
        if process.returncode != 0:
            failure(f"exited {process.returncode}")
        reader.join(timeout=5)
        assert sum(line.strip() == RESTART_REQUEST for line in output) == 1, "asked for more than one restart"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
