"""End-to-end scenarios: matrix-js-sdk, a client we did not write, against a
real `kith serve`.

Each scenario is a node script in tests/clients/js/ that registers fresh users,
syncs, and asserts what a user expects; see the scripts for the steps. A
failing script prints the step that failed and the last HTTP exchanges, which
this test shows together with the end of the server's log.
"""

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
SCENARIOS = ["accounts", "rooms_messaging", "pagination", "ephemeral_relations"]
SCRIPT_TIMEOUT_S = 120


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; the matrix-js-sdk client tests need node >= 20")
    return node


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="module")
def plaintext_server(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server of their own for these scenarios, which use no end-to-end
    encryption: its kith.toml says new private rooms are not encrypted by
    default (`encryption = "off"`), which matrix-js-sdk without its crypto
    module needs in order to send into them. Otherwise as the shared `server`:
    open registration, no rate limits."""
    root = REPO / "tests" / "conftest.py"
    plugin = request.config.pluginmanager.get_plugin(str(root))
    assert plugin is not None, f"{root} is not loaded"
    data_dir = tmp_path_factory.mktemp("kith-js") / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text('encryption = "off"\n')
    running = plugin.start_server(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no server log: {err})"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_sdk_scenario(scenario: str, plaintext_server: Any, js_packages: Path) -> None:
    script = JS_DIR / f"{scenario}.mjs"
    env = {**os.environ, "NODE_NO_WARNINGS": "1"}
    try:
        done = subprocess.run(
            [_node(), str(script.relative_to(REPO)), plaintext_server.base_url],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode(errors="replace") if isinstance(err.stdout, bytes) \
            else (err.stdout or "")
        pytest.fail(f"{scenario}.mjs did not finish in {SCRIPT_TIMEOUT_S} s\n{out}\n"
                    f"--- server log (tail) ---\n{_tail(plaintext_server.log_path)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{scenario}.mjs exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}\n"
            f"--- server log (tail) ---\n{_tail(plaintext_server.log_path)}",
            pytrace=False,
        )
