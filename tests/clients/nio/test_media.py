"""Media through matrix-nio against a real `kith serve` (authed-content-repo.yaml,
content-repo.yaml): byte-exact round trips, thumbnails, a voice message with
Range, errors, the legacy endpoints, the upload limit, and memory use while
streaming a 200 MiB file."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Callable

import pytest
from nio import (
    AsyncClient,
    DownloadError,
    MemoryDownloadResponse,
    DiskDownloadResponse,
    ResizingMethod,
    ThumbnailError,
    ThumbnailResponse,
    UploadError,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment
from PIL import Image

from nio_helpers import Clients, errcode, expect, http_status

FLAGS = ("--registration", "open", "--rate-limit", "off")
MiB = 1024 * 1024


def png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 7):
        image.putpixel((x, x * height // width), (255, x % 256, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def upload(client: AsyncClient, data: bytes, content_type: str,
                 filename: str | None = None) -> str:
    response, _ = await client.upload(io.BytesIO(data), content_type=content_type,
                                      filename=filename, filesize=len(data))
    return expect(response, UploadResponse).content_uri


def split_mxc(mxc: str) -> tuple[str, str]:
    server_name, media_id = mxc[len("mxc://"):].split("/")
    return server_name, media_id


async def raw_get(client: AsyncClient, path: str, headers: dict[str, str] | None = None,
                  token: bool = True) -> tuple[int, dict[str, str], bytes]:
    """A GET through nio's own HTTP session (for Range and the legacy paths)."""
    sent = dict(headers or {})
    if token and client.access_token:
        sent["Authorization"] = f"Bearer {client.access_token}"
    response = await client.send("GET", path, None, sent)
    return response.status, dict(response.headers), await response.read()


async def test_binary_and_png_round_trip(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    binary = os.urandom(3 * MiB + 17)
    image = png(640, 480)
    for data, content_type, name in ((binary, "application/octet-stream", "data.bin"),
                                     (image, "image/png", "photo.png")):
        mxc = await upload(alice, data, content_type, name)
        got = expect(await bob.download(mxc), MemoryDownloadResponse)
        assert got.body == data
        assert got.content_type == content_type
        assert got.filename == name
        renamed = expect(await bob.download(mxc, filename="other.png"), MemoryDownloadResponse)
        assert renamed.body == data and renamed.filename == "other.png"


async def test_encrypted_attachment_is_served_exactly(clients: Clients) -> None:
    alice = await clients.register("alice")
    plaintext = os.urandom(200_000)
    response, keys = await alice.upload(io.BytesIO(plaintext), content_type="image/png",
                                        encrypt=True, filesize=len(plaintext))
    mxc = expect(response, UploadResponse).content_uri
    assert keys is not None
    got = expect(await alice.download(mxc), MemoryDownloadResponse)
    assert got.content_type == "application/octet-stream"
    assert decrypt_attachment(got.body, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"]) == plaintext


async def test_png_thumbnail_is_within_bounds(clients: Clients) -> None:
    alice = await clients.register("alice")
    mxc = await upload(alice, png(1200, 900), "image/png", "big.png")
    server_name, media_id = split_mxc(mxc)
    for width, height, method in ((320, 240, ResizingMethod.scale), (96, 96, ResizingMethod.crop),
                                  (800, 600, ResizingMethod.scale)):
        got = expect(await alice.thumbnail(server_name, media_id, width, height, method),
                     ThumbnailResponse)
        assert got.content_type in ("image/png", "image/jpeg")
        image = Image.open(io.BytesIO(got.body))
        image.load()
        assert image.width <= width and image.height <= height, (image.size, width, height)
        assert image.width == width or image.height == height  # as large as the box allows


async def test_voice_message_with_range(clients: Clients) -> None:
    alice = await clients.register("alice")
    bob = await clients.register("bob")
    voice = b"OggS" + os.urandom(50_000)
    mxc = await upload(alice, voice, "audio/ogg", "voice.ogg")
    path = f"/_matrix/client/v1/media/download/{mxc[len('mxc://'):]}"
    status, headers, body = await raw_get(bob, path, {"Range": "bytes=1000-1999"})
    assert status == 206
    assert body == voice[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(voice)}"
    assert headers["Content-Type"] == "audio/ogg"
    assert headers["Content-Disposition"] == 'inline; filename="voice.ogg"'
    status, headers, body = await raw_get(bob, path, {"Range": "bytes=-100"})
    assert status == 206 and body == voice[-100:]
    status, headers, _ = await raw_get(bob, path, {"Range": f"bytes={len(voice)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(voice)}"
    status, headers, body = await raw_get(bob, path)
    assert status == 200 and body == voice and headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    assert headers["Cache-Control"] == "private, max-age=31536000, immutable"


async def test_missing_token_and_unknown_media(clients: Clients) -> None:
    alice = await clients.register("alice")
    mxc = await upload(alice, b"secret", "text/plain")
    anonymous = clients.new()
    # nio sends an empty access_token (M_UNKNOWN_TOKEN); both are 401.
    denied = await anonymous.download(mxc)
    assert isinstance(denied, DownloadError) and http_status(denied) == 401
    server_name, media_id = split_mxc(mxc)
    thumb = await anonymous.thumbnail(server_name, media_id, 32, 32)
    assert isinstance(thumb, ThumbnailError) and http_status(thumb) == 401
    for path in (f"/_matrix/client/v1/media/download/{server_name}/{media_id}",
                 f"/_matrix/client/v1/media/thumbnail/{server_name}/{media_id}?width=32&height=32"):
        status, _, body = await raw_get(anonymous, path, token=False)
        assert status == 401 and b"M_MISSING_TOKEN" in body
    missing = await alice.download(f"mxc://{server_name}/NoSuchMedia0123")
    assert isinstance(missing, DownloadError) and http_status(missing) == 404
    assert errcode(missing) == "M_NOT_FOUND"
    # The deprecated unauthenticated path is frozen by default.
    status, _, body = await raw_get(anonymous, f"/_matrix/media/v3/download/{server_name}/{media_id}",
                                    token=False)
    assert status == 404 and b"M_NOT_FOUND" in body


async def test_legacy_media_round_trip(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    server = start_server(tmp_path / "data", *FLAGS, "--legacy-media")
    made = Clients(server.base_url)
    try:
        alice = await made.register("alice")
        anonymous = made.new()
        binary, image = os.urandom(500_000), png(300, 200)
        for data, content_type in ((binary, "application/octet-stream"), (image, "image/png")):
            mxc = await upload(alice, data, content_type, "f")
            server_name, media_id = split_mxc(mxc)
            status, headers, body = await raw_get(
                anonymous, f"/_matrix/media/v3/download/{server_name}/{media_id}", token=False)
            assert status == 200 and body == data
            assert headers["Content-Type"] == content_type
            assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert expect(await alice.download(mxc), MemoryDownloadResponse).body == data
        status, headers, body = await raw_get(
            anonymous, f"/_matrix/media/v3/thumbnail/{server_name}/{media_id}?width=96&height=96&method=crop",
            token=False)
        assert status == 200 and Image.open(io.BytesIO(body)).size == (96, 96)
    finally:
        await made.close()
        server.stop()


async def test_upload_limit_from_kith_toml(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text('registration = "open"\nrate_limit = false\n\n'
                                        "[media]\nmax_upload_bytes = 1048576\n")
    server = start_server(data_dir)
    made = Clients(server.base_url)
    try:
        alice = await made.register("alice")
        response = await alice.send("GET", "/_matrix/client/v1/media/config", None,
                                    {"Authorization": f"Bearer {alice.access_token}"})
        assert (await response.json())["m.upload.size"] == MiB
        over, _ = await alice.upload(io.BytesIO(os.urandom(MiB + 1)), content_type="application/zip",
                                     filesize=MiB + 1)
        assert isinstance(over, UploadError), over
        assert http_status(over) == 413 and errcode(over) == "M_TOO_LARGE"
        await upload(alice, os.urandom(MiB), "application/zip")  # exactly the limit is fine
        assert not list((data_dir / "media" / "tmp").iterdir())
    finally:
        await made.close()
        server.stop()


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak(pid: int) -> None:
    """Start the process's peak resident memory (VmHWM) afresh from its
    current size (Linux: /proc/PID/clear_refs, "5")."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def transfer(client: AsyncClient, size: int, target: Path) -> str:
    """Upload `size` random bytes as a stream and download them to `target`;
    the hex SHA-256 of what was sent."""
    sent = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        for _ in range(size // MiB):
            chunk = os.urandom(MiB)
            sent.update(chunk)
            yield chunk

    response, _ = await client.upload(lambda *_: generated(), content_type="video/mp4",
                                      filename=target.name, filesize=size)
    mxc = expect(response, UploadResponse).content_uri
    expect(await client.download(mxc, save_to=target), DiskDownloadResponse)
    return sent.hexdigest()


async def test_200_mib_streams_through_small_memory(tmp_path: Path,
                                                    start_server: Callable[..., Any]) -> None:
    size = 200 * MiB
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "kith.toml").write_text("[media]\nmax_upload_bytes = 314572800\n")
    server = start_server(data_dir, *FLAGS)
    made = Clients(server.base_url)
    pid = server.process.pid
    try:
        alice = await made.register("alice")
        # Warm up the same paths first (a streamed upload and a download of
        # 16 MiB: worker threads, buffers, imports), then measure the peak
        # from the size after that, not from start-up's own peak: buffering
        # even a tenth of the file would show.
        await transfer(alice, 16 * MiB, tmp_path / "warm.bin")
        try:
            reset_peak(pid)
        except OSError as err:
            pytest.skip(f"cannot reset the server's peak memory: {err}")
        before = memory_kib(pid)

        target = tmp_path / "big.mp4"
        sent = await transfer(alice, size, target)
        after = memory_kib(pid)

        assert target.stat().st_size == size
        received = hashlib.sha256()
        with open(target, "rb") as handle:
            while chunk := handle.read(MiB):
                received.update(chunk)
        assert received.hexdigest() == sent
        print(f"server memory before {before}, after {after} (KiB)")
        # "A few MiB": chunks of 1 MiB in flight, never the file.
        assert (after["VmHWM"] - before["VmRSS"]) / 1024 < 8, (before, after)
        assert (after["VmRSS"] - before["VmRSS"]) / 1024 < 8, (before, after)
    finally:
        await made.close()
        server.stop()
