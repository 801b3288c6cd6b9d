"""Running the matrix-js-sdk scenario scripts (tests/clients/js/*.mjs) from
pytest: the node packages as the Makefile installs them, a server of a test
module's own, and one way to run a script and report its failure (its output,
the step that failed, and the end of the server's log)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
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
