"""URL previews against real (local) web servers: one deadline for a whole
preview, however slowly a site sends; previews on threads of their own, so
that slow sites never hold the server's other file work; a cap per user; a
bounded cache (kith.media.preview, kith.media.previewer, the preview_url route).

Previews refuse loopback addresses, and these sites are on 127.0.0.1: each
test lets that one address through (and only it)."""

from __future__ import annotations

import asyncio
import ipaddress
import socketserver
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from kith.app import build_app
from kith.config import Config
from kith.media import preview, previewer
from kith.media.preview import PreviewFailed
from kith.media.previewer import PreviewBusy, Previewer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from matrix import register  # noqa: E402

DEADLINE_S = 1.0
DRIP_EVERY_S = 0.05  # far below any per-read timeout: only a deadline stops it
V1 = "/_matrix/client/v1/media"
LOCAL = ipaddress.ip_address("127.0.0.1")


@pytest.fixture(autouse=True)
def local_sites(monkeypatch: pytest.MonkeyPatch) -> None:
    forbidden = preview.is_forbidden
    monkeypatch.setattr(preview, "is_forbidden", lambda address: address != LOCAL and forbidden(address))
    monkeypatch.setattr(preview, "TIMEOUT_S", DEADLINE_S)


class _Threads(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(server: socketserver.TCPServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(params=["status line and headers", "body"])
def dripping_site(request: pytest.FixtureRequest) -> Iterator[str]:
    """A site that answers a byte at a time, forever: in its headers, or in a
    long body."""
    stop = threading.Event()
    in_headers = request.param != "body"

    class Drip(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                received += chunk
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " if in_headers else
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
            try:
                self.request.sendall(head)
                while not stop.wait(DRIP_EVERY_S):
                    self.request.sendall(b"a")
            except OSError:
                return  # the client gave up

    server = _Threads(("127.0.0.1", 0), Drip)
    try:
        yield _serve(server)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """A quick site: /broken answers 500, any other path a page titled after
    it. Also the paths asked for, in order."""
    asked: list[str] = []

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            asked.append(self.path)
            if self.path == "/broken":
                self.send_error(500)
                return
            body = f"<html><head><title>Page {self.path}</title></head></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    try:
        yield _serve(server), asked
    finally:
        server.shutdown()
        server.server_close()


async def test_a_dripping_site_is_cut_off_at_the_deadline(dripping_site: str) -> None:
    started = time.monotonic()
    with pytest.raises(PreviewFailed):
        await asyncio.wait_for(preview.preview(dripping_site + "/"), 10 * DEADLINE_S)
    assert time.monotonic() - started < DEADLINE_S + 0.5


async def test_only_loopback_of_this_test_is_let_through() -> None:
    with pytest.raises(preview.PreviewRefused):
        await preview.preview("http://10.0.0.1/")


async def test_previews_do_not_hold_the_servers_other_work(app_config: Config,
                                                           dripping_site: str) -> None:
    """Eight previews of slow pages at once (two per user; a third is 429):
    meanwhile the worker threads that file reads and writes use stay free,
    a download is served at once, and every preview ends at its deadline."""
    built = build_app(replace(app_config, media_url_preview=True))
    transport = httpx.ASGITransport(app=built.asgi)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
            users = [await register(http, f"user{i}") for i in range(4)]
            upload = await http.post("/_matrix/media/v3/upload", content=b"x" * 5000,
                                     headers=users[0].auth)
            mxc = upload.json()["content_uri"].removeprefix("mxc://")

            async def slow_preview(user_index: int, page: int) -> tuple[int, float]:
                started = time.monotonic()
                response = await http.get(f"{V1}/preview_url", headers=users[user_index].auth,
                                          params={"url": f"{dripping_site}/{page}"})
                return response.status_code, time.monotonic() - started

            started = time.monotonic()
            previews = [asyncio.create_task(slow_preview(i % 4, i)) for i in range(8)]
            await asyncio.sleep(0.2)  # all eight are under way
            third = await http.get(f"{V1}/preview_url", headers=users[0].auth,
                                   params={"url": f"{dripping_site}/third"})
            assert third.status_code == 429 and third.json()["errcode"] == "M_LIMIT_EXCEEDED"
            waits = []
            for _ in range(5):
                before = time.monotonic()
                await asyncio.to_thread(time.sleep, 0)
                waits.append(time.monotonic() - before)
            before = time.monotonic()
            download = await http.get(f"{V1}/download/{mxc}", headers=users[1].auth)
            assert download.status_code == 200 and download.content == b"x" * 5000
            waits.append(time.monotonic() - before)
            assert max(waits) < 0.5, waits
            results = await asyncio.wait_for(asyncio.gather(*previews), 10 * DEADLINE_S)
            assert [status for status, _ in results] == [502] * 8
            assert max(took for _, took in results) < DEADLINE_S + 1.0
            assert time.monotonic() - started < DEADLINE_S + 1.5
            again = await http.get(f"{V1}/preview_url", headers=users[0].auth,
                                   params={"url": f"{dripping_site}/after"})
            assert again.status_code == 502  # the cap is per preview under way, not per user
    finally:
        await built.shutdown()


async def test_previews_under_way_are_capped_per_user(dripping_site: str) -> None:
    service = Previewer(per_user=2)
    first = [asyncio.create_task(service.preview("@alice:x", f"{dripping_site}/{i}")) for i in range(2)]
    await asyncio.sleep(0.1)
    with pytest.raises(PreviewBusy):
        await service.preview("@alice:x", f"{dripping_site}/more")
    bobs = asyncio.create_task(service.preview("@bob:x", f"{dripping_site}/bob"))
    for task in [*first, bobs]:
        with pytest.raises(PreviewFailed):
            await asyncio.wait_for(task, 10 * DEADLINE_S)
    assert service._active == {}


async def test_results_and_failures_are_cached(site: tuple[str, list[str]]) -> None:
    base, asked = site
    service = Previewer()
    first = await service.preview("@alice:x", f"{base}/a")
    assert first == {"og:title": "Page /a"}
    assert await service.preview("@bob:x", f"{base}/a") == first
    assert asked == ["/a"]
    for _ in range(2):
        with pytest.raises(PreviewFailed):
            await service.preview("@alice:x", f"{base}/broken")
    assert asked == ["/a", "/broken"]  # a failure is kept too, for a while


async def test_the_cache_is_bounded(site: tuple[str, list[str]],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    base, asked = site
    monkeypatch.setattr(previewer, "CACHE_ENTRIES", 2)
    service = Previewer()
    for path in ("/a", "/b", "/c", "/c", "/b", "/a"):
        await service.preview("@alice:x", base + path)
    assert asked == ["/a", "/b", "/c", "/a"]  # /a was dropped for /c, the oldest
    assert len(service._cache) == 2
    # Bounded in size too: the oldest go until the new one fits ...
    weight = service._cache[base + "/a"][2]
    monkeypatch.setattr(previewer, "CACHE_CHARS", 2 * weight + 1)
    await service.preview("@alice:x", base + "/d")
    assert list(service._cache) == [base + "/a", base + "/d"]
    assert service._cache_chars == 2 * weight
    # ... and one larger than the whole cache is not kept.
    for _ in range(2):
        await service.preview("@alice:x", base + "/" + "e" * weight)
    assert asked[-2:] == ["/" + "e" * weight] * 2
    assert list(service._cache) == [base + "/a", base + "/d"]


async def test_results_expire(site: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    base, asked = site
    monkeypatch.setattr(previewer, "RESULT_TTL_S", 0.0)
    service = Previewer()
    await service.preview("@alice:x", f"{base}/a")
    await service.preview("@alice:x", f"{base}/a")
    assert asked == ["/a", "/a"]
    assert service._cache_chars == service._cache[f"{base}/a"][2]  # replaced, not added to
