"""Media repository over the in-process app (authed-content-repo.yaml,
content-repo.yaml): uploads, downloads, ranges, headers, async uploads,
limits, quota, thumbnails, legacy endpoints and URL previews."""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from kith.app import App, build_app
from kith.config import Config
from kith.errors import MatrixError
from matrix import User, register

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
from media_images import many_frame_gif, png_header  # noqa: E402

UPLOAD = "/_matrix/media/v3/upload"
V1 = "/_matrix/client/v1/media"


@asynccontextmanager
async def custom_app(config: Config) -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    built = build_app(config)
    transport = httpx.ASGITransport(app=built.asgi)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield built, http
    await built.shutdown()


async def upload(user: User, data: bytes | Any, content_type: str | None = "application/octet-stream",
                 filename: str | None = None, expect: int = 200) -> dict[str, Any]:
    headers = dict(user.auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    params = {"filename": filename} if filename else None
    response = await user.http.post(UPLOAD, content=data, headers=headers, params=params)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def media_path(mxc: str) -> str:
    assert mxc.startswith("mxc://")
    return mxc[len("mxc://"):]


async def download(user: User, mxc: str, suffix: str = "", **headers: str) -> httpx.Response:
    return await user.http.get(f"{V1}/download/{media_path(mxc)}{suffix}",
                               headers={**user.auth, **headers})


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def animated_gif(width: int, height: int, frames: int = 3) -> bytes:
    images = [Image.new("RGB", (width, height), (i * 80 % 256, 100, 50)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


# --- upload and download ----------------------------------------------------------


async def test_binary_round_trip_with_headers(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    data = os.urandom(300_000) + bytes(range(256))
    mxc = (await upload(alice, data, "application/octet-stream", "blob.bin"))["content_uri"]
    assert mxc.startswith("mxc://localhost/")
    response = await download(alice, mxc)
    assert response.status_code == 200
    assert response.content == data
    h = response.headers
    assert h["content-type"] == "application/octet-stream"
    assert h["content-length"] == str(len(data))
    assert h["content-disposition"] == 'attachment; filename="blob.bin"'
    assert h["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert h["x-content-type-options"] == "nosniff"
    # Served to an access token: no shared cache may keep it for others.
    assert h["cache-control"] == "private, max-age=31536000, immutable"
    assert h["cross-origin-resource-policy"] == "cross-origin"
    assert h["accept-ranges"] == "bytes"


async def test_other_users_can_download_and_name_override(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    mxc = (await upload(alice, png(4, 4), "image/png", "cat.png"))["content_uri"]
    response = await download(bob, mxc)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="cat.png"'
    renamed = await download(bob, mxc, "/Grüße.png")
    assert renamed.status_code == 200
    assert renamed.headers["content-disposition"] == "inline; filename*=utf-8''Gr%C3%BC%C3%9Fe.png"


async def test_head_answers_as_get_without_content(app_config: Config) -> None:
    """RFC 9110 9.3.2: HEAD is answered like GET, the same status and header
    fields (Content-Length of the content GET would send), and no content;
    for downloads, ranges, thumbnails and the legacy endpoints when on."""
    async with custom_app(replace(app_config, media_legacy=True)) as (built, http):
        alice = await register(http, "alice")
        mxc = (await upload(alice, png(400, 200), "image/png", "p.png"))["content_uri"]
        path = media_path(mxc)
        cases: list[tuple[str, dict[str, str]]] = [
            (f"{V1}/download/{path}", {}), (f"{V1}/download/{path}/other.png", {}),
            (f"{V1}/download/{path}", {"Range": "bytes=10-19"}),
            (f"{V1}/download/{path}", {"Range": "bytes=999999-"}),
            (f"{V1}/thumbnail/{path}?width=96&height=96&method=crop", {}),
            (f"/_matrix/media/v3/download/{path}", {}),
            (f"/_matrix/media/v3/download/{path}/x.png", {}),
            (f"/_matrix/media/v3/thumbnail/{path}?width=32&height=32", {}),
            (f"{V1}/download/localhost/unknown", {}),
        ]
        for url, extra in cases:
            get = await http.get(url, headers={**alice.auth, **extra})
            head = await http.head(url, headers={**alice.auth, **extra})
            assert head.status_code == get.status_code != 405, (url, head.status_code)
            if get.status_code in (200, 206):
                assert head.content == b"", url
                assert head.headers == get.headers, url
                assert int(head.headers["content-length"]) == len(get.content) > 0
        assert (await http.head(f"{V1}/download/{path}")).status_code == 401


async def test_path_file_name_is_cleaned(client: httpx.AsyncClient) -> None:
    """The download path's {fileName} is cleaned as an uploaded name is: no
    control characters, no bidirectional controls (U+202E makes "gpj.exe"
    read "exe.jpg"); nothing left, and the uploaded name is used."""
    alice = await register(client, "alice")
    mxc = (await upload(alice, b"MZ", "application/octet-stream", "orig.bin"))["content_uri"]
    for suffix, disposition in [("/%E2%80%AEgpj.exe", 'attachment; filename="gpj.exe"'),
                                ("/a%0D%0Ab%E2%81%A6.txt", 'attachment; filename="ab.txt"'),
                                ("/%E2%80%AE%E2%80%8E", 'attachment; filename="orig.bin"')]:
        response = await download(alice, mxc, suffix)
        assert response.status_code == 200
        assert response.headers["content-disposition"] == disposition


@pytest.mark.parametrize(("content_type", "disposition"), [
    ("text/html", "attachment"), ("image/svg+xml", "attachment"), ("audio/ogg", "inline"),
    ("text/plain; charset=utf-8", "inline"), (None, "attachment"),
])
async def test_disposition_by_type(client: httpx.AsyncClient, content_type: str | None,
                                   disposition: str) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, b"<script>alert(1)</script>", content_type))["content_uri"]
    response = await download(alice, mxc)
    assert response.headers["content-disposition"] == disposition
    assert response.headers["content-type"] == (content_type or "application/octet-stream")


async def test_streamed_upload_without_length(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    parts = [os.urandom(70_000) for _ in range(5)]

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    mxc = (await upload(alice, body()))["content_uri"]
    assert (await download(alice, mxc)).content == b"".join(parts)


async def test_identical_content_is_stored_once(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    data = os.urandom(5000)
    first = (await upload(alice, data, "application/octet-stream", "a"))["content_uri"]
    second = (await upload(bob, data, "text/plain", "b"))["content_uri"]
    assert first != second
    blobs = [p for p in (app.config.media_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == data
    assert (await download(bob, second)).headers["content-disposition"] == 'inline; filename="b"'
    assert (await download(alice, first)).headers["content-type"] == "application/octet-stream"
    assert not list((app.config.media_dir / "tmp").iterdir())


# --- ranges -----------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "status", "piece", "content_range"), [
    ("bytes=0-9", 206, slice(0, 10), "bytes 0-9/1000"),
    ("bytes=990-", 206, slice(990, 1000), "bytes 990-999/1000"),
    ("bytes=-5", 206, slice(995, 1000), "bytes 995-999/1000"),
    ("bytes=500-5000", 206, slice(500, 1000), "bytes 500-999/1000"),
    ("bytes=0-1,4-5", 200, slice(0, 1000), None),
    ("bytes=1000-", 416, None, "bytes */1000"),
])
async def test_range_requests(client: httpx.AsyncClient, header: str, status: int,
                              piece: slice | None, content_range: str | None) -> None:
    alice = await register(client, "alice")
    data = os.urandom(1000)
    mxc = (await upload(alice, data, "audio/ogg", "voice.ogg"))["content_uri"]
    response = await download(alice, mxc, Range=header)
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    if piece is not None:
        assert response.content == data[piece]
        assert response.headers["content-type"] == "audio/ogg"
        assert response.headers["content-length"] == str(len(data[piece]))


@pytest.mark.parametrize("header", [b"bytes=\xb2-", b"bytes=0-\xb9", ("bytes=" + "9" * 5000 + "-").encode(),
                                    ("bytes=0-" + "1" * 5000).encode(), b"bytes=\xff-1"])
async def test_malformed_ranges_are_ignored(client: httpx.AsyncClient, header: bytes) -> None:
    """RFC 9110 14.2: a Range the server cannot parse is ignored: 200, all of it."""
    alice = await register(client, "alice")
    data = os.urandom(1000)
    mxc = (await upload(alice, data))["content_uri"]
    response = await client.get(f"{V1}/download/{media_path(mxc)}",
                                headers={**alice.auth, "Range": header})  # type: ignore[dict-item]
    assert response.status_code == 200, response.text
    assert response.content == data and "content-range" not in response.headers


# --- errors -------------------------------------------------------------------------------


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, b"x"))["content_uri"]
    for method, path in [("GET", f"{V1}/download/{media_path(mxc)}"),
                         ("GET", f"{V1}/thumbnail/{media_path(mxc)}?width=32&height=32"),
                         ("GET", f"{V1}/config"), ("POST", UPLOAD), ("POST", "/_matrix/media/v1/create")]:
        response = await client.request(method, path, content=b"data")
        assert response.status_code == 401, (path, response.text)
        assert response.json()["errcode"] == "M_MISSING_TOKEN"


async def test_missing_token_comes_before_too_large(app_config: Config) -> None:
    """An upload without a token is told so, whatever Content-Length it declares."""
    config = replace(app_config, media_max_upload_bytes=10_000)
    async with custom_app(config) as (built, http):
        await register(http, "alice")
        response = await http.post(UPLOAD, content=os.urandom(10_001),
                                   headers={"Content-Type": "application/zip"})
        assert response.status_code == 401
        assert response.json()["errcode"] == "M_MISSING_TOKEN"
        response = await http.post(UPLOAD, content=os.urandom(10_001),
                                   headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.json()["errcode"] == "M_UNKNOWN_TOKEN"
        assert not list((config.media_dir / "tmp").iterdir())


@pytest.mark.parametrize("suffix", ["localhost/doesnotexist", "elsewhere.org/abc", "localhost/bad.id",
                                    "localhost/..%2F..%2Fkith.db"])
async def test_unknown_media_is_404(client: httpx.AsyncClient, suffix: str) -> None:
    alice = await register(client, "alice")
    response = await client.get(f"{V1}/download/{suffix}", headers=alice.auth)
    assert response.status_code == 404
    assert response.json()["errcode"] == "M_NOT_FOUND"
    thumb = await client.get(f"{V1}/thumbnail/{suffix}?width=32&height=32", headers=alice.auth)
    assert thumb.status_code == 404 and thumb.json()["errcode"] == "M_NOT_FOUND"


async def test_config_advertises_upload_size(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    assert (await alice.request("GET", f"{V1}/config")) == {"m.upload.size": 100 * 1024 * 1024}
    assert (await alice.request("GET", "/_matrix/media/v3/config"))["m.upload.size"] == 104857600


async def test_too_large_is_413_and_leaves_nothing(app_config: Config) -> None:
    config = replace(app_config, media_max_upload_bytes=10_000)
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")
        assert (await alice.request("GET", f"{V1}/config"))["m.upload.size"] == 10_000
        body = await upload(alice, os.urandom(10_001), expect=413)
        assert body["errcode"] == "M_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
            for _ in range(10):
                yield os.urandom(4000)

        body = await upload(alice, chunks(), expect=413)
        assert body["errcode"] == "M_TOO_LARGE"
        assert not list((config.media_dir / "tmp").iterdir())
        assert not [p for p in (config.media_dir / "blobs").rglob("*") if p.is_file()]
        await upload(alice, os.urandom(10_000))


async def test_quota_is_403(app_config: Config) -> None:
    config = replace(app_config, media_user_quota_bytes=5000)
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")
        bob = await register(http, "bob")
        await upload(alice, os.urandom(3000))
        body = await upload(alice, os.urandom(3000), expect=403)
        assert body["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
        # Spec: admin_contact MUST be a place to reach out to; with no support
        # contact configured, the server's own address.
        assert body["admin_contact"] == "http://127.0.0.1:8008"

        async def chunks() -> AsyncIterator[bytes]:
            yield os.urandom(2500)

        assert (await upload(alice, chunks(), expect=403))["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
        await upload(bob, os.urandom(3000))  # per user
        blobs = [p for p in (config.media_dir / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == 2
        assert not list((config.media_dir / "tmp").iterdir())


@pytest.mark.parametrize(("support", "contact"), [
    ({"support_page": "https://help.example/kith", "support_admin": "@root:example.org"},
     "https://help.example/kith"),
    ({"support_admin": "@root:example.org"}, "https://matrix.to/#/@root:example.org"),
    ({"public_baseurl": "https://matrix.example.org/"}, "https://matrix.example.org"),
])
async def test_quota_names_a_contact(app_config: Config, support: dict[str, str],
                                     contact: str) -> None:
    """Spec, M_RESOURCE_LIMIT_EXCEEDED: "The error MUST have an admin_contact
    field": the support page, else the administrator's Matrix ID, else the
    server's public address."""
    config = replace(app_config, media_user_quota_bytes=10, **support)  # type: ignore[arg-type]
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")
        body = await upload(alice, os.urandom(11), expect=403)
        assert body == {"errcode": "M_RESOURCE_LIMIT_EXCEEDED", "error": "Media quota exceeded",
                        "admin_contact": contact}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
@pytest.mark.parametrize("failing", ["_write_hashed", "_flush_and_sync", "_commit"])
async def test_full_disk_refuses_uploads_cleanly(app_config: Config, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture, code: int,
                                                 failing: str) -> None:
    """A full disk (or quota of the file system) is the spec's resource limit
    ("too much memory or disk space"): M_RESOURCE_LIMIT_EXCEEDED with a
    contact, one log line, and nothing half-written left behind."""
    from kith.media import storage

    config = replace(app_config, support_page="https://help.example/")
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")

        def full(*args: object) -> None:
            raise OSError(code, os.strerror(code))

        if failing == "_commit":
            monkeypatch.setattr(storage.MediaStorage, "_commit", full)
        else:
            monkeypatch.setattr(storage, failing, full)
        caplog.clear()
        body = await upload(alice, os.urandom(3000), expect=403)
        assert body == {"errcode": "M_RESOURCE_LIMIT_EXCEEDED", "error": "The server's storage is full",
                        "admin_contact": "https://help.example/"}
        mxc = (await alice.request("POST", "/_matrix/media/v1/create", {}))["content_uri"]
        put = await http.put(f"{UPLOAD}/{media_path(mxc)}", content=b"data", headers=alice.auth)
        assert put.status_code == 403 and put.json()["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 2 and all(r.exc_info is None for r in errors)
        assert "storage is full" in errors[0].getMessage()
        assert not list((config.media_dir / "tmp").iterdir())
        assert not [p for p in (config.media_dir / "blobs").rglob("*") if p.is_file()]
        assert await built.db.read(lambda cur: cur.execute(
            "SELECT COUNT(*) FROM media WHERE sha256 IS NOT NULL").fetchone()[0]) == 0
        monkeypatch.undo()
        await upload(alice, os.urandom(3000))  # space again: uploads work again


async def test_full_disk_still_serves_thumbnails(client: httpx.AsyncClient, app: App,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the thumbnail cache is lost when the disk is full: the thumbnail
    is made and served from memory (GET and HEAD), nothing is cached."""
    from kith.media import storage

    alice = await register(client, "alice")
    mxc = (await upload(alice, png(400, 200), "image/png"))["content_uri"]
    small_mxc = (await upload(alice, png(20, 10), "image/png"))["content_uri"]

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "_flush_and_sync", full)
    response = await thumb(alice, mxc, width=96, height=96, method="scale")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(response.content))
    assert Image.open(io.BytesIO(response.content)).size == (96, 48)
    head = await client.head(f"{V1}/thumbnail/{media_path(mxc)}?width=96&height=96",
                             headers=alice.auth)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == response.headers["content-length"]
    small = await thumb(alice, small_mxc, width=96, height=96)  # the content itself, no marker
    assert small.status_code == 200 and Image.open(io.BytesIO(small.content)).size == (20, 10)
    assert not [p for p in (app.config.media_dir / "thumbnails").rglob("*") if p.is_file()]
    assert not list((app.config.media_dir / "tmp").iterdir())


async def test_concurrent_uploads_cannot_pass_the_quota_together(app_config: Config) -> None:
    config = replace(app_config, media_user_quota_bytes=5000)
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")

        async def send() -> int:
            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: only the total counts
                for _ in range(3):
                    await asyncio.sleep(0)
                    yield os.urandom(1000)

            response = await http.post(UPLOAD, content=chunks(), headers=alice.auth)
            return response.status_code

        async def reserved() -> int:
            mxc = (await alice.request("POST", "/_matrix/media/v1/create", {}))["content_uri"]
            response = await http.put(f"{UPLOAD}/{media_path(mxc)}", content=os.urandom(3000),
                                      headers=alice.auth)
            return response.status_code

        statuses = await asyncio.gather(*[send() for _ in range(4)], *[reserved() for _ in range(4)])
        assert sorted(statuses) == [200] + [403] * 7
        used = await built.db.read(lambda cur: cur.execute(
            "SELECT SUM(size) FROM media WHERE user_id = ?", (alice.user_id,)).fetchone()[0])
        assert used == 3000
        assert not list((config.media_dir / "tmp").iterdir())


# --- asynchronous uploads -------------------------------------------------------------------


async def test_create_then_put(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    created = await alice.request("POST", "/_matrix/media/v1/create", {})
    mxc = created["content_uri"]
    assert isinstance(created["unused_expires_at"], int)
    path = f"{UPLOAD}/{media_path(mxc)}"

    not_yet = await client.get(f"{V1}/download/{media_path(mxc)}?timeout_ms=0", headers=alice.auth)
    assert not_yet.status_code == 504 and not_yet.json()["errcode"] == "M_NOT_YET_UPLOADED"
    waited = await client.get(f"{V1}/download/{media_path(mxc)}?timeout_ms=150", headers=alice.auth)
    assert waited.status_code == 504

    stolen = await client.put(path, content=b"mine", headers=bob.auth)
    assert stolen.status_code == 403 and stolen.json()["errcode"] == "M_FORBIDDEN"

    # A download waiting for the content gets it as soon as it arrives.
    waiting = asyncio.create_task(client.get(f"{V1}/download/{media_path(mxc)}?timeout_ms=10000",
                                             headers=bob.auth))
    await asyncio.sleep(0.05)
    done = await client.put(path, content=b"hello", params={"filename": "hi.txt"},
                            headers={**alice.auth, "Content-Type": "text/plain"})
    assert done.status_code == 200 and done.json() == {}
    got = await waiting
    assert got.status_code == 200 and got.content == b"hello"
    assert got.headers["content-disposition"] == 'inline; filename="hi.txt"'

    again = await client.put(path, content=b"other", headers=alice.auth)
    assert again.status_code == 409 and again.json()["errcode"] == "M_CANNOT_OVERWRITE_MEDIA"
    unknown = await client.put(f"{UPLOAD}/localhost/neverCreated", content=b"x", headers=alice.auth)
    assert unknown.status_code == 404 and unknown.json()["errcode"] == "M_NOT_FOUND"


async def test_expired_reservation(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    mxc = (await alice.request("POST", "/_matrix/media/v1/create", {}))["content_uri"]
    media_id = mxc.rsplit("/", 1)[1]
    await app.db.write(lambda cur: cur.execute(
        "UPDATE media SET expires_ts = 1 WHERE media_id = ?", (media_id,)))
    put = await client.put(f"{UPLOAD}/{media_path(mxc)}", content=b"late", headers=alice.auth)
    assert put.status_code == 404 and put.json()["errcode"] == "M_NOT_FOUND"
    got = await client.get(f"{V1}/download/{media_path(mxc)}?timeout_ms=0", headers=alice.auth)
    assert got.status_code == 404


async def test_waits_for_reserved_media_leave_nothing_behind(client: httpx.AsyncClient,
                                                             app: App) -> None:
    """Downloads waiting for a reserved id are tracked only while they wait:
    an id that times out (and later expires) unused keeps nothing in memory."""
    from kith.media.service import MediaService
    from kith.media.storage import MediaStorage
    from kith.store.media import MediaStore

    alice = await register(client, "alice")
    service = MediaService("localhost", MediaStore(app.db), MediaStorage(app.config.media_dir),
                           max_upload_bytes=1000, user_quota_bytes=0, max_thumbnail_pixels=1000,
                           admin_contact="https://kith.test/")
    mxc, _ = await service.create(alice.user_id)
    media_id = mxc.rsplit("/", 1)[1]
    waits = [service.find("localhost", media_id, 20) for _ in range(3)]
    outcomes = await asyncio.gather(*waits, return_exceptions=True)
    assert all(isinstance(o, MatrixError) and o.errcode == "M_NOT_YET_UPLOADED" for o in outcomes)
    assert service._uploaded == {}

    # Several waiters, then the upload: all of them get it, and the entry goes.
    waiting = [asyncio.create_task(service.find("localhost", media_id, 10_000)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert list(service._uploaded) == [media_id]

    async def body() -> AsyncIterator[bytes]:
        yield b"late"

    await service.upload_to(alice.user_id, "localhost", media_id, body(), "text/plain", None, 4)
    records = await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert all(r.uploaded and r.size == 4 for r in records)
    assert service._uploaded == {}


async def test_pending_limit(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    statuses = []
    for _ in range(25):
        response = await client.post("/_matrix/media/v1/create", json={}, headers=alice.auth)
        statuses.append(response.status_code)
    assert statuses[:20] == [200] * 20 and statuses[-1] == 429


# --- thumbnails -------------------------------------------------------------------------------


async def thumb(user: User, mxc: str, **params: Any) -> httpx.Response:
    return await user.http.get(f"{V1}/thumbnail/{media_path(mxc)}", params=params, headers=user.auth)


async def test_thumbnail_scale_and_crop(client: httpx.AsyncClient, app: App) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, png(800, 400), "image/png", "big.png"))["content_uri"]
    scaled = await thumb(alice, mxc, width=320, height=240, method="scale")
    assert scaled.status_code == 200, scaled.text
    assert scaled.headers["content-type"] == "image/png"
    assert scaled.headers["content-disposition"] == 'inline; filename="thumbnail.png"'
    assert scaled.headers["cache-control"] == "private, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(scaled.content))
    assert image.format == "PNG" and image.size == (320, 160)
    cropped = await thumb(alice, mxc, width=96, height=96, method="crop")
    assert Image.open(io.BytesIO(cropped.content)).size == (96, 96)
    cached = [p.name for p in (app.config.media_dir / "thumbnails").rglob("*") if p.is_file()]
    assert sorted(cached) == ["320x240-scale-static.png", "96x96-crop-static.png"]
    again = await thumb(alice, mxc, width=320, height=240, method="scale")
    assert again.content == scaled.content
    # Odd sizes are rounded up to a step: never smaller than asked.
    odd = Image.open(io.BytesIO((await thumb(alice, mxc, width=50, height=50, method="crop")).content))
    assert odd.size == (64, 64)


async def test_thumbnails_are_made_once(client: httpx.AsyncClient, app: App,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A thumbnail is made once per size step and method, then served from
    its cached file: asked again (with any size of the same step), or asked
    by many at once."""
    from kith.media import service

    made: list[tuple[int, int]] = []
    make = service.make_thumbnail

    def counting(*args: Any) -> Any:
        made.append(args[2])
        return make(*args)

    monkeypatch.setattr(service, "make_thumbnail", counting)
    alice = await register(client, "alice")
    mxc = (await upload(alice, png(800, 400), "image/png"))["content_uri"]
    first = await asyncio.gather(*[thumb(alice, mxc, width=96, height=96) for _ in range(5)])
    assert made == [(96, 96)]
    cached = next((app.config.media_dir / "thumbnails").rglob("96x96-scale-static.png"))
    written = cached.stat().st_mtime_ns
    for width, height in ((96, 96), (90, 70), (65, 96)):
        again = await thumb(alice, mxc, width=width, height=height)
        assert again.content == first[0].content
    assert made == [(96, 96)] and all(r.content == first[0].content for r in first)
    assert cached.stat().st_mtime_ns == written
    await thumb(alice, mxc, width=96, height=96, method="crop")
    assert made == [(96, 96), (96, 96)]


QUADRANTS = {"top left": (220, 30, 30), "top right": (30, 200, 30),
             "bottom left": (30, 30, 220), "bottom right": (230, 230, 40)}


def quadrants(width: int, height: int) -> Image.Image:
    """An image as it is meant to be seen: four coloured quarters."""
    image = Image.new("RGB", (width, height))
    half_w, half_h = width // 2, height // 2
    for (left, top), name in (((0, 0), "top left"), ((half_w, 0), "top right"),
                              ((0, half_h), "bottom left"), ((half_w, half_h), "bottom right")):
        image.paste(QUADRANTS[name], (left, top, left + half_w, top + half_h))
    return image


def colour_at(image: Image.Image, where: str) -> tuple[int, ...]:
    x = image.width // 4 if "left" in where else image.width * 3 // 4
    y = image.height // 4 if "top" in where else image.height * 3 // 4
    return tuple(image.convert("RGB").getpixel((x, y)))  # type: ignore[arg-type]


# EXIF Orientation -> how the stored pixels are turned from the image as meant
# (the inverse of what a viewer does to show them).
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
             8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
async def test_thumbnails_follow_exif_orientation(client: httpx.AsyncClient, orientation: int,
                                                  fmt: str) -> None:
    """A photo stored sideways with an EXIF Orientation is shown turned; its
    thumbnails (encoded without the tag) are sized for the turned image and
    turned themselves, for both methods."""
    alice = await register(client, "alice")
    meant = quadrants(200, 400)  # portrait, as the camera's user saw it
    stored = meant.transpose(STORED_AS[orientation])  # 400x200 for 6 and 8
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, fmt, exif=exif.tobytes())
    content_type = "image/jpeg" if fmt == "JPEG" else "image/png"
    mxc = (await upload(alice, buffer.getvalue(), content_type))["content_uri"]
    for params, size in [({"method": "scale"}, (48, 96)), ({"method": "crop"}, (96, 96)),
                         ({"method": "scale", "width": 320, "height": 240}, (120, 240))]:
        query = {"width": 96, "height": 96, **params}
        response = await thumb(alice, mxc, **query)
        assert response.status_code == 200, response.text
        image = Image.open(io.BytesIO(response.content))
        assert image.size == size, (query, image.size)
        assert not image.getexif().get(0x0112)  # turned, not tagged
        for where, colour in QUADRANTS.items():
            assert all(abs(a - b) < 40 for a, b in zip(colour_at(image, where), colour)), (query, where)


async def test_thumbnail_of_jpeg_and_small_image(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 1000), (1, 2, 3)).save(buffer, "JPEG")
    mxc = (await upload(alice, buffer.getvalue(), "image/jpeg"))["content_uri"]
    response = await thumb(alice, mxc, width=96, height=96, method="scale")
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (96, 96)
    small = png(20, 10)
    mxc = (await upload(alice, small, "image/png"))["content_uri"]
    response = await thumb(alice, mxc, width=96, height=96)
    assert response.status_code == 200 and response.content == small  # never upscaled


async def test_animated_thumbnails(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, animated_gif(400, 300), "image/gif"))["content_uri"]
    moving = await thumb(alice, mxc, width=96, height=96, method="scale", animated="true")
    assert moving.status_code == 200
    assert moving.headers["content-type"] in ("image/webp", "image/gif")
    image = Image.open(io.BytesIO(moving.content))
    assert getattr(image, "n_frames", 1) == 3 and image.size == (96, 72)
    still = await thumb(alice, mxc, width=96, height=96, method="scale", animated="false")
    image = Image.open(io.BytesIO(still.content))
    assert still.headers["content-type"] == "image/png" and getattr(image, "n_frames", 1) == 1
    # Small animation, animated=false: still a single frame, never the GIF itself.
    mxc = (await upload(alice, animated_gif(20, 20), "image/gif"))["content_uri"]
    still = await thumb(alice, mxc, width=96, height=96)
    assert still.headers["content-type"] == "image/png"


@pytest.mark.parametrize(("data", "content_type"), [
    (b"%PDF-1.4 not an image", "application/pdf"),
    (b"not really a png", "image/png"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
])
async def test_cannot_thumbnail_is_400(client: httpx.AsyncClient, data: bytes, content_type: str) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, data, content_type))["content_uri"]
    response = await thumb(alice, mxc, width=32, height=32)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_UNKNOWN"


@pytest.mark.parametrize("params", [{"width": 32}, {"width": 0, "height": 32}, {"width": "x", "height": 1},
                                    {"width": 32, "height": 32, "method": "stretch"},
                                    {"width": 32, "height": 32, "animated": "maybe"}])
async def test_bad_thumbnail_parameters(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, png(100, 100), "image/png"))["content_uri"]
    assert (await thumb(alice, mxc, **params)).status_code == 400


async def test_decompression_bomb_is_refused(app_config: Config) -> None:
    config = replace(app_config, media_max_thumbnail_pixels=100 * 100)
    async with custom_app(config) as (built, http):
        alice = await register(http, "alice")
        mxc = (await upload(alice, png(200, 200), "image/png"))["content_uri"]
        response = await thumb(alice, mxc, width=32, height=32)
        assert response.status_code == 413
        assert response.json()["errcode"] == "M_TOO_LARGE"
        assert (await download(alice, mxc)).status_code == 200


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(20000, 20000), (10000, 10000)])
async def test_huge_image_header_is_413(client: httpx.AsyncClient, size: tuple[int, int]) -> None:
    """20000x20000 is refused by Pillow itself while reading the header; the
    spec's answer is the same as for Kith's own limit: 413 M_TOO_LARGE."""
    alice = await register(client, "alice")
    mxc = (await upload(alice, png_header(*size), "image/png"))["content_uri"]
    response = await thumb(alice, mxc, width=96, height=96)
    assert response.status_code == 413, response.text
    assert response.json()["errcode"] == "M_TOO_LARGE"


async def test_many_frame_gif_is_answered_quickly(client: httpx.AsyncClient) -> None:
    """4000x4000, 199 frames, 20 KB: every frame decoded would take tens of
    seconds a request; over the animation budget it is a still."""
    alice = await register(client, "alice")
    mxc = (await upload(alice, many_frame_gif(4000, 4000, 199), "image/gif"))["content_uri"]
    started = time.monotonic()
    for width, height in ((96, 96), (320, 240), (640, 480)):
        response = await thumb(alice, mxc, width=width, height=height, animated="true")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert getattr(Image.open(io.BytesIO(response.content)), "n_frames", 1) == 1
    assert time.monotonic() - started < 5


async def test_thumbnail_disposition_follows_the_type(client: httpx.AsyncClient, app: App) -> None:
    """Thumbnails get the downloads' rule for Content-Disposition. A BMP
    (not a type served inline, nor one a thumbnail may have) is converted
    even when it needs no scaling; content served unchanged keeps its type."""
    alice = await register(client, "alice")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (9, 8, 7)).save(buffer, "BMP")
    mxc = (await upload(alice, buffer.getvalue(), "image/bmp"))["content_uri"]
    assert (await download(alice, mxc)).headers["content-disposition"] == "attachment"
    small = await thumb(alice, mxc, width=96, height=96)
    assert small.status_code == 200
    assert small.headers["content-type"] == "image/png"
    assert small.headers["content-disposition"] == 'inline; filename="thumbnail.png"'
    assert Image.open(io.BytesIO(small.content)).size == (20, 10)
    # A marker that the BMP is its own thumbnail (as once cached) is not trusted.
    made = next((app.config.media_dir / "thumbnails").rglob("96x96-scale-static.png"))
    made.unlink()
    made.with_suffix(".orig").write_bytes(b"")
    again = await thumb(alice, mxc, width=96, height=96)
    assert again.headers["content-type"] == "image/png" and again.content == small.content
    moving = animated_gif(20, 20)
    mxc = (await upload(alice, moving, "image/gif"))["content_uri"]
    same = await thumb(alice, mxc, width=96, height=96, animated="true")
    assert same.content == moving
    assert same.headers["content-type"] == "image/gif"
    assert same.headers["content-disposition"] == 'inline; filename="thumbnail.gif"'


# --- legacy endpoints and previews ----------------------------------------------------------


async def test_legacy_media_is_off_by_default(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    mxc = (await upload(alice, png(100, 100), "image/png"))["content_uri"]
    for path in (f"/_matrix/media/v3/download/{media_path(mxc)}",
                 f"/_matrix/media/v3/download/{media_path(mxc)}/x.png",
                 f"/_matrix/media/v3/thumbnail/{media_path(mxc)}?width=32&height=32"):
        response = await client.get(path, headers=alice.auth)
        assert response.status_code == 404 and response.json()["errcode"] == "M_NOT_FOUND"


async def test_legacy_media_when_enabled(app_config: Config) -> None:
    async with custom_app(replace(app_config, media_legacy=True)) as (built, http):
        alice = await register(http, "alice")
        data = png(100, 100)
        mxc = (await upload(alice, data, "image/png", "p.png"))["content_uri"]
        response = await http.get(f"/_matrix/media/v3/download/{media_path(mxc)}")
        assert response.status_code == 200 and response.content == data
        assert response.headers["content-security-policy"].startswith("sandbox")
        # Unauthenticated anyway: shared caches may keep it.
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        response = await http.get(f"/_matrix/media/v3/thumbnail/{media_path(mxc)}",
                                  params={"width": 32, "height": 32, "method": "crop"})
        assert Image.open(io.BytesIO(response.content)).size == (32, 32)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        authed = await download(alice, mxc)
        assert authed.headers["cache-control"] == "private, max-age=31536000, immutable"


async def test_preview_url_is_off_by_default(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    for base in (V1, "/_matrix/media/v3"):
        response = await client.get(f"{base}/preview_url", params={"url": "https://matrix.org"},
                                    headers=alice.auth)
        assert response.status_code == 404 and response.json()["errcode"] == "M_UNRECOGNIZED"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8008/_matrix/client/versions", "http://[::1]/",
    "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:22/",
    "http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://192.168.0.1/", "file:///etc/passwd",
    "ftp://127.0.0.1/",
])
async def test_preview_url_refuses_private_addresses(app_config: Config, url: str) -> None:
    async with custom_app(replace(app_config, media_url_preview=True)) as (built, http):
        alice = await register(http, "alice")
        response = await http.get(f"{V1}/preview_url", params={"url": url}, headers=alice.auth)
        assert response.status_code == 403, response.text
        assert response.json()["errcode"] == "M_FORBIDDEN"


async def test_preview_does_not_follow_redirects_to_private_addresses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kith.media import preview

    fetched: list[str] = []

    def fake_fetch(target: preview.Target, address: str,
                   deadline: float) -> tuple[int, str | None, bytes]:
        fetched.append(address)
        return 302, "http://127.0.0.1/admin", b""

    async def public(host: str, port: int) -> list[str]:
        return {"public.example": ["93.184.216.34"]}.get(host, ["127.0.0.1"])

    monkeypatch.setattr(preview, "_fetch", fake_fetch)
    with pytest.raises(preview.PreviewRefused):
        await preview.preview("http://public.example/", resolve=public)
    assert fetched == ["93.184.216.34"]

    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.1"]  # one bad address is enough to refuse

    with pytest.raises(preview.PreviewRefused):
        await preview.preview("http://rebind.example/", resolve=mixed)
    assert fetched == ["93.184.216.34"]


def test_opengraph_parsing() -> None:
    from kith.media.preview import _opengraph

    page = (b"<html><head><title>Fallback</title><meta property='og:description' content='Desc'>"
            b"<meta property='og:image' content='http://x/i.png'></head></html>")
    assert _opengraph(page) == {"og:description": "Desc", "og:title": "Fallback"}


# --- export and erasure -----------------------------------------------------------------------


async def test_user_media_can_be_listed_and_erased(client: httpx.AsyncClient, app: App) -> None:
    from kith.media.service import MediaService
    from kith.media.storage import MediaStorage
    from kith.store.media import MediaStore

    alice = await register(client, "alice")
    bob = await register(client, "bob")
    shared = os.urandom(100)
    a1 = (await upload(alice, shared, "application/octet-stream", "one"))["content_uri"]
    a2 = (await upload(alice, os.urandom(100), "image/png", "two"))["content_uri"]
    b1 = (await upload(bob, shared))["content_uri"]
    service = MediaService("localhost", MediaStore(app.db), MediaStorage(app.config.media_dir),
                           max_upload_bytes=1000, user_quota_bytes=0, max_thumbnail_pixels=1000,
                           admin_contact="https://kith.test/")
    listed = await service.media_of(alice.user_id)
    assert [r.filename for r in listed] == ["one", "two"]
    assert all(r.user_id == alice.user_id and r.size == 100 and r.sha256 for r in listed)
    assert await service.erase_user(alice.user_id) == 2
    assert (await download(alice, a1)).status_code == 404
    assert (await download(alice, a2)).status_code == 404
    assert (await download(bob, b1)).content == shared  # shared content stays for bob
    blobs = [p for p in (app.config.media_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
