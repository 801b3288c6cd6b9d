"""The web messenger in a real browser: web/tests/*.test.mjs drive Debian's
Chromium (playwright-core) against a `kith serve` in registration-token mode.

Two people sign up with invitation codes, chat in an encrypted direct chat
(text, image, file, voice message, reactions, edits), and a third browser
signs in as the first, verifies by emoji and restores history with the
recovery key. Screenshots of the main screens land in test-artifacts/web/.
`make test` installs chromium and builds the assets first; this test builds
them too if they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
STATIC_INDEX = REPO / "kith" / "web" / "static" / "index.html"
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_S = 600


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed; `make test` sets up node, npm and chromium")
    return found


@pytest.fixture(scope="module")
def web_build() -> Path:
    """node_modules from package-lock.json and the built assets, as the Makefile makes them."""
    stamp = WEB / "node_modules" / ".installed"
    lock = WEB / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([_need("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=WEB, check=True, timeout=600)
        stamp.touch()
    if not STATIC_INDEX.exists():
        subprocess.run([_need("node"), "build.mjs"], cwd=WEB, check=True, timeout=300)
    return WEB


def _invite(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kith.cli", "--data-dir", str(data_dir), "invite", "create", "--uses", "5"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip().splitlines()[0]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no server log: {err})"


def test_web_messenger_in_chromium(web_build: Path, tmp_path: Path, start_server_fn: Any) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
    data_dir = tmp_path / "data"
    tokens = [_invite(data_dir), _invite(data_dir)]
    server = start_server_fn(data_dir, "--registration", "token", "--rate-limit", "off")
    env = {**os.environ, "NODE_NO_WARNINGS": "1", "KITH_URL": server.base_url,
           "KITH_TOKENS": ",".join(tokens), "KITH_ARTIFACTS": str(ARTIFACTS), "CHROMIUM": CHROMIUM}
    try:
        done = subprocess.run([_need("node"), "--test", "--test-reporter=spec", "tests/"],
                              cwd=WEB, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        pytest.fail(f"browser tests did not finish in {TIMEOUT_S} s\n{out[-8000:]}\n"
                    f"--- server log (tail) ---\n{_tail(server.log_path)}", pytrace=False)
    finally:
        server.stop()
    if done.returncode != 0:
        pytest.fail(f"browser tests failed (exit {done.returncode})\n--- output ---\n{done.stdout[-12000:]}\n"
                    f"--- stderr ---\n{done.stderr[-4000:]}\n"
                    f"--- server log (tail) ---\n{_tail(server.log_path)}", pytrace=False)
