"""Media end to end with matrix-js-sdk: tests/clients/js/media.mjs against a
real `kith serve` (uploads, authenticated downloads, thumbnails, Range, 401,
404, the frozen legacy path and 413 over the limit), and again in its legacy
mode against a server started with --legacy-media (byte-exact downloads and
thumbnails from the deprecated unauthenticated paths).

Modelled on test_js_sdk.py; the first server is this module's own, with a
4 MiB upload limit written to kith.toml before its first start, so that the
scenario can check 413 without sending 100 MiB.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from js_runner import own_server, run_script  # type: ignore[import-not-found]

SCRIPT_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def media_server(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from own_server(request, tmp_path_factory, "kith-js-media",
                          "[media]\nmax_upload_bytes = 4194304\n")


def write_photo(path: Path) -> Path:
    image = Image.new("RGB", (1024, 768), (30, 120, 200))
    for x in range(0, 1024, 3):
        image.putpixel((x, x * 768 // 1024), (255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_js_sdk_media(media_server: Any, tmp_path: Path, js_packages: Path) -> None:
    photo = write_photo(tmp_path / "photo.png")
    run_script("media.mjs", [media_server.base_url, str(photo)], media_server, SCRIPT_TIMEOUT_S)


def test_js_sdk_legacy_media(start_server_fn: Callable[..., Any], tmp_path: Path,
                             js_packages: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = start_server_fn(data_dir, "--registration", "open", "--rate-limit", "off",
                             "--legacy-media")
    try:
        photo = write_photo(tmp_path / "photo.png")
        run_script("media.mjs", [server.base_url, str(photo), "legacy"], server, SCRIPT_TIMEOUT_S)
    finally:
        server.stop()
