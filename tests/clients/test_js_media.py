"""Media end to end with matrix-js-sdk: tests/clients/js/media.mjs against a
real `kith serve` (uploads, authenticated downloads, thumbnails, Range, 401,
404, the frozen legacy path and 413 over the limit).

Modelled on test_js_sdk.py; the server is this module's own, with a 4 MiB
upload limit written to kith.toml before its first start, so that the
scenario can check 413 without sending 100 MiB.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "clients" / "js"
SCRIPT_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def media_server(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = REPO / "tests" / "conftest.py"
    plugin = request.config.pluginmanager.get_plugin(str(root))
    assert plugin is not None, f"{root} is not loaded"
    data_dir = tmp_path_factory.mktemp("kith-js-media") / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text("[media]\nmax_upload_bytes = 4194304\n")
    running = plugin.start_server(data_dir, "--registration", "open", "--rate-limit", "off")
    yield running
    running.stop()


def _node_modules() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed; the matrix-js-sdk client tests need node >= 20")
    if not (JS_DIR / "node_modules" / "matrix-js-sdk").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed; run `make test` or install node >= 20")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=JS_DIR, check=True, timeout=600)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"(no server log: {err})"


def test_js_sdk_media(media_server: Any, tmp_path: Path) -> None:
    _node_modules()
    photo = tmp_path / "photo.png"
    image = Image.new("RGB", (1024, 768), (30, 120, 200))
    for x in range(0, 1024, 3):
        image.putpixel((x, x * 768 // 1024), (255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    env = {**os.environ, "NODE_NO_WARNINGS": "1"}
    script = JS_DIR / "media.mjs"
    try:
        done = subprocess.run(
            [str(shutil.which("node")), str(script.relative_to(REPO)), media_server.base_url, str(photo)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        pytest.fail(f"media.mjs did not finish in {SCRIPT_TIMEOUT_S} s\n{out}\n"
                    f"--- server log (tail) ---\n{_tail(media_server.log_path)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"media.mjs exited {done.returncode}\n--- stdout ---\n{done.stdout}\n"
            f"--- stderr ---\n{done.stderr}\n--- server log (tail) ---\n{_tail(media_server.log_path)}",
            pytrace=False,
        )
