"""End-to-end encryption end to end: matrix-js-sdk with its Rust crypto
(@matrix-org/matrix-sdk-crypto-wasm, through client.initRustCrypto()), a
client we did not write, against a real `kith serve`.

Each scenario is a node script tests/clients/js/crypto_<name>.mjs (helpers in
crypto_lib.mjs); see the scripts for the steps. The server is this module's
own, with the default configuration, so new private rooms are encrypted (the
plaintext scenarios of test_js_sdk.py need `encryption = "off"`). A failing
script prints the step that failed and the last HTTP exchanges, which this
test shows together with the end of the server's log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "clients" / "js"
SCENARIOS = ["rooms", "todevice", "verification", "user_verification", "backup"]
SCRIPT_TIMEOUT_S = 150


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; the matrix-js-sdk client tests need node >= 20")
    return node


@pytest.fixture(scope="module")
def js_packages() -> Path:
    """The node packages, installed from package-lock.json as the Makefile does."""
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


@pytest.fixture
def crypto_server(start_server_fn: Callable[..., Any], tmp_path: Path) -> Iterator[Any]:
    """A server for each scenario, with the default kith.toml (encryption on
    for new private rooms and DMs): open registration, no rate limits."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    running = start_server_fn(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no server log: {err})"


def run_scenario(name: str, base_url: str, log_path: Path) -> None:
    """Run tests/clients/js/crypto_<name>.mjs against base_url; fail with its
    output and the server log's tail unless it exits 0."""
    script = JS_DIR / f"crypto_{name}.mjs"
    env = {**os.environ, "NODE_NO_WARNINGS": "1",
           "KITH_JS_DEADLINE_MS": str((SCRIPT_TIMEOUT_S - 10) * 1000)}
    try:
        done = subprocess.run(
            [_node(), str(script.relative_to(REPO)), base_url],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        pytest.fail(f"crypto_{name}.mjs did not finish in {SCRIPT_TIMEOUT_S} s\n{out}\n"
                    f"--- server log (tail) ---\n{_tail(log_path)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"crypto_{name}.mjs exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}\n"
            f"--- server log (tail) ---\n{_tail(log_path)}",
            pytrace=False,
        )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_crypto_scenario(scenario: str, crypto_server: Any, js_packages: Path) -> None:
    run_scenario(scenario, crypto_server.base_url, crypto_server.log_path)
